// Flow <-> rows of the flows/messages/tokens tables. Used by the writer thread (FlowRowWriter)
// and by readers (FlowRowReader); each owns its prepared statements on one connection.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "model/tls_info_json.h"
#include "model/status.h"
#include "storage/flow_store.h"
#include "storage/sqlite_db.h"

namespace authscope {

enum class BodySide : int { kRequest = 0, kResponse = 1 };

class FlowRowWriter {
 public:
  static Result<FlowRowWriter> prepare(sqlite::Db& db);
  // Inserts one flow (flow.id must be set) inside the caller's transaction. A failure leaves
  // this flow's rows partly written; the caller rolls back or discards the transaction.
  // Also writes flow.annotations (class columns, tokens and token_docs rows) when present.
  Status insert(const Flow& flow);
  // Replaces the stored annotations of an existing flow (the backfill of older rows), inside
  // the caller's transaction.
  Status annotate(int64_t flow_id, const FlowAnnotations& annotations);
  // The caller's transaction committed / rolled back: token documents written in it are known
  // to exist (and are not written again) / are forgotten.
  void committed();
  void rolled_back();

 private:
  Status insert_tokens(int64_t flow_id, const FlowAnnotations& annotations);

  sqlite::Db* db_ = nullptr;
  sqlite::Stmt flow_, message_, token_, token_doc_, set_class_, clear_tokens_;
  // Fingerprints whose token_docs row is committed: an ARM client's bearer token is written
  // once, then skipped without a statement (bounded: cleared past kMaxKnownDocs).
  // Every flow of a connection carries the same TlsInfo: its JSON is made once per connection
  // (bounded: forgotten wholesale beyond kMaxTlsMemo connections). Few: only connections with
  // several flows profit, and each entry (~1 KB) made during a burst of new connections stays
  // in the writer's heap between the page cache's freed pages (1,024 entries left ~1.7 MB of
  // that heap resident after 500 one-request connections; 64 leave ~0.1 MB).
  static constexpr size_t kMaxTlsMemo = 64;
  std::unordered_map<uint64_t, std::pair<TlsInfo, std::string>> tls_json_by_connection_;
  std::unordered_set<std::string> docs_known_;
  std::vector<std::string> docs_pending_;  // written in the open transaction
  std::string header_block_;  // the packed header fields of the message being written
};

class FlowRowReader {
 public:
  static Result<FlowRowReader> prepare(sqlite::Db& db);
  Result<std::optional<Flow>> load(int64_t id);
  // Streams every flow in id order with cursors merged by flow id (flows, the messages' headers,
  // their bodies, tokens, each read in primary-key order), so memory holds one flow at a time. The caller
  // wraps it in a read transaction so the cursors see one snapshot.
  Status for_each(const std::function<bool(const Flow&)>& visit);
  // The same, reading only what `options` asks for (FlowReadOptions in storage/flow_store.h).
  Status for_each_reading(const FlowReadOptions& options, const std::function<bool(const Flow&)>& visit);
  // Streams (id, annotations) of every annotated flow in id order without touching headers or
  // bodies; flows never annotated are skipped. The caller wraps it in a read transaction.
  Status for_each_annotations(const std::function<bool(int64_t, const FlowAnnotations&)>& visit);

 private:
  sqlite::Db* db_ = nullptr;
  sqlite::Stmt flow_by_id_, messages_by_id_, tokens_by_id_;
};

// TlsInfo as the JSON object stored in flows.tls and exported in HAR `_authscope.tls`.

// The columns of a flows row, in the order FlowRowReader selects them (the last two are the
// class and class_detail of schema 3).
extern const char* const kFlowColumns;
// Fills the flow fields from a statement positioned on a row selecting kFlowColumns (TLS details
// parsed only when `tls`).
void read_flow_columns(const sqlite::Stmt& s, Flow& flow, bool tls = true);

}  // namespace authscope
