// FlowStore: where captured flows and the findings about them live.
//
// Threading contract: enqueue() may be called from the proxy's event loop thread and never
// blocks on disk (the SQLite implementation hands flows to its own writer thread, which commits
// them in batched transactions). Every other method is for CLI/analysis code and may block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/finding.h"
#include "model/flow.h"
#include "model/flow_annotations.h"
#include "model/status.h"

namespace authscope {

struct FlowSummary {  // what `authscope flows` lists, without loading bodies
  int64_t id = 0;
  FlowKind kind = FlowKind::kHttp;
  int64_t start_us = 0;
  int64_t duration_us = 0;
  std::string client_addr;
  std::string scheme, host;
  uint16_t port = 0;
  std::string method, target;
  int status = 0;  // 0: no response
  uint64_t request_bytes = 0, response_bytes = 0;
  std::optional<std::string> error;
  std::string flow_class;  // FlowAnnotations::flow_class, "" when the flow was never annotated
};

// Which message bodies FlowStore::for_each_reading(options, ...) reads of one flow.
struct BodyChoice {
  bool request = true;
  bool response = true;
};

// What for_each_reading(options, visit) reads of each flow: for analysis passes that need the
// bodies of a few flows (token endpoint exchanges, error replies) and not of the thousands of
// ARM calls between them. Reading less is an optimisation a store may ignore (a store may always
// deliver more than asked).
struct FlowReadOptions {
  // Called with the flow as read before its bodies (flows row, TLS, headers; body data absent),
  // returns which body data to read. A body not chosen is delivered with its data absent but its
  // `truncated` and `wire_size` as stored. Unset: every body.
  std::function<BodyChoice(const Flow&)> choose_bodies;
  bool tls = true;            // parse the stored TLS details into Flow::tls
  bool token_records = true;  // annotations' token records (with their header/claims JSON)
};

class FlowStore {
 public:
  virtual ~FlowStore() = default;

  // Assigns the flow an id when it has none (id == 0) and queues it for writing.
  // Thread-safe, never blocks on disk. Returns the flow's id.
  virtual int64_t enqueue(Flow flow) = 0;
  // Blocks until every flow enqueued before the call is committed. When the store cannot write
  // (disk full, read-only file, lock held too long) it returns that error after one more failed
  // attempt instead of blocking forever; the flows stay queued and are retried.
  virtual Status flush() = 0;
  // Why writing is failing right now, or how many flows were lost (queue bound exceeded while
  // writes failed); OK while everything enqueued is being written. Cheap; any thread.
  virtual Status last_error() const { return Status::Ok(); }

  virtual Result<std::vector<FlowSummary>> list() = 0;
  virtual Result<std::optional<Flow>> load(int64_t id) = 0;
  // Streams every flow in id order without holding them all in memory; stop early by
  // returning false from `visit`.
  virtual Status for_each(const std::function<bool(const Flow&)>& visit) = 0;
  // The same stream, reading only what `options` asks for (see FlowReadOptions). The default
  // reads everything.
  virtual Status for_each_reading(const FlowReadOptions& options, const std::function<bool(const Flow&)>& visit) {
    (void)options;
    return for_each(visit);
  }
  virtual Result<int64_t> count() = 0;
  // Streams the stored annotations (class and token records, model/flow_annotations.h) of every
  // annotated flow in id order without loading headers or bodies: what analysis code reads when
  // it needs only "which flows are JWKS fetches" or "which tokens went where". Flows never
  // annotated are skipped (load() them and recompute). Stop early by returning false.
  virtual Status for_each_annotations(const std::function<bool(int64_t id, const FlowAnnotations&)>& visit) {
    (void)visit;
    return Status::Unsupported("this store keeps no annotations");
  }

  // Findings of the last analysis, replaced as a whole.
  virtual Status replace_findings(const std::vector<Finding>& findings) = 0;
  virtual Result<std::vector<Finding>> load_findings() = 0;
};

struct SqliteStoreOptions {
  // Computes what the store keeps about a flow (class, decoded tokens with signature status:
  // analyzers/flow_annotator.h, which storage must not include; the CLI wires it in). Runs on the
  // writer thread BEFORE before_write, so it sees the raw flow (a signature is verified before
  // redaction strips it); skipped for flows that arrive with annotations already set. Also used
  // when the store opens (read-write, or read-only on a writable file) to backfill flows stored
  // without annotations (older schema versions), in id order, before the open returns.
  // Exceptions are caught: the flow is then stored unannotated.
  std::function<FlowAnnotations(const Flow&)> annotate;
  // Runs on the writer thread before a flow is written (redaction of secrets lives in
  // analyzers/, which storage must not include; the CLI wires it in).
  std::function<void(Flow&)> before_write;
  // Runs on the writer thread after a batch is committed, with the flows as written.
  std::function<void(const std::vector<Flow>&)> after_commit;
  // The writer connection's page cache while flows arrive. A batch of 512 flows dirties ~2,000
  // pages; with 256 KiB the cache spilled and re-read them (gen-store: 2 MB writes a flow ~18%
  // faster). The writer gives the cache back once idle for writer_cache_idle_ms, so at rest it
  // costs nothing.
  int writer_cache_kib = 2048;
  int writer_cache_idle_ms = 500;
  int commit_interval_ms = 200;   // a batch commits at least this often while flows arrive
  size_t batch_max_flows = 512;   // ... or when this many are queued
  bool read_only = false;         // CLI readers open without creating the file
  // While writes fail, flows wait in memory up to these bounds; beyond them enqueue() drops the
  // new flow (its id is still returned), counts it, and last_error() says how many were lost.
  size_t max_queued_flows = 100000;
  size_t max_queued_bytes = size_t{256} << 20;
  int retry_interval_ms = 1000;   // pause between attempts while writes fail
  int busy_timeout_ms = 5000;     // how long a statement waits for another process's lock
  // Largest size the file may grow to (0: no limit). Beyond it writes fail like a full disk
  // (SQLITE_FULL): flows wait in the queue and last_error() says so.
  uint64_t max_db_bytes = 0;
};

// Opens (creating with mode 0600 when missing, unless read_only) and migrates a SQLite store.
// A schema newer than this build understands is refused with a clear message. A read_only open
// of a file at an older schema upgrades it first when the file is writable. Readers see only
// committed flows: call flush() to see what was just enqueued. The destructor flushes (a few
// bounded attempts) and joins the writer thread.
Result<std::unique_ptr<FlowStore>> open_sqlite_store(const std::string& path,
                                                     SqliteStoreOptions options = {});

}  // namespace authscope
