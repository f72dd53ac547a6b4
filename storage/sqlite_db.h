// RAII owners for sqlite3* and sqlite3_stmt*, and the few helpers every storage file needs.
//
// Nothing here throws: failures come back as Status carrying SQLite's own message, because
// "database or disk is full" or "attempt to write a readonly database" is what a user needs to
// read. A connection is used by one thread at a time (the owner serialises access).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/status.h"

namespace authscope::sqlite {

class Stmt;

class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // flags: SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE or SQLITE_OPEN_READONLY (NOMUTEX is added:
  // every connection has exactly one user at a time).
  static Result<Db> open(const std::string& path, int flags);

  sqlite3* get() const { return db_; }
  explicit operator bool() const { return db_ != nullptr; }

  // Runs one or more statements that return no rows we need.
  Status exec(const char* sql);
  Result<Stmt> prepare(std::string_view sql);
  // The value of the first column of the first row (e.g. PRAGMA user_version).
  Result<int64_t> query_int(const char* sql);
  Status error(std::string_view what) const;  // Status::Io with sqlite3_errmsg
  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

  // Bind by 1-based index. Text and blobs are SQLITE_TRANSIENT copies only when the caller
  // cannot keep the bytes alive until step(): we always can, so these use SQLITE_STATIC and the
  // caller keeps the argument alive until the statement is stepped and reset.
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  void bind_blob(int i, std::string_view bytes) {
    // A zero-length blob must stay distinct from NULL (an empty body is not an absent one):
    // sqlite3_bind_blob with a null pointer binds NULL, so point at a static empty byte.
    static const char kEmpty = 0;
    sqlite3_bind_blob64(stmt_, i, bytes.empty() ? &kEmpty : bytes.data(), bytes.size(), SQLITE_STATIC);
  }
  void bind_null(int i) { sqlite3_bind_null(stmt_, i); }
  void bind_optional(int i, const std::optional<std::string>& text) {
    if (text) bind(i, *text); else bind_null(i);
  }

  // SQLITE_ROW, SQLITE_DONE, or an error code (see Db::error for the message).
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::optional<std::string> optional_blob(int col) const;
  // The column's bytes without a copy (NULL reads as empty); valid until the next step/reset.
  std::string_view blob_view(int col) const;

 private:
  friend class Db;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement on scope exit, so an early return never leaves it mid-step (which would
// hold a read snapshot open and block WAL checkpoints).
class StmtReset {
 public:
  explicit StmtReset(Stmt& s) : s_(s) {}
  ~StmtReset() { s_.reset(); }
  StmtReset(const StmtReset&) = delete;
  StmtReset& operator=(const StmtReset&) = delete;

 private:
  Stmt& s_;
};

}  // namespace authscope::sqlite
