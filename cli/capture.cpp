#include "cli/capture.h"

#include <ostream>

#include <fmt/format.h>

#include "analyzers/redact.h"
#include "analyzers/rule_pack.h"
#include "cli/live_printer.h"
#include "cli/store_annotator.h"
#include "cli/store_health.h"
#include "proxy/tls/cert_authority.h"

namespace authscope::cli {

CaptureSession::~CaptureSession() = default;

Result<std::unique_ptr<CaptureSession>> CaptureSession::start(uv_loop_t* loop, const CaptureOptions& options,
                                                              const HomePaths& paths, std::ostream& live,
                                                              std::ostream& warnings) {
  std::unique_ptr<CaptureSession> s(new CaptureSession());
  s->options_ = options;

  if (Status st = ensure_ca(CaFiles{paths.ca_cert, paths.ca_key}); !st.ok()) return st;
  if (Status st = write_ca_bundle(paths); !st.ok()) return st;

  auto pack = load_rules(options.rules_dir);
  if (!pack.ok()) return pack.status();
  s->pack_ = pack.value();

  SqliteStoreOptions store_options;
  // Annotations (class, tokens, signature status) are computed before redaction, on the writer
  // thread; the key index starts with the JWKS the store already holds (primed below).
  auto annotator = std::make_shared<FlowAnnotator>(s->pack_->known);
  install_annotator(store_options, annotator);
  if (!options.keep_secrets) store_options.before_write = redact_before_write;
  if (!options.quiet) {
    s->printer_ = std::make_shared<LiveFlowPrinter>(live, s->pack_, paths.ca_cert, paths.ca_bundle);
    std::weak_ptr<LiveFlowPrinter> printer = s->printer_;
    store_options.after_commit = [printer](const std::vector<Flow>& flows) {
      if (auto p = printer.lock()) p->on_commit(flows);
    };
  }
  auto store = open_sqlite_store(options.db_path, std::move(store_options));
  if (!store.ok()) return Status::Io(fmt::format("store {}: {}", options.db_path, store.status().message()));
  s->store_ = std::move(store.value());
  // Before the proxy exists, so no flow is annotated without the keys seen in earlier sessions.
  if (Status st = prime_annotator(*s->store_, *annotator); !st.ok()) {
    return Status::Io(fmt::format("store {}: {}", options.db_path, st.message()));
  }

  CaptureSession* self = s.get();
  auto server = create_proxy_server(loop, options.proxy, [self](Flow&& flow) {
    int64_t id = self->store_->enqueue(std::move(flow));
    int64_t expected = 0;
    self->first_id_.compare_exchange_strong(expected, id);
    self->flows_captured_.fetch_add(1, std::memory_order_relaxed);
  });
  if (!server.ok()) return server.status();
  s->server_ = std::move(server.value());

  auto bound = s->server_->listen();
  if (!bound.ok()) return bound.status();
  s->bound_ = bound.value();
  std::string host;
  if (Status st = parse_host_port(s->bound_, host, s->bound_port_, true); !st.ok()) return st;

  if (!options.ready_file.empty()) {
    if (Status st = write_file_atomically(options.ready_file, s->bound_ + "\n", 0644); !st.ok()) return st;
  }
  if (options.keep_secrets) {
    live << "authscope: --keep-secrets: tokens, secrets and cookies are stored unredacted in " << options.db_path
         << "\n";
  }
  s->health_ = std::make_unique<StoreHealthWatch>(loop, *s->store_, warnings);
  s->health_->start();
  return s;
}

void CaptureSession::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  if (health_) health_->close();
  server_->shutdown(std::move(done));
}

Result<StoreFindings> CaptureSession::finish(bool session_only) {
  server_.reset();
  if (Status st = store_->flush(); !st.ok()) return st;
  auto all = analyze_store(*store_, pack_, 0);
  if (!all.ok()) return all.status();
  if (Status st = store_->replace_findings(all.value().findings); !st.ok()) return st;
  if (!session_only) return all;
  int64_t first = first_id_.load();
  if (first == 0) return StoreFindings{};  // nothing captured in this session
  if (first == 1) return all;              // the store held nothing before this session
  return analyze_store(*store_, pack_, first);
}

}  // namespace authscope::cli
