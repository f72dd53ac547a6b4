// authscope proxy [opts]: the capture proxy until SIGINT/SIGTERM, then flush, analyze, print the
// findings summary and exit 0 (the contract). Start-up failures (port in use, unreadable CA,
// broken rule pack) are one line and exit 1.
#include <signal.h>

#include <ostream>

#include <fmt/format.h>
#include <uv.h>

#include "cli/capture.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/findings_text.h"
#include "cli/proxy_flags.h"

namespace authscope {

namespace {

constexpr const char* kDefaultListen = "127.0.0.1:8080";

struct ProxyLoop {
  uv_loop_t loop{};
  uv_signal_t sigint{};
  uv_signal_t sigterm{};
  cli::CaptureSession* capture = nullptr;
  std::ostream* out = nullptr;
  int signals_seen = 0;
};

void on_stop_signal(uv_signal_t* handle, int signum) {
  auto* p = static_cast<ProxyLoop*>(handle->data);
  if (++p->signals_seen > 1) return;  // already draining (bounded by the shutdown grace)
  *p->out << fmt::format("authscope: {} received, draining and analyzing...\n", signum == SIGINT ? "SIGINT" : "SIGTERM")
          << std::flush;
  p->capture->stop([p] {
    uv_close(reinterpret_cast<uv_handle_t*>(&p->sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->sigterm), nullptr);
  });
}

}  // namespace

int cmd_proxy(CommandContext& ctx) {
  auto app = cli::make_app("proxy");
  cli::ProxyFlags flags;
  cli::add_proxy_flags(*app, flags, kDefaultListen);
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  cli::HomePaths paths = cli::home_paths();
  auto options = cli::capture_options_from(flags, kDefaultListen, paths);
  if (!options.ok()) return cli::usage_error(ctx, "proxy", options.status().message());

  ProxyLoop p;
  p.out = &ctx.out;
  if (int rc = uv_loop_init(&p.loop); rc != 0) return cli::failure(ctx, "proxy", uv_strerror(rc));
  auto capture = cli::CaptureSession::start(&p.loop, options.value(), paths, ctx.out, ctx.err);
  if (!capture.ok()) {
    uv_run(&p.loop, UV_RUN_NOWAIT);  // let anything the failed start opened close
    uv_loop_close(&p.loop);
    return cli::failure(ctx, "proxy", capture.status().message());
  }
  p.capture = capture.value().get();

  uv_signal_init(&p.loop, &p.sigint);
  uv_signal_init(&p.loop, &p.sigterm);
  p.sigint.data = p.sigterm.data = &p;
  uv_signal_start(&p.sigint, on_stop_signal, SIGINT);
  uv_signal_start(&p.sigterm, on_stop_signal, SIGTERM);

  ctx.out << fmt::format("authscope: proxy listening on {} (store {}); Ctrl-C stops\n", p.capture->bound_address(),
                         p.capture->db_path())
          << fmt::format("authscope: point clients at it with: eval \"$(authscope env --port {})\"\n",
                         p.capture->bound_port())
          << std::flush;

  uv_run(&p.loop, UV_RUN_DEFAULT);

  auto result = p.capture->finish(false);
  capture.value().reset();
  uv_run(&p.loop, UV_RUN_NOWAIT);
  uv_loop_close(&p.loop);
  if (!result.ok()) return cli::failure(ctx, "proxy", result.status().message());
  cli::print_findings_summary(ctx.out, result.value().findings, result.value().flow_count);
  ctx.out << std::flush;
  return kExitOk;
}

}  // namespace authscope
