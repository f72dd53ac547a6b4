#include "storage/schema.h"

#include <fmt/format.h>

#include "storage/header_block.h"

namespace authscope {
namespace {

// Version 0 → 1: flows with their headers and bodies.
//  - headers keep wire order, case and repeats: (flow_id, side, idx) is unique, side 0 is the
//    request and 1 the response. A rowid table plus an index, not WITHOUT ROWID: a 1.5 KB
//    bearer token row is beyond what an index b-tree page keeps inline (~1 KB with 4 KB pages),
//    and each spill costs a whole overflow page (measured: 343 MB of headers for 100k flows as
//    WITHOUT ROWID).
//  - bodies.data is NULL for a message without a body and a zero-length blob for an empty one.
//  - response_status is NULL when there was no response; tls is a JSON object or NULL.
//  - `flows` lists read only the flows table, so bodies live apart and are never scanned.
constexpr const char* kStep0To1 = R"sql(
CREATE TABLE flows (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  client_addr TEXT NOT NULL DEFAULT '',
  connection_id INTEGER NOT NULL DEFAULT 0,
  scheme TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  port INTEGER NOT NULL DEFAULT 0,
  start_us INTEGER NOT NULL DEFAULT 0,
  request_end_us INTEGER NOT NULL DEFAULT 0,
  response_start_us INTEGER NOT NULL DEFAULT 0,
  end_us INTEGER NOT NULL DEFAULT 0,
  method TEXT NOT NULL DEFAULT '',
  target TEXT NOT NULL DEFAULT '',
  request_version TEXT NOT NULL DEFAULT '',
  response_status INTEGER,
  response_reason TEXT,
  response_version TEXT,
  error TEXT,
  bytes_from_client INTEGER NOT NULL DEFAULT 0,
  bytes_from_upstream INTEGER NOT NULL DEFAULT 0,
  tls TEXT
);
CREATE TABLE headers (
  flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  side INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL
);
CREATE UNIQUE INDEX headers_by_flow ON headers(flow_id, side, idx);
CREATE TABLE bodies (
  flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  side INTEGER NOT NULL,
  data BLOB,
  truncated INTEGER NOT NULL DEFAULT 0,
  wire_size INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (flow_id, side)
);
)sql";

// Version 1 → 2: the findings of the last analysis, and an index for listing by host.
constexpr const char* kStep1To2 = R"sql(
CREATE TABLE findings (
  id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  flows TEXT NOT NULL,
  evidence TEXT NOT NULL
);
CREATE INDEX flows_by_host ON flows(host, id);
)sql";

// Version 2 → 3: each flow's class and the tokens found in it, computed from the raw flow before
// redaction (model/flow_annotations.h; issue 3 item 6).
//  - flows.class is NULL until a flow is annotated: rows of older versions stay NULL until a
//    writer with the annotate hook backfills them (flows_unannotated finds them without a scan;
//    a partial index costs nothing for annotated rows).
//  - tokens: one row per token use, keyed (flow_id, idx) in discovery order; small, so
//    WITHOUT ROWID. tokens_by_fingerprint joins uses of one token across flows.
//  - token_docs: header and claims JSON once per distinct token. An ARM client sends the same
//    1-2 KB bearer token on thousands of requests; storing its claims per use would multiply
//    the store by that. A rowid table (claims spill past an index page, see step 0 → 1).
constexpr const char* kStep2To3 = R"sql(
ALTER TABLE flows ADD COLUMN class TEXT;
ALTER TABLE flows ADD COLUMN class_detail TEXT;
CREATE INDEX flows_unannotated ON flows(id) WHERE class IS NULL;
CREATE TABLE tokens (
  flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  location TEXT NOT NULL,
  kind TEXT NOT NULL,
  scheme TEXT NOT NULL DEFAULT '',
  format TEXT NOT NULL,
  fingerprint TEXT NOT NULL DEFAULT '',
  signature TEXT NOT NULL DEFAULT '',
  redacted INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (flow_id, idx)
) WITHOUT ROWID;
CREATE INDEX tokens_by_fingerprint ON tokens(fingerprint);
CREATE TABLE token_docs (
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL UNIQUE,
  header TEXT NOT NULL,
  claims TEXT NOT NULL
);
)sql";

// Version 3 → 4: a message's header fields and body in one row (storage/header_block.h).
//  - messages replaces headers and bodies: (flow_id, side) is unique, side 0 the request and 1
//    the response. One row per message instead of one per header field halves the writer's work
//    per flow and drops the header index (bench: gen-store).
//  - headers is the packed field list, '' for none; body, truncated and wire_size mean what the
//    bodies columns meant (body NULL: no body; a zero-length blob: an empty one). The small
//    columns come first and the headers before the body, so reading them never touches a
//    body's overflow pages.
//  - A row exists for a message with header fields or something to say about its body.
//  - tokens_by_fingerprint goes: no reader of ours looks tokens up by fingerprint (documents are
//    joined through token_docs' own unique index), and it cost an index insert per token use
//    (2.5 per flow of the bench mix, ~7% of the writer's instructions).
// The header fields are packed by migrate_headers_to_messages below.
constexpr const char* kStep3To4 = R"sql(
CREATE TABLE messages (
  flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
  side INTEGER NOT NULL,
  truncated INTEGER NOT NULL DEFAULT 0,
  wire_size INTEGER NOT NULL DEFAULT 0,
  headers BLOB NOT NULL DEFAULT X'',
  body BLOB,
  PRIMARY KEY (flow_id, side)
);
INSERT INTO messages (flow_id, side, truncated, wire_size, body)
  SELECT flow_id, side, truncated, wire_size, data FROM bodies;
DROP INDEX IF EXISTS tokens_by_fingerprint;
)sql";

// Packs the rows of `headers` into messages.headers, one message at a time.
Status pack_header_rows(sqlite::Db& db) {
  auto rows = db.prepare("SELECT flow_id, side, name, value FROM headers ORDER BY flow_id, side, idx");
  if (!rows.ok()) return rows.status();
  auto upsert = db.prepare(
      "INSERT INTO messages (flow_id, side, headers) VALUES (?, ?, ?) "
      "ON CONFLICT (flow_id, side) DO UPDATE SET headers = excluded.headers");
  if (!upsert.ok()) return upsert.status();
  int64_t flow_id = -1, side = -1;
  Headers fields;
  std::string block;
  auto write = [&]() -> Status {
    if (fields.empty()) return Status::Ok();
    block.clear();
    pack_header_fields(fields, block);
    fields.clear();
    sqlite::StmtReset reset(*upsert);
    upsert->bind(1, flow_id);
    upsert->bind(2, side);
    upsert->bind_blob(3, block);
    if (upsert->step() != SQLITE_DONE) return db.error(fmt::format("packing the headers of flow {}", flow_id));
    return Status::Ok();
  };
  int rc;
  while ((rc = rows->step()) == SQLITE_ROW) {
    if (rows->int64(0) != flow_id || rows->int64(1) != side) {
      if (Status s = write(); !s.ok()) return s;
      flow_id = rows->int64(0);
      side = rows->int64(1);
    }
    fields.add(rows->text(2), rows->text(3));
  }
  if (rc != SQLITE_DONE) return db.error("reading headers");
  return write();
}

Status migrate_headers_to_messages(sqlite::Db& db) {
  if (Status s = pack_header_rows(db); !s.ok()) return s;  // its statements are finalized here
  return db.exec("DROP TABLE headers; DROP TABLE bodies;");
}

// One step per version: its SQL, then its data conversion (none for most).
struct SchemaStep {
  const char* sql;
  Status (*convert)(sqlite::Db&);
};
constexpr SchemaStep kSteps[kSchemaVersion] = {
    {kStep0To1, nullptr}, {kStep1To2, nullptr}, {kStep2To3, nullptr}, {kStep3To4, migrate_headers_to_messages}};

Status newer_schema(const std::string& name, int64_t version) {
  return Status::Unsupported(fmt::format("{} was written by a newer authscope (schema {}, this build knows {})",
                                         name, version, kSchemaVersion));
}

// A file at version 0 that already has tables is some other application's database.
Status check_not_foreign(sqlite::Db& db, const std::string& name) {
  auto tables = db.query_int("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'");
  if (!tables.ok()) return Status::Io(fmt::format("{}: {}", name, tables.status().message()));
  if (*tables > 0) return Status::Invalid(fmt::format("{} is a SQLite file but not an authscope store", name));
  return Status::Ok();
}

}  // namespace

Status migrate_schema(sqlite::Db& db, const std::string& name) {
  // IMMEDIATE takes the write lock up front: two processes opening a new file at once cannot
  // both run step 0 → 1.
  if (Status s = db.exec("BEGIN IMMEDIATE"); !s.ok()) {
    return Status::Io(fmt::format("{}: {}", name, s.message()));
  }
  auto fail = [&](Status s) {
    db.exec("ROLLBACK");
    return s;
  };
  auto version = db.query_int("PRAGMA user_version");
  if (!version.ok()) return fail(Status::Io(fmt::format("{}: {}", name, version.status().message())));
  if (*version > kSchemaVersion) return fail(newer_schema(name, *version));
  if (*version < 0) return fail(Status::Invalid(fmt::format("{} has an invalid schema version {}", name, *version)));
  if (*version == 0) {
    if (Status s = check_not_foreign(db, name); !s.ok()) return fail(s);
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
    Status s = db.exec(kSteps[v].sql);
    if (s.ok() && kSteps[v].convert) s = kSteps[v].convert(db);
    if (!s.ok()) {
      return fail(Status::Io(fmt::format("{}: migrating schema {} to {}: {}", name, v, v + 1, s.message())));
    }
  }
  if (*version != kSchemaVersion) {
    std::string set = fmt::format("PRAGMA user_version = {}", kSchemaVersion);
    if (Status s = db.exec(set.c_str()); !s.ok()) return fail(s);
  }
  if (Status s = db.exec("COMMIT"); !s.ok()) return fail(Status::Io(fmt::format("{}: {}", name, s.message())));
  return Status::Ok();
}

Status check_schema(sqlite::Db& db, const std::string& name) {
  auto version = db.query_int("PRAGMA user_version");
  if (!version.ok()) return Status::Io(fmt::format("{}: {}", name, version.status().message()));
  if (*version > kSchemaVersion) return newer_schema(name, *version);
  if (*version == 0) {
    if (Status s = check_not_foreign(db, name); !s.ok()) return s;
    return Status::Invalid(fmt::format("{} is empty (not an authscope store yet)", name));
  }
  if (*version < kSchemaVersion) {
    return Status::Unsupported(fmt::format(
        "{} uses schema {} (this build writes {}); open it once read-write (e.g. `authscope flows` after "
        "`authscope proxy`) to upgrade it",
        name, *version, kSchemaVersion));
  }
  return Status::Ok();
}

}  // namespace authscope
