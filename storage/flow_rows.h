// Flow <-> rows of the flows/headers/bodies tables. Used by the writer thread (FlowRowWriter)
// and by readers (FlowRowReader); each owns its prepared statements on one connection.
#pragma once

#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "model/tls_info_json.h"
#include "model/status.h"
#include "storage/sqlite_db.h"

namespace authscope {

enum class BodySide : int { kRequest = 0, kResponse = 1 };

class FlowRowWriter {
 public:
  static Result<FlowRowWriter> prepare(sqlite::Db& db);
  // Inserts one flow (flow.id must be set) inside the caller's transaction. A failure leaves
  // this flow's rows partly written; the caller rolls back or discards the transaction.
  Status insert(const Flow& flow);

 private:
  sqlite::Db* db_ = nullptr;
  sqlite::Stmt flow_, header_, body_;
};

class FlowRowReader {
 public:
  static Result<FlowRowReader> prepare(sqlite::Db& db);
  Result<std::optional<Flow>> load(int64_t id);
  // Streams every flow in id order with three cursors merged by flow id (flows, headers,
  // bodies, each read in primary-key order), so memory holds one flow at a time. The caller
  // wraps it in a read transaction so the cursors see one snapshot.
  Status for_each(const std::function<bool(const Flow&)>& visit);

 private:
  sqlite::Db* db_ = nullptr;
  sqlite::Stmt flow_by_id_, headers_by_id_, bodies_by_id_;
};

// TlsInfo as the JSON object stored in flows.tls and exported in HAR `_authscope.tls`.

// The columns of a flows row, in the order FlowRowReader selects them.
extern const char* const kFlowColumns;
// Fills the flow fields from a statement positioned on a row selecting kFlowColumns.
void read_flow_columns(const sqlite::Stmt& s, Flow& flow);

}  // namespace authscope
