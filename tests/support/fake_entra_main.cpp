// fake-entra: the FakeEntraServer as a process.
//
//   fake-entra --listen 127.0.0.1:0 --ready-file F --pki-dir DIR [--linked-sub SUB=TENANT ...]
//              [--missing-role-sub SUB ...] [--app-role CLIENT=ROLE ...] [--plain] [--log]
// --log keeps the request record and prints one line per request at exit (otherwise none is kept).
//
// Writes the PKI into DIR when DIR has none (ca.pem, server.pem, server.key, wrong.*), keeps the
// token signing key in DIR/signing.key (so tokens stay verifiable across restarts) and its JWKS
// in DIR/jwks.json, writes "ADDR:PORT" to the ready file once listening, and serves until SIGINT
// or SIGTERM. Exit 0 on a signal, 1 on a start-up error, 2 on a usage error.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/fake_entra_server.h"
#include "tests/support/process_helpers.h"
#include "tests/support/test_pki.h"

using namespace authscope;
using namespace authscope::testkit;

namespace {

int usage(const char* why) {
  std::fprintf(stderr,
               "fake-entra: %s\n"
               "usage: fake-entra --listen ADDR:PORT --ready-file FILE --pki-dir DIR\n"
               "                  [--linked-sub SUB=TENANT]... [--missing-role-sub SUB]...\n"
               "                  [--app-role CLIENT=ROLE]... [--plain] [--log]\n",
               why);
  return 2;
}

bool split_eq(const std::string& s, std::string& a, std::string& b) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return false;
  a = s.substr(0, eq);
  b = s.substr(eq + 1);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0", ready_file, pki_dir;
  bool plain = false, log = false;
  FakeEntraOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (arg == "--listen") {
      const char* v = value("--listen");
      if (!v) return usage("--listen needs ADDR:PORT");
      listen = v;
    } else if (arg == "--ready-file") {
      const char* v = value("--ready-file");
      if (!v) return usage("--ready-file needs a path");
      ready_file = v;
    } else if (arg == "--pki-dir") {
      const char* v = value("--pki-dir");
      if (!v) return usage("--pki-dir needs a directory");
      pki_dir = v;
    } else if (arg == "--linked-sub") {
      const char* v = value("--linked-sub");
      std::string sub, tenant;
      if (!v || !split_eq(v, sub, tenant)) return usage("--linked-sub needs SUB=TENANT");
      options.linked_subscriptions.push_back({sub, tenant, false});
    } else if (arg == "--missing-role-sub") {
      const char* v = value("--missing-role-sub");
      if (!v) return usage("--missing-role-sub needs a subscription id");
      options.linked_subscriptions.push_back({v, "", true});
    } else if (arg == "--app-role") {
      const char* v = value("--app-role");
      std::string client, role;
      if (!v || !split_eq(v, client, role)) return usage("--app-role needs CLIENT=ROLE");
      options.app_roles[client].push_back(role);
    } else if (arg == "--plain") {
      plain = true;
    } else if (arg == "--log") {
      log = true;
    } else if (arg == "-h" || arg == "--help") {
      usage("serves a fake Entra ID / ARM / Graph on loopback");
      return 0;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return usage("--listen needs ADDR:PORT");
  options.listen_host = listen.substr(0, colon);
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) return usage("bad port");
  options.port = static_cast<uint16_t>(port);
  options.tls = !plain;
  // Without --log nothing reads the request record: keep none, so benchmark and soak runs stay flat.
  if (!log) options.max_recorded = 0;
  if (pki_dir.empty() && !plain) return usage("--pki-dir is required (unless --plain)");

  if (!pki_dir.empty()) {
    auto pki = TestPki::load_or_create(pki_dir);
    if (!pki.ok()) {
      std::fprintf(stderr, "fake-entra: %s\n", pki.status().ToString().c_str());
      return 1;
    }
    PkiPaths paths = pki_paths(pki_dir);
    options.cert_file = paths.server_cert;
    options.key_file = paths.server_key;
    std::string key_path = pki_dir + "/signing.key";
    std::string key_pem = read_text_file(key_path);
    if (key_pem.empty()) {
      auto signer = TokenSigner::generate(options.signing_kid);
      if (!signer.ok()) {
        std::fprintf(stderr, "fake-entra: %s\n", signer.status().ToString().c_str());
        return 1;
      }
      key_pem = signer->private_key_pem();
      Status s = write_text_file(key_path, key_pem, 0600);
      if (!s.ok()) {
        std::fprintf(stderr, "fake-entra: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    options.signing_key_pem = key_pem;
  }

  // Block the stop signals before any thread exists, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto server = FakeEntraServer::start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "fake-entra: %s\n", server.status().ToString().c_str());
    return 1;
  }
  if (!pki_dir.empty()) write_text_file(pki_dir + "/jwks.json", (*server)->signer().jwks().dump(2) + "\n");
  std::string address = (*server)->address();
  if (!ready_file.empty()) {
    // Written whole then renamed, so a reader never sees a partial address.
    std::string tmp = ready_file + ".tmp";
    Status s = write_text_file(tmp, address + "\n");
    if (!s.ok() || ::rename(tmp.c_str(), ready_file.c_str()) != 0) {
      std::fprintf(stderr, "fake-entra: cannot write the ready file %s\n", ready_file.c_str());
      return 1;
    }
  }
  std::printf("fake-entra listening on %s://%s%s%s\n", plain ? "http" : "https", address.c_str(),
              pki_dir.empty() ? "" : " (CA ", pki_dir.empty() ? "" : (pki_paths(pki_dir).ca_cert + ")").c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  (*server)->stop();
  if (log) {
    for (const auto& r : (*server)->requests())
      std::printf("%llu %s %s %s -> %d\n", static_cast<unsigned long long>(r.connection), r.host.c_str(),
                  r.method.c_str(), r.target.substr(0, 200).c_str(), r.status);
  }
  std::printf("fake-entra: stopped on %s after %zu requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
              (*server)->requests_served());
  return 0;
}
