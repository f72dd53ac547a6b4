// The store's schema and its migrations (mitmproxy io/compat.py style: one step function per
// version, applied in order). PRAGMA user_version holds the version a file is at.
#pragma once

#include <string>

#include "model/status.h"
#include "storage/sqlite_db.h"

namespace authscope {

// The schema this build writes. Bump it only together with a new step in schema.cpp.
inline constexpr int kSchemaVersion = 4;

// Brings `db` (opened read-write) up to kSchemaVersion inside one IMMEDIATE transaction, so a
// crash mid-migration leaves the file at its old version. A file written by a newer build is
// refused: "flows.db was written by a newer authscope (schema 7, this build knows 2)".
// `name` is what the messages call the file.
Status migrate_schema(sqlite::Db& db, const std::string& name);

// For read-only openers: OK only when the file is exactly at kSchemaVersion.
Status check_schema(sqlite::Db& db, const std::string& name);

}  // namespace authscope
