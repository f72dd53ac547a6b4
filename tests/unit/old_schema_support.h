// Test helper: takes a current store back to the table layout of older schemas, to prove the
// migrations forward from stores written by this build's flows.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "model/headers.h"
#include "storage/header_block.h"

namespace authscope::testing {

// Rewrites the messages table of a current store into the headers and bodies tables of schemas
// 1-3 (one row per header field) and restores schema 3's token index, leaving user_version for
// the caller to set. Returns "" or
// what failed.
inline std::string back_to_header_rows(sqlite3* db) {
  const char* kOldTables =
      "CREATE TABLE headers (flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE, side INTEGER NOT NULL, "
      "idx INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);"
      "CREATE UNIQUE INDEX headers_by_flow ON headers(flow_id, side, idx);"
      "CREATE TABLE bodies (flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE, side INTEGER NOT NULL, "
      "data BLOB, truncated INTEGER NOT NULL DEFAULT 0, wire_size INTEGER NOT NULL DEFAULT 0, "
      "PRIMARY KEY (flow_id, side));"
      "INSERT INTO bodies SELECT flow_id, side, body, truncated, wire_size FROM messages "
      "  WHERE body IS NOT NULL OR truncated OR wire_size;"
      "CREATE INDEX tokens_by_fingerprint ON tokens(fingerprint);";
  if (sqlite3_exec(db, kOldTables, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
  sqlite3_stmt* read = nullptr;
  sqlite3_stmt* write = nullptr;
  std::string failed;
  if (sqlite3_prepare_v2(db, "SELECT flow_id, side, headers FROM messages", -1, &read, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "INSERT INTO headers VALUES (?,?,?,?,?)", -1, &write, nullptr) != SQLITE_OK) {
    failed = sqlite3_errmsg(db);
  }
  while (failed.empty() && sqlite3_step(read) == SQLITE_ROW) {
    Headers fields;
    const auto* block = static_cast<const char*>(sqlite3_column_blob(read, 2));
    if (!unpack_header_fields(std::string_view(block ? block : "", sqlite3_column_bytes(read, 2)), fields)) {
      failed = "a damaged header block";
    }
    for (size_t i = 0; failed.empty() && i < fields.size(); ++i) {
      sqlite3_bind_int64(write, 1, sqlite3_column_int64(read, 0));
      sqlite3_bind_int64(write, 2, sqlite3_column_int64(read, 1));
      sqlite3_bind_int64(write, 3, static_cast<sqlite3_int64>(i));
      sqlite3_bind_text(write, 4, fields.fields()[i].name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(write, 5, fields.fields()[i].value.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(write) != SQLITE_DONE) failed = sqlite3_errmsg(db);
      sqlite3_reset(write);
    }
  }
  sqlite3_finalize(read);
  sqlite3_finalize(write);
  if (failed.empty() && sqlite3_exec(db, "DROP TABLE messages", nullptr, nullptr, nullptr) != SQLITE_OK) {
    failed = sqlite3_errmsg(db);
  }
  return failed;
}

}  // namespace authscope::testing
