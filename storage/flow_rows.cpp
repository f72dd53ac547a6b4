#include "storage/flow_rows.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "storage/header_block.h"

namespace authscope {
namespace {

Headers& headers_of(Flow& f, int side) {
  if (side == static_cast<int>(BodySide::kResponse)) {
    if (!f.response) f.response.emplace();
    return f.response->headers;
  }
  return f.request.headers;
}

Body& body_of(Flow& f, int side) {
  if (side == static_cast<int>(BodySide::kResponse)) {
    if (!f.response) f.response.emplace();
    return f.response->body;
  }
  return f.request.body;
}

// Columns (side, headers) of a messages row.
Status read_headers_columns(const sqlite::Stmt& s, int first_col, Flow& f) {
  int side = static_cast<int>(s.int64(first_col));
  auto block = s.blob_view(first_col + 1);
  if (!unpack_header_fields(block, headers_of(f, side))) {
    return Status::Io(fmt::format("flow {}: the stored header fields are damaged", f.id));
  }
  return Status::Ok();
}

// Columns (side, truncated, wire_size, body) of a messages row.
void read_body_columns(const sqlite::Stmt& s, int first_col, Flow& f, const BodyChoice& choice = {}) {
  int side = static_cast<int>(s.int64(first_col));
  Body& b = body_of(f, side);
  const bool wanted = side == static_cast<int>(BodySide::kResponse) ? choice.response : choice.request;
  b.truncated = s.int64(first_col + 1) != 0;
  b.wire_size = static_cast<uint64_t>(s.int64(first_col + 2));
  // Not chosen: the blob is never copied out of SQLite (nor its overflow pages read: the small
  // columns and the headers come before it), only its size and truncation note are kept.
  if (wanted) b.data = s.optional_blob(first_col + 3);
}

// Columns of a token use joined with its document, in the order read_token_row reads them.
constexpr const char* kTokenColumns =
    "t.location, t.kind, t.scheme, t.format, t.fingerprint, t.signature, t.redacted, t.error, d.header, d.claims";
constexpr const char* kTokenJoin = "tokens t LEFT JOIN token_docs d ON d.fingerprint = t.fingerprint";

TokenRecord read_token_row(const sqlite::Stmt& s, int first_col) {
  TokenRecord t;
  t.location = s.text(first_col);
  t.kind = s.text(first_col + 1);
  t.scheme = s.text(first_col + 2);
  t.format = s.text(first_col + 3);
  t.fingerprint = s.text(first_col + 4);
  t.signature = s.text(first_col + 5);
  t.redacted = s.int64(first_col + 6) != 0;
  t.error = s.text(first_col + 7);
  // A document exists only for decoded JWS/JWE (opaque tokens share no fingerprint with one).
  if (t.format == "jws" || t.format == "jwe") {
    t.header_json = s.optional_text(first_col + 8).value_or("");
    t.claims_json = s.optional_text(first_col + 9).value_or("");
  }
  return t;
}

}  // namespace

const char* const kFlowColumns =
    "id, kind, client_addr, connection_id, scheme, host, port, start_us, request_end_us, response_start_us, "
    "end_us, method, target, request_version, response_status, response_reason, response_version, error, "
    "bytes_from_client, bytes_from_upstream, tls, class, class_detail";

void read_flow_columns(const sqlite::Stmt& s, Flow& f, bool tls) {
  f.id = s.int64(0);
  f.kind = flow_kind_from_string(s.text(1)).value_or(FlowKind::kHttp);
  f.client_addr = s.text(2);
  f.connection_id = static_cast<uint64_t>(s.int64(3));
  f.scheme = s.text(4);
  f.host = s.text(5);
  f.port = static_cast<uint16_t>(s.int64(6));
  f.times.start_us = s.int64(7);
  f.times.request_end_us = s.int64(8);
  f.times.response_start_us = s.int64(9);
  f.times.end_us = s.int64(10);
  f.request.method = s.text(11);
  f.request.target = s.text(12);
  f.request.version = s.text(13);
  if (!s.is_null(14)) {
    Response& r = f.response.emplace();
    r.status = static_cast<int>(s.int64(14));
    r.reason = s.text(15);
    r.version = s.text(16);
  }
  f.error = s.optional_text(17);
  f.bytes_from_client = static_cast<uint64_t>(s.int64(18));
  f.bytes_from_upstream = static_cast<uint64_t>(s.int64(19));
  if (tls && !s.is_null(20)) f.tls = tls_info_from_json(nlohmann::json::parse(s.text(20), nullptr, false));
  if (!s.is_null(21)) {
    FlowAnnotations& a = f.annotations.emplace();
    a.flow_class = s.text(21);
    a.class_detail = s.optional_text(22).value_or("{}");
  } else {
    f.annotations.reset();
  }
}

Result<FlowRowWriter> FlowRowWriter::prepare(sqlite::Db& db) {
  FlowRowWriter w;
  w.db_ = &db;
  auto flow = db.prepare(fmt::format(
      "INSERT INTO flows ({}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", kFlowColumns));
  if (!flow.ok()) return flow.status();
  auto message = db.prepare(
      "INSERT INTO messages (flow_id, side, truncated, wire_size, headers, body) VALUES (?,?,?,?,?,?)");
  if (!message.ok()) return message.status();
  auto token = db.prepare(
      "INSERT INTO tokens (flow_id, idx, location, kind, scheme, format, fingerprint, signature, redacted, error) "
      "VALUES (?,?,?,?,?,?,?,?,?,?)");
  if (!token.ok()) return token.status();
  // The first use of a token stores its document; later uses (same fingerprint) only a row.
  auto token_doc = db.prepare("INSERT OR IGNORE INTO token_docs (fingerprint, header, claims) VALUES (?,?,?)");
  if (!token_doc.ok()) return token_doc.status();
  auto set_class = db.prepare("UPDATE flows SET class = ?, class_detail = ? WHERE id = ?");
  if (!set_class.ok()) return set_class.status();
  auto clear_tokens = db.prepare("DELETE FROM tokens WHERE flow_id = ?");
  if (!clear_tokens.ok()) return clear_tokens.status();
  w.flow_ = std::move(flow).value();

  w.message_ = std::move(message).value();
  w.token_ = std::move(token).value();
  w.token_doc_ = std::move(token_doc).value();
  w.set_class_ = std::move(set_class).value();
  w.clear_tokens_ = std::move(clear_tokens).value();
  return w;
}

Status FlowRowWriter::insert_tokens(int64_t flow_id, const FlowAnnotations& a) {
  int64_t idx = 0;
  for (const TokenRecord& t : a.tokens) {
    {
      sqlite::StmtReset reset(token_);
      token_.bind(1, flow_id);
      token_.bind(2, idx++);
      token_.bind(3, t.location);
      token_.bind(4, t.kind);
      token_.bind(5, t.scheme);
      token_.bind(6, t.format);
      token_.bind(7, t.fingerprint);
      token_.bind(8, t.signature);
      token_.bind(9, int64_t{t.redacted ? 1 : 0});
      token_.bind(10, t.error);
      if (token_.step() != SQLITE_DONE) return db_->error(fmt::format("writing tokens of flow {}", flow_id));
    }
    if (!t.fingerprint.empty() && !t.header_json.empty() && docs_known_.count(t.fingerprint) == 0) {
      docs_pending_.push_back(t.fingerprint);
      sqlite::StmtReset reset(token_doc_);
      token_doc_.bind(1, t.fingerprint);
      token_doc_.bind(2, t.header_json);
      token_doc_.bind(3, t.claims_json);
      if (token_doc_.step() != SQLITE_DONE) return db_->error(fmt::format("writing tokens of flow {}", flow_id));
    }
  }
  return Status::Ok();
}

void FlowRowWriter::committed() {
  constexpr size_t kMaxKnownDocs = 16384;
  if (docs_known_.size() + docs_pending_.size() > kMaxKnownDocs) docs_known_.clear();
  for (std::string& fp : docs_pending_) docs_known_.insert(std::move(fp));
  docs_pending_.clear();
}

void FlowRowWriter::rolled_back() { docs_pending_.clear(); }

Status FlowRowWriter::annotate(int64_t flow_id, const FlowAnnotations& a) {
  {
    sqlite::StmtReset reset(clear_tokens_);
    clear_tokens_.bind(1, flow_id);
    if (clear_tokens_.step() != SQLITE_DONE) return db_->error(fmt::format("annotating flow {}", flow_id));
  }
  {
    sqlite::StmtReset reset(set_class_);
    set_class_.bind(1, a.flow_class);
    set_class_.bind(2, a.class_detail);
    set_class_.bind(3, flow_id);
    if (set_class_.step() != SQLITE_DONE) return db_->error(fmt::format("annotating flow {}", flow_id));
  }
  return insert_tokens(flow_id, a);
}

Status FlowRowWriter::insert(const Flow& f) {
  // Replace, not throw, on invalid UTF-8 (a certificate subject is attacker-chosen bytes).
  static const std::string kNoTls;
  const std::string* tls = &kNoTls;
  if (f.tls) {
    auto memo = tls_json_by_connection_.find(f.connection_id);
    if (memo == tls_json_by_connection_.end() || !(memo->second.first == *f.tls)) {
      if (tls_json_by_connection_.size() >= kMaxTlsMemo) tls_json_by_connection_.clear();
      std::string json = tls_info_to_json(*f.tls).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      memo = tls_json_by_connection_.insert_or_assign(f.connection_id, std::make_pair(*f.tls, std::move(json))).first;
    }
    tls = &memo->second.second;
  }
  {
    sqlite::StmtReset reset(flow_);
    flow_.bind(1, f.id);
    flow_.bind(2, std::string_view(to_string(f.kind)));
    flow_.bind(3, f.client_addr);
    flow_.bind(4, static_cast<int64_t>(f.connection_id));
    flow_.bind(5, f.scheme);
    flow_.bind(6, f.host);
    flow_.bind(7, int64_t{f.port});
    flow_.bind(8, f.times.start_us);
    flow_.bind(9, f.times.request_end_us);
    flow_.bind(10, f.times.response_start_us);
    flow_.bind(11, f.times.end_us);
    flow_.bind(12, f.request.method);
    flow_.bind(13, f.request.target);
    flow_.bind(14, f.request.version);
    if (f.response) {
      flow_.bind(15, int64_t{f.response->status});
      flow_.bind(16, f.response->reason);
      flow_.bind(17, f.response->version);
    } else {
      flow_.bind_null(15);
      flow_.bind_null(16);
      flow_.bind_null(17);
    }
    flow_.bind_optional(18, f.error);
    flow_.bind(19, static_cast<int64_t>(f.bytes_from_client));
    flow_.bind(20, static_cast<int64_t>(f.bytes_from_upstream));
    if (f.tls) flow_.bind(21, *tls); else flow_.bind_null(21);
    if (f.annotations) {
      flow_.bind(22, f.annotations->flow_class);
      flow_.bind(23, f.annotations->class_detail);
    } else {
      flow_.bind_null(22);
      flow_.bind_null(23);
    }
    if (int rc = flow_.step(); rc != SQLITE_DONE) {
      // A duplicate id is this flow's problem, not the disk's: Invalid tells the writer to
      // skip the flow and keep the batch (nothing of it was written yet).
      if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        return Status::Invalid(fmt::format("flow {} not stored: {}", f.id, sqlite3_errmsg(db_->get())));
      }
      return db_->error(fmt::format("writing flow {}", f.id));
    }
  }
  auto write_side = [&](int side, const Headers& headers, const Body& body) -> Status {
    // A row exists whenever there is something to say: header fields, body bytes, or a
    // truncation/size note about an absent capture. No row at all reads back as no fields and
    // an absent, untruncated body.
    if (headers.empty() && !body.data && !body.truncated && body.wire_size == 0) return Status::Ok();
    header_block_.clear();
    pack_header_fields(headers, header_block_);
    sqlite::StmtReset reset(message_);
    message_.bind(1, f.id);
    message_.bind(2, int64_t{side});
    message_.bind(3, int64_t{body.truncated ? 1 : 0});
    message_.bind(4, static_cast<int64_t>(body.wire_size));
    message_.bind_blob(5, header_block_);
    if (body.data) message_.bind_blob(6, *body.data); else message_.bind_null(6);
    if (message_.step() != SQLITE_DONE) return db_->error(fmt::format("writing flow {}", f.id));
    return Status::Ok();
  };
  if (Status s = write_side(static_cast<int>(BodySide::kRequest), f.request.headers, f.request.body); !s.ok()) {
    return s;
  }
  if (f.response) {
    if (Status s = write_side(static_cast<int>(BodySide::kResponse), f.response->headers, f.response->body);
        !s.ok()) {
      return s;
    }
  }
  if (f.annotations) return insert_tokens(f.id, *f.annotations);
  return Status::Ok();
}

Result<FlowRowReader> FlowRowReader::prepare(sqlite::Db& db) {
  FlowRowReader r;
  r.db_ = &db;
  auto flow = db.prepare(fmt::format("SELECT {} FROM flows WHERE id = ?", kFlowColumns));
  if (!flow.ok()) return flow.status();
  // `side` twice: read_headers_columns reads (side, headers), read_body_columns (side, truncated,
  // wire_size, body).
  auto messages = db.prepare("SELECT side, headers, side, truncated, wire_size, body FROM messages WHERE flow_id = ?");
  if (!messages.ok()) return messages.status();
  auto tokens = db.prepare(fmt::format("SELECT {} FROM {} WHERE t.flow_id = ? ORDER BY t.idx", kTokenColumns, kTokenJoin));
  if (!tokens.ok()) return tokens.status();
  r.flow_by_id_ = std::move(flow).value();
  r.messages_by_id_ = std::move(messages).value();
  r.tokens_by_id_ = std::move(tokens).value();
  return r;
}

Result<std::optional<Flow>> FlowRowReader::load(int64_t id) {
  Flow f;
  {
    sqlite::StmtReset reset(flow_by_id_);
    flow_by_id_.bind(1, id);
    int rc = flow_by_id_.step();
    if (rc == SQLITE_DONE) return std::optional<Flow>();
    if (rc != SQLITE_ROW) return db_->error(fmt::format("reading flow {}", id));
    read_flow_columns(flow_by_id_, f);
  }
  const bool had_response = f.response.has_value();
  {
    sqlite::StmtReset reset(messages_by_id_);
    messages_by_id_.bind(1, id);
    int rc;
    while ((rc = messages_by_id_.step()) == SQLITE_ROW) {
      if (Status s = read_headers_columns(messages_by_id_, 0, f); !s.ok()) return s;
      read_body_columns(messages_by_id_, 2, f);
    }
    if (rc != SQLITE_DONE) return db_->error(fmt::format("reading flow {}", id));
  }
  if (!had_response) f.response.reset();  // response-side rows never invent a response
  if (f.annotations) {
    sqlite::StmtReset reset(tokens_by_id_);
    tokens_by_id_.bind(1, id);
    int rc;
    while ((rc = tokens_by_id_.step()) == SQLITE_ROW) f.annotations->tokens.push_back(read_token_row(tokens_by_id_, 0));
    if (rc != SQLITE_DONE) return db_->error(fmt::format("reading tokens of flow {}", id));
  }
  return std::optional<Flow>(std::move(f));
}

Status FlowRowReader::for_each(const std::function<bool(const Flow&)>& visit) {
  return for_each_reading(FlowReadOptions{}, visit);
}

Status FlowRowReader::for_each_reading(const FlowReadOptions& options, const std::function<bool(const Flow&)>& visit) {
  auto flows = db_->prepare(fmt::format("SELECT {} FROM flows ORDER BY id", kFlowColumns));
  if (!flows.ok()) return flows.status();
  // Two cursors over messages: the headers of both sides are read before the body choice.
  auto headers = db_->prepare("SELECT flow_id, side, headers FROM messages ORDER BY flow_id, side");
  if (!headers.ok()) return headers.status();
  auto bodies = db_->prepare("SELECT flow_id, side, truncated, wire_size, body FROM messages ORDER BY flow_id, side");
  if (!bodies.ok()) return bodies.status();
  // Without token records the token cursor reads nothing (its query has no rows).
  auto tokens = db_->prepare(fmt::format("SELECT t.flow_id, {} FROM {} {}ORDER BY t.flow_id, t.idx", kTokenColumns,
                                         kTokenJoin, options.token_records ? "" : "WHERE 0 "));
  if (!tokens.ok()) return tokens.status();

  // Each child cursor is either positioned on a row (rc == SQLITE_ROW) or exhausted.
  int hrc = headers->step();
  int brc = bodies->step();
  int trc = tokens->step();
  int frc;
  while ((frc = flows->step()) == SQLITE_ROW) {
    Flow f;
    read_flow_columns(*flows, f, options.tls);
    const bool had_response = f.response.has_value();
    // Rows of flows that no longer exist (impossible with foreign keys on) are skipped.
    while (hrc == SQLITE_ROW && headers->int64(0) < f.id) hrc = headers->step();
    while (hrc == SQLITE_ROW && headers->int64(0) == f.id) {
      if (Status s = read_headers_columns(*headers, 1, f); !s.ok()) return s;
      hrc = headers->step();
    }
    while (brc == SQLITE_ROW && bodies->int64(0) < f.id) brc = bodies->step();
    if (brc == SQLITE_ROW && bodies->int64(0) == f.id) {
      // Decided on the flow as read so far: flows row and headers, no body data yet.
      const BodyChoice choice = options.choose_bodies ? options.choose_bodies(f) : BodyChoice{};
      while (brc == SQLITE_ROW && bodies->int64(0) == f.id) {
        read_body_columns(*bodies, 1, f, choice);
        brc = bodies->step();
      }
    }
    while (trc == SQLITE_ROW && tokens->int64(0) < f.id) trc = tokens->step();
    while (trc == SQLITE_ROW && tokens->int64(0) == f.id) {
      if (f.annotations) f.annotations->tokens.push_back(read_token_row(*tokens, 1));
      trc = tokens->step();
    }
    if (!had_response) f.response.reset();  // response-side rows never invent a response
    if (hrc != SQLITE_ROW && hrc != SQLITE_DONE) return db_->error("reading headers");
    if (brc != SQLITE_ROW && brc != SQLITE_DONE) return db_->error("reading bodies");
    if (trc != SQLITE_ROW && trc != SQLITE_DONE) return db_->error("reading tokens");
    if (!visit(f)) return Status::Ok();
  }
  if (frc != SQLITE_DONE) return db_->error("reading flows");
  return Status::Ok();
}

Status FlowRowReader::for_each_annotations(const std::function<bool(int64_t, const FlowAnnotations&)>& visit) {
  auto flows = db_->prepare("SELECT id, class, class_detail FROM flows WHERE class IS NOT NULL ORDER BY id");
  if (!flows.ok()) return flows.status();
  auto tokens = db_->prepare(fmt::format("SELECT t.flow_id, {} FROM {} ORDER BY t.flow_id, t.idx", kTokenColumns, kTokenJoin));
  if (!tokens.ok()) return tokens.status();
  int trc = tokens->step();
  int frc;
  while ((frc = flows->step()) == SQLITE_ROW) {
    const int64_t id = flows->int64(0);
    FlowAnnotations a;
    a.flow_class = flows->text(1);
    a.class_detail = flows->optional_text(2).value_or("{}");
    while (trc == SQLITE_ROW && tokens->int64(0) < id) trc = tokens->step();
    while (trc == SQLITE_ROW && tokens->int64(0) == id) {
      a.tokens.push_back(read_token_row(*tokens, 1));
      trc = tokens->step();
    }
    if (trc != SQLITE_ROW && trc != SQLITE_DONE) return db_->error("reading tokens");
    if (!visit(id, a)) return Status::Ok();
  }
  if (frc != SQLITE_DONE) return db_->error("reading flows");
  return Status::Ok();
}

}  // namespace authscope
