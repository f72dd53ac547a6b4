// The SQLite FlowStore: one writer thread with its own connection commits queued flows in
// batched transactions; readers (CLI, analysis) use a second connection on the caller's thread.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "storage/flow_rows.h"
#include "storage/flow_store.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"

namespace authscope {
namespace {

using Clock = std::chrono::steady_clock;

// After the store is stopping, a batch that keeps failing is tried this many times before its
// flows are counted as lost (the destructor must not hang on a full disk).
constexpr int kFinalAttempts = 3;
// Flows annotated per transaction when backfilling a store written without annotations.
constexpr int kBackfillBatch = 256;

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The contract wants flows.db (it holds tokens) readable by its owner only. umask is
// process-wide, so rather than changing it around sqlite3_open (racing with other threads that
// create files) we create the file ourselves with 0600 and tighten an existing file's mode.
// SQLite creates -wal and -shm with the database file's permissions (unix VFS
// robust_open/findCreateFileMode), and fix_companion_modes() checks that after the fact.
Status create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  struct stat st {};
  Status status;
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0) {
    status = Status::Io(fmt::format("cannot make {} private (chmod 0600): {}", path, std::strerror(errno)));
  }
  ::close(fd);
  return status;
}

void fix_companion_modes(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::string p = path + suffix;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(p.c_str(), 0600);
  }
}

Status configure_connection(sqlite::Db& db, const std::string& name, int busy_timeout_ms) {
  sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  if (Status s = db.exec("PRAGMA foreign_keys = ON"); !s.ok()) {
    return Status::Io(fmt::format("{}: {}", name, s.message()));
  }
  return Status::Ok();
}

size_t approx_size(const Flow& f) {
  size_t n = sizeof(Flow) + f.request.target.size();
  auto add = [&n](const Headers& h, const Body& b) {
    for (const HeaderField& field : h.fields()) n += field.name.size() + field.value.size() + 64;
    if (b.data) n += b.data->size();
  };
  add(f.request.headers, f.request.body);
  if (f.response) add(f.response->headers, f.response->body);
  return n;
}

class SqliteFlowStore final : public FlowStore {
 public:
  SqliteFlowStore(std::string path, SqliteStoreOptions options)
      : path_(std::move(path)), name_(base_name(path_)), options_(std::move(options)) {}

  ~SqliteFlowStore() override {
    if (writer_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
      }
      writer_cv_.notify_one();
      writer_.join();
    }
  }

  Status open() {
    const bool read_only = options_.read_only;
    if (read_only) {
      if (::access(path_.c_str(), F_OK) != 0) {
        return Status::NotFound(fmt::format("no capture store at {}", path_));
      }
      if (Status s = upgrade_if_old(); !s.ok()) return s;
    } else if (Status s = create_private_file(path_); !s.ok()) {
      return s;
    }

    auto reader = sqlite::Db::open(path_, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
    if (!reader.ok()) return reader.status();
    reader_db_ = std::move(reader).value();
    if (Status s = configure_connection(reader_db_, name_, options_.busy_timeout_ms); !s.ok()) return s;

    if (read_only) {
      if (Status s = check_schema(reader_db_, name_); !s.ok()) return s;
    } else {
      auto writer = sqlite::Db::open(path_, SQLITE_OPEN_READWRITE);
      if (!writer.ok()) return writer.status();
      writer_db_ = std::move(writer).value();
      if (Status s = configure_connection(writer_db_, name_, options_.busy_timeout_ms); !s.ok()) return s;
      // WAL: readers never block the writer and a commit is one append to the -wal file.
      // synchronous=NORMAL: in WAL mode SQLite then fsyncs only at checkpoints, not at every
      // commit. A committed transaction is in the -wal file (the OS page cache) as soon as
      // COMMIT returns, so it survives a crash or SIGKILL of this process; only a power loss
      // or kernel crash can roll back the last commits, and never corrupts the file
      // (https://www.sqlite.org/pragma.html#pragma_synchronous). FULL would cost an fsync per
      // batch for protection against power loss that a debugging capture does not need.
      if (Status s = writer_db_.exec("PRAGMA journal_mode = WAL"); !s.ok()) {
        return Status::Io(fmt::format("{}: enabling WAL: {}", name_, s.message()));
      }
      if (Status s = writer_db_.exec("PRAGMA synchronous = NORMAL"); !s.ok()) return s;
      if (options_.writer_cache_kib > 0) {
        // Negative: a size in KiB rather than in pages (https://www.sqlite.org/pragma.html#pragma_cache_size).
        std::string sql = fmt::format("PRAGMA cache_size = -{}", options_.writer_cache_kib);
        if (Status s = writer_db_.exec(sql.c_str()); !s.ok()) return s;
      }
      if (options_.max_db_bytes > 0) {
        auto page_size = writer_db_.query_int("PRAGMA page_size");
        if (!page_size.ok()) return page_size.status();
        const uint64_t pages = std::max<uint64_t>(1, options_.max_db_bytes / static_cast<uint64_t>(*page_size));
        std::string sql = fmt::format("PRAGMA max_page_count = {}", pages);
        if (Status s = writer_db_.exec(sql.c_str()); !s.ok()) return s;
      }
      fix_companion_modes(path_);
      if (Status s = migrate_schema(writer_db_, name_); !s.ok()) return s;
      fix_companion_modes(path_);
      auto max_id = writer_db_.query_int("SELECT coalesce(max(id), 0) FROM flows");
      if (!max_id.ok()) return max_id.status();
      next_id_.store(*max_id + 1);
      auto rows = FlowRowWriter::prepare(writer_db_);
      if (!rows.ok()) return rows.status();
      rows_writer_.emplace(std::move(rows).value());
      if (options_.annotate) {
        if (Status s = backfill_annotations(writer_db_, *rows_writer_); !s.ok()) return s;
      }
    }
    auto rows = FlowRowReader::prepare(reader_db_);
    if (!rows.ok()) return rows.status();
    rows_reader_.emplace(std::move(rows).value());
    if (!read_only) writer_ = std::thread([this] { writer_loop(); });
    return Status::Ok();
  }

  // --- writing (any thread) -------------------------------------------------------------

  int64_t enqueue(Flow flow) override {
    if (flow.id == 0) {
      flow.id = next_id_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // A caller-chosen id moves the counter past it, so later ids stay unique and increasing.
      int64_t next = next_id_.load(std::memory_order_relaxed);
      while (next <= flow.id && !next_id_.compare_exchange_weak(next, flow.id + 1, std::memory_order_relaxed)) {
      }
    }
    const int64_t id = flow.id;
    const size_t size = approx_size(flow);
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (options_.read_only) {
        ++dropped_;
        drop_reason_ = "the store was opened read-only";
        return id;
      }
      if (queue_.size() >= options_.max_queued_flows || queued_bytes_ + size > options_.max_queued_bytes) {
        ++dropped_;
        drop_reason_ = fmt::format("write queue full ({} flows, {} MiB)", queue_.size(), queued_bytes_ >> 20);
        return id;
      }
      queue_.push_back(std::move(flow));
      queued_bytes_ += size;
      ++enqueued_;
      // The writer sleeps until the first flow of a batch arrives, then waits out the commit
      // interval; only those two moments need a (syscall-costing) wake-up.
      wake = queue_.size() == 1 || queue_.size() == options_.batch_max_flows;
    }
    if (wake) writer_cv_.notify_one();
    return id;
  }

  Status flush() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (options_.read_only) return drop_status_locked();
    const uint64_t target = enqueued_;
    const uint64_t failures_before = failures_;
    if (committed_ < target) {
      flush_requested_ = true;
      writer_cv_.notify_one();
      flushed_cv_.wait(lock, [&] { return committed_ >= target || failures_ > failures_before || writer_gone_; });
    }
    if (committed_ >= target) return drop_status_locked();
    return write_error_.ok() ? Status::Io(fmt::format("{}: writer stopped", name_)) : write_error_;
  }

  Status last_error() const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!write_error_.ok()) return write_error_;
    return drop_status_locked();
  }

  // --- reading (caller's thread) --------------------------------------------------------

  Result<std::vector<FlowSummary>> list() override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    auto stmt = reader_db_.prepare(
        "SELECT id, kind, start_us, end_us, client_addr, scheme, host, port, method, target, "
        "response_status, bytes_from_client, bytes_from_upstream, error, class FROM flows ORDER BY id");
    if (!stmt.ok()) return stmt.status();
    std::vector<FlowSummary> out;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
      FlowSummary s;
      s.id = stmt->int64(0);
      s.kind = flow_kind_from_string(stmt->text(1)).value_or(FlowKind::kHttp);
      s.start_us = stmt->int64(2);
      int64_t end = stmt->int64(3);
      s.duration_us = end > s.start_us ? end - s.start_us : 0;
      s.client_addr = stmt->text(4);
      s.scheme = stmt->text(5);
      s.host = stmt->text(6);
      s.port = static_cast<uint16_t>(stmt->int64(7));
      s.method = stmt->text(8);
      s.target = stmt->text(9);
      s.status = stmt->is_null(10) ? 0 : static_cast<int>(stmt->int64(10));
      s.request_bytes = static_cast<uint64_t>(stmt->int64(11));
      s.response_bytes = static_cast<uint64_t>(stmt->int64(12));
      s.error = stmt->optional_text(13);
      s.flow_class = stmt->optional_text(14).value_or("");
      out.push_back(std::move(s));
    }
    if (rc != SQLITE_DONE) return reader_db_.error("listing flows");
    return out;
  }

  Result<std::optional<Flow>> load(int64_t id) override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    return rows_reader_->load(id);
  }

  Status for_each(const std::function<bool(const Flow&)>& visit) override {
    return for_each_reading(FlowReadOptions{}, visit);
  }

  Status for_each_reading(const FlowReadOptions& options, const std::function<bool(const Flow&)>& visit) override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    // One read transaction: the three merged cursors see the same snapshot even while the
    // writer commits (WAL readers keep their snapshot until the transaction ends).
    const bool own_txn = sqlite3_get_autocommit(reader_db_.get()) != 0;
    if (own_txn) {
      if (Status s = reader_db_.exec("BEGIN"); !s.ok()) return s;
    }
    Status status = rows_reader_->for_each_reading(options, visit);
    if (own_txn) reader_db_.exec("COMMIT");
    return status;
  }

  Status for_each_annotations(const std::function<bool(int64_t, const FlowAnnotations&)>& visit) override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    const bool own_txn = sqlite3_get_autocommit(reader_db_.get()) != 0;
    if (own_txn) {
      if (Status s = reader_db_.exec("BEGIN"); !s.ok()) return s;
    }
    Status status = rows_reader_->for_each_annotations(visit);
    if (own_txn) reader_db_.exec("COMMIT");
    return status;
  }

  Result<int64_t> count() override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    return reader_db_.query_int("SELECT count(*) FROM flows");
  }

  Status replace_findings(const std::vector<Finding>& findings) override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    if (options_.read_only) return Status::Invalid(fmt::format("{} was opened read-only", name_));
    if (Status s = reader_db_.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status status = write_findings(findings);
    if (status.ok()) status = reader_db_.exec("COMMIT");
    if (!status.ok()) reader_db_.exec("ROLLBACK");
    return status;
  }

  Result<std::vector<Finding>> load_findings() override {
    std::lock_guard<std::recursive_mutex> lock(reader_mu_);
    auto stmt = reader_db_.prepare(
        "SELECT rule, severity, title, message, flows, evidence FROM findings ORDER BY id");
    if (!stmt.ok()) return stmt.status();
    std::vector<Finding> out;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
      Finding f;
      f.rule = stmt->text(0);
      f.severity = severity_from_string(stmt->text(1)).value_or(Severity::kInfo);
      f.title = stmt->text(2);
      f.message = stmt->text(3);
      auto flows = nlohmann::json::parse(stmt->text(4), nullptr, false);
      if (flows.is_array()) {
        for (const auto& id : flows) {
          if (id.is_number_integer()) f.flows.push_back(id.get<int64_t>());
        }
      }
      auto evidence = nlohmann::ordered_json::parse(stmt->text(5), nullptr, false);
      if (!evidence.is_discarded()) f.evidence = std::move(evidence);
      out.push_back(std::move(f));
    }
    if (rc != SQLITE_DONE) return reader_db_.error("reading findings");
    return out;
  }

 private:
  Status write_findings(const std::vector<Finding>& findings) {
    if (Status s = reader_db_.exec("DELETE FROM findings"); !s.ok()) return s;
    auto stmt = reader_db_.prepare(
        "INSERT INTO findings (rule, severity, title, message, flows, evidence) VALUES (?,?,?,?,?,?)");
    if (!stmt.ok()) return stmt.status();
    for (const Finding& f : findings) {
      std::string flows = nlohmann::json(f.flows).dump();
      std::string evidence = f.evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      sqlite::StmtReset reset(*stmt);
      stmt->bind(1, f.rule);
      stmt->bind(2, std::string_view(to_string(f.severity)));
      stmt->bind(3, f.title);
      stmt->bind(4, f.message);
      stmt->bind(5, flows);
      stmt->bind(6, evidence);
      if (stmt->step() != SQLITE_DONE) return reader_db_.error("writing findings");
    }
    return Status::Ok();
  }

  Status drop_status_locked() const {
    if (dropped_ == 0) return Status::Ok();
    return Status::Limit(fmt::format("{}: {} flows were not stored: {}", name_, dropped_, drop_reason_));
  }

  // A read_only open of an older file upgrades it through a short-lived writable connection.
  Status upgrade_if_old() {
    auto probe = sqlite::Db::open(path_, SQLITE_OPEN_READONLY);
    if (!probe.ok()) return probe.status();
    auto version = probe->query_int("PRAGMA user_version");
    if (!version.ok()) return Status::Io(fmt::format("{}: {}", name_, version.status().message()));
    if (*version <= 0 || *version > kSchemaVersion) return Status::Ok();  // check_schema decides
    bool unannotated = false;
    if (*version == kSchemaVersion && options_.annotate) {
      auto any = probe->query_int("SELECT EXISTS (SELECT 1 FROM flows WHERE class IS NULL)");
      unannotated = any.ok() && *any != 0;
    }
    if (*version == kSchemaVersion && (!unannotated || ::access(path_.c_str(), W_OK) != 0)) return Status::Ok();
    auto rw = sqlite::Db::open(path_, SQLITE_OPEN_READWRITE);
    if (!rw.ok()) return Status::Ok();  // not writable: check_schema explains, readers recompute
    sqlite3_busy_timeout(rw->get(), options_.busy_timeout_ms);
    if (Status s = migrate_schema(*rw, name_); !s.ok()) return s;
    if (!options_.annotate) return Status::Ok();
    if (Status s = configure_connection(*rw, name_, options_.busy_timeout_ms); !s.ok()) return Status::Ok();
    auto writer = FlowRowWriter::prepare(*rw);
    if (!writer.ok()) return Status::Ok();
    // Best effort: a reader that cannot backfill (another process holds the write lock too
    // long) still reads; rows without annotations are recomputed by the reader.
    backfill_annotations(*rw, *writer);
    return Status::Ok();
  }

  // Annotates every stored flow that has no annotations (rows written before schema 3, or by a
  // writer without the hook), in id order so a JWKS fetch is seen before the tokens it signs,
  // in transactions of kBackfillBatch flows (a crash keeps what was committed; the rest is
  // picked up by the next open). Tokens of redacted rows get "redacted": the signature is gone.
  Status backfill_annotations(sqlite::Db& db, FlowRowWriter& writer) {
    auto reader = FlowRowReader::prepare(db);
    if (!reader.ok()) return reader.status();
    auto next = db.prepare("SELECT id FROM flows WHERE class IS NULL AND id > ? ORDER BY id LIMIT ?");
    if (!next.ok()) return next.status();
    int64_t after = 0;
    for (;;) {
      std::vector<int64_t> ids;
      {
        sqlite::StmtReset reset(*next);
        next->bind(1, after);
        next->bind(2, int64_t{kBackfillBatch});
        int rc;
        while ((rc = next->step()) == SQLITE_ROW) ids.push_back(next->int64(0));
        if (rc != SQLITE_DONE) return db.error("finding flows to annotate");
      }
      if (ids.empty()) return Status::Ok();
      after = ids.back();
      if (Status s = db.exec("BEGIN IMMEDIATE"); !s.ok()) return Status::Io(fmt::format("{}: {}", name_, s.message()));
      Status status;
      for (int64_t id : ids) {
        auto flow = reader->load(id);
        if (!flow.ok()) {
          status = flow.status();
          break;
        }
        if (!flow.value()) continue;
        std::optional<FlowAnnotations> a = run_annotate(**flow);
        if (!a) continue;  // the hook failed on this flow: leave it for readers to recompute
        if (status = writer.annotate(id, *a); !status.ok()) break;
      }
      if (status.ok()) status = db.exec("COMMIT");
      if (!status.ok()) {
        db.exec("ROLLBACK");
        writer.rolled_back();
        return Status::Io(fmt::format("{}: annotating stored flows: {}", name_, status.message()));
      }
      writer.committed();
    }
  }

  // One transaction per batch. On failure everything is rolled back and the caller keeps the
  // batch to retry; a flow refused for itself (duplicate id) is dropped from the batch.
  Status write_batch(std::vector<Flow>& batch, std::string& skipped) {
    if (Status s = writer_db_.exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    size_t kept = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      Status s = rows_writer_->insert(batch[i]);
      if (s.code() == Status::Code::kInvalid) {
        skipped = s.message();
        continue;
      }
      if (!s.ok()) {
        writer_db_.exec("ROLLBACK");
        rows_writer_->rolled_back();
        return s;
      }
      if (kept != i) batch[kept] = std::move(batch[i]);
      ++kept;
    }
    if (Status s = writer_db_.exec("COMMIT"); !s.ok()) {
      writer_db_.exec("ROLLBACK");
      rows_writer_->rolled_back();
      return s;
    }
    rows_writer_->committed();
    // Only now forget the skipped flows: a rollback above must retry the whole batch.
    skipped_in_batch_ = batch.size() - kept;
    batch.resize(kept);
    return Status::Ok();
  }

  // A burst leaves the batch vector with room for hundreds of flows (~0.5 KB each, half a
  // megabyte after a busy second) that would stay resident all day; a batch of the usual size
  // keeps its room (no allocation per commit).
  static void release_batch(std::vector<Flow>& batch) {
    constexpr size_t kKeptCapacity = 64;
    if (batch.capacity() > kKeptCapacity) {
      std::vector<Flow>().swap(batch);
    } else {
      batch.clear();
    }
  }

  void writer_loop() {
    std::vector<Flow> batch;  // taken from the queue, before_write applied; kept across retries
    std::deque<Flow> taken;   // moved out of queue_ under the lock, into batch outside it
    size_t batch_bytes = 0;
    bool hooked = false;           // before_write ran on this batch (once, not per retry)
    bool cache_filled = false;     // written since the page cache was last given back
    int attempts_stopping = 0;     // failed attempts since the store began stopping
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (batch.empty()) {
          auto work = [&] { return !queue_.empty() || stopping_; };
          if (cache_filled && !writer_cv_.wait_for(lock, std::chrono::milliseconds(options_.writer_cache_idle_ms), work)) {
            // Idle after writing: the page cache goes back to the heap (and from there to the
            // OS with the proxy's idle trim). Unlocked: enqueue() must not wait for it.
            lock.unlock();
            sqlite3_db_release_memory(writer_db_.get());
            lock.lock();
          }
          cache_filled = false;
          writer_cv_.wait(lock, work);
          if (queue_.empty()) break;  // stopping with nothing left
          const auto deadline = Clock::now() + std::chrono::milliseconds(options_.commit_interval_ms);
          writer_cv_.wait_until(lock, deadline, [&] {
            return queue_.size() >= options_.batch_max_flows || flush_requested_ || stopping_;
          });
          // Hold the lock the proxy's enqueue() needs as briefly as possible: swap the whole
          // queue out when it fits in one batch (the usual case), move element-wise otherwise.
          if (queue_.size() <= options_.batch_max_flows) {
            taken.swap(queue_);
          } else {
            for (size_t i = 0; i < options_.batch_max_flows; ++i) {
              taken.push_back(std::move(queue_.front()));
              queue_.pop_front();
            }
          }
          if (queue_.empty()) flush_requested_ = false;
        } else {
          // Retrying a failed batch: wait, unless someone is waiting in flush() or we stop.
          writer_cv_.wait_for(lock, std::chrono::milliseconds(options_.retry_interval_ms),
                              [&] { return flush_requested_ || stopping_; });
          // This attempt answers the flush() that woke us (it returns after one more failure);
          // leaving the flag set would turn the retry pause into a busy loop on a full disk.
          flush_requested_ = false;
        }
      }
      if (!taken.empty()) {
        batch.reserve(taken.size());
        batch_bytes = 0;
        for (Flow& f : taken) {
          batch_bytes += approx_size(f);
          batch.push_back(std::move(f));
        }
        taken.clear();
      }
      if (!hooked && options_.annotate) {
        for (Flow& f : batch) {
          if (!f.annotations) f.annotations = run_annotate(f);
        }
      }
      if (!hooked && options_.before_write) {
        for (Flow& f : batch) run_before_write(f);
      }
      hooked = true;

      std::string skipped;
      const size_t batch_size = batch.size();
      Status status = write_batch(batch, skipped);
      cache_filled = true;
      if (status.ok()) {
        if (options_.after_commit && !batch.empty()) run_after_commit(batch);
        {
          std::lock_guard<std::mutex> lock(mu_);
          committed_ += batch_size;
          queued_bytes_ -= std::min(queued_bytes_, batch_bytes);
          write_error_ = Status::Ok();
          if (!skipped.empty()) {
            dropped_ += skipped_in_batch_;
            drop_reason_ = skipped;
          }
        }
        flushed_cv_.notify_all();
        release_batch(batch);
        hooked = false;
        attempts_stopping = 0;
        continue;
      }
      bool give_up = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++failures_;
        write_error_ = Status::Io(fmt::format("{}: cannot write flows ({} waiting): {}", name_,
                                              batch_size + queue_.size(), status.message()));
        if (stopping_ && ++attempts_stopping >= kFinalAttempts) {
          give_up = true;
          dropped_ += batch_size;
          drop_reason_ = status.message();
          committed_ += batch_size;  // settled, if not stored: flush() must not wait for them
          queued_bytes_ -= std::min(queued_bytes_, batch_bytes);
        }
      }
      flushed_cv_.notify_all();
      if (give_up) {
        release_batch(batch);
        hooked = false;
        attempts_stopping = 0;
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    writer_gone_ = true;
    flushed_cv_.notify_all();
  }

  // Hooks are caller code; an exception from one must not kill the writer thread (which would
  // std::terminate the proxy). before_write failing leaves the flow as it was.
  void run_before_write(Flow& f) {
    try {
      options_.before_write(f);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu_);
      write_error_ = Status::Invalid(fmt::format("before_write hook failed on flow {}: {}", f.id, e.what()));
    }
  }
  std::optional<FlowAnnotations> run_annotate(const Flow& f) {
    try {
      return options_.annotate(f);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu_);
      write_error_ = Status::Invalid(fmt::format("annotate hook failed on flow {}: {}", f.id, e.what()));
    }
    return std::nullopt;
  }
  void run_after_commit(const std::vector<Flow>& batch) {
    try {
      options_.after_commit(batch);
    } catch (...) {
    }
  }

  const std::string path_;
  const std::string name_;  // what messages call the file ("flows.db")
  const SqliteStoreOptions options_;

  // Readers: one connection used under reader_mu_ (recursive: a for_each visitor may load()).
  std::recursive_mutex reader_mu_;
  sqlite::Db reader_db_;
  std::optional<FlowRowReader> rows_reader_;

  // Writer thread state: writer_db_ and rows_writer_ are touched only by the writer thread
  // after open(); everything below mu_ is shared.
  sqlite::Db writer_db_;
  std::optional<FlowRowWriter> rows_writer_;
  size_t skipped_in_batch_ = 0;
  std::thread writer_;
  std::atomic<int64_t> next_id_{1};

  mutable std::mutex mu_;
  std::condition_variable writer_cv_;   // wakes the writer: first flow, full batch, flush, stop
  std::condition_variable flushed_cv_;  // wakes flush(): a batch committed or failed
  std::deque<Flow> queue_;
  size_t queued_bytes_ = 0;
  uint64_t enqueued_ = 0;   // flows accepted into the queue
  uint64_t committed_ = 0;  // of those, how many the writer has settled
  uint64_t failures_ = 0;   // failed batch attempts
  uint64_t dropped_ = 0;
  std::string drop_reason_;
  Status write_error_;
  bool flush_requested_ = false;
  bool stopping_ = false;
  bool writer_gone_ = false;
};

}  // namespace

Result<std::unique_ptr<FlowStore>> open_sqlite_store(const std::string& path, SqliteStoreOptions options) {
  auto store = std::make_unique<SqliteFlowStore>(path, std::move(options));
  if (Status s = store->open(); !s.ok()) return s;
  return std::unique_ptr<FlowStore>(std::move(store));
}

}  // namespace authscope
