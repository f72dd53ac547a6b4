// proxy/tls: engines handshaking over memory only, minted leaves checked field by field, the CA
// files' permission rules, the per-host context cache, session resumption, and (when the tools
// exist) the leaf verified by `openssl verify -x509_strict` and a strict Python ssl client.
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy/tls/cert_authority.h"
#include "tests/support/sanitizers.h"
#include "proxy/tls/cert_builder.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/openssl_ptr.h"
#include "proxy/tls/session_cache.h"
#include "proxy/tls/tls_engine.h"

using namespace authscope;

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at scope end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/authscope-tls-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(::mkdtemp(buf.data()) != nullptr);
    path_ = buf.data();
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

mode_t file_mode(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// A CA in its own temp dir, loaded as a CertAuthority.
struct TestCa {
  TempDir dir;
  CaFiles files = ca_files_in(dir.path());
  std::unique_ptr<CertAuthority> ca;
  explicit TestCa(size_t capacity = 512) {
    Status st = ensure_ca(files);
    INFO(st.ToString());
    REQUIRE(st.ok());
    auto loaded = CertAuthority::load(files, capacity);
    INFO(loaded.status().ToString());
    REQUIRE(loaded.ok());
    ca = std::move(loaded).value();
  }
};

SslCtxPtr upstream_context_trusting(const std::string& ca_pem) {
  auto ctx = make_upstream_context(ca_pem);
  INFO(ctx.status().ToString());
  REQUIRE(ctx.ok());
  return SslCtxPtr(*ctx);
}

std::unique_ptr<TlsEngine> client_engine(SSL_CTX* ctx, const std::string& host, uint16_t port = 443) {
  auto engine = TlsEngine::client(ctx, host, port);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

std::unique_ptr<TlsEngine> server_engine(SSL_CTX* ctx) {
  auto engine = TlsEngine::server(ctx);
  INFO(engine.status().ToString());
  REQUIRE(engine.ok());
  return std::move(engine).value();
}

// Moves every pending ciphertext byte from `from` to `to`; returns the count.
size_t shuttle(TlsEngine& from, TlsEngine& to) {
  std::string bytes;
  size_t n = from.drain_ciphertext(bytes);
  if (n > 0) to.feed_ciphertext(bytes.data(), bytes.size());
  return n;
}

struct HandshakeOutcome {
  TlsIo client = TlsIo::kWantIo;
  TlsIo server = TlsIo::kWantIo;
};

// Drives both handshakes over memory until both finish or one fails (bounded rounds).
HandshakeOutcome run_handshake(TlsEngine& client, TlsEngine& server) {
  HandshakeOutcome out;
  for (int round = 0; round < 50; ++round) {
    if (out.client == TlsIo::kWantIo) out.client = client.handshake();
    shuttle(client, server);
    if (out.server == TlsIo::kWantIo) out.server = server.handshake();
    shuttle(server, client);
    const bool client_settled = out.client != TlsIo::kWantIo;
    const bool server_settled = out.server != TlsIo::kWantIo;
    if (client_settled && server_settled) break;
    if (out.client == TlsIo::kFailed && client.pending_ciphertext() == 0 && server_settled) break;
    if (out.server == TlsIo::kFailed && server.pending_ciphertext() == 0 && client_settled) break;
  }
  return out;
}

// Reads everything available on `reader` after shuttling from `writer`.
std::string receive_all(TlsEngine& writer, TlsEngine& reader) {
  shuttle(writer, reader);
  std::string out;
  for (int i = 0; i < 1000; ++i) {
    TlsIo io = reader.read_plaintext(out);
    if (io != TlsIo::kOk) break;
  }
  shuttle(reader, writer);  // tickets, key updates, alerts
  return out;
}

X509* leaf_of(SSL_CTX* ctx) { return SSL_CTX_get0_certificate(ctx); }

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// Seconds from now to an ASN1_TIME (negative: in the past).
long seconds_from_now(const ASN1_TIME* t) {
  int days = 0;
  int secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, t) == 1);
  return static_cast<long>(days) * 86400 + secs;
}

std::string pattern_bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

bool tool_exists(const char* name) {
  std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

const char* const kHost = "login.microsoftonline.com";

}  // namespace

TEST_CASE("client and server handshake over memory with a minted leaf", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  CHECK_FALSE(client->handshake_done());

  HandshakeOutcome hs = run_handshake(*client, *server);
  INFO(client->error() << " / " << server->error());
  REQUIRE(hs.client == TlsIo::kOk);
  REQUIRE(hs.server == TlsIo::kOk);
  CHECK(client->handshake_done());
  CHECK(server->handshake_done());
  CHECK(client->peer_alert().empty());
  CHECK(server->peer_alert().empty());

  TlsPeerInfo up = client->peer_info();
  CHECK(up.version == "TLSv1.3");
  CHECK_FALSE(up.cipher.empty());
  CHECK(up.alpn == "http/1.1");
  CHECK(up.sni == kHost);
  CHECK(up.cert_subject == std::string("CN=") + kHost);
  CHECK(up.cert_issuer.find("CN=authscope CA") != std::string::npos);
  CHECK(up.verify_result == "ok");
  CHECK_FALSE(up.resumed);

  TlsPeerInfo down = server->peer_info();
  CHECK(down.sni == kHost);  // from the ClientHello
  CHECK(down.alpn == "http/1.1");
  CHECK(down.version == up.version);
  CHECK(down.cipher == up.cipher);
  CHECK(down.verify_result.empty());

  SECTION("data both ways") {
    const std::string request = "POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\n\r\n";
    REQUIRE(client->write_plaintext(request.data(), request.size()) == TlsIo::kOk);
    CHECK(receive_all(*client, *server) == request);
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    REQUIRE(server->write_plaintext(response.data(), response.size()) == TlsIo::kOk);
    CHECK(receive_all(*server, *client) == response);
  }

  SECTION("1 MiB each way needs several drain rounds and arrives intact") {
    for (int direction = 0; direction < 2; ++direction) {
      TlsEngine& writer = direction == 0 ? *client : *server;
      TlsEngine& reader = direction == 0 ? *server : *client;
      const std::string payload = pattern_bytes(1 << 20, 7u + static_cast<unsigned>(direction));
      writer.set_ciphertext_limit(64 * 1024);
      TlsIo io = writer.write_plaintext(payload.data(), payload.size());
      CHECK(io == TlsIo::kWantIo);  // the rest is queued inside, never resubmitted by us
      CHECK(writer.pending_plaintext() > 0);
      CHECK(writer.pending_ciphertext() <= 64 * 1024 + 16 * 1024 + 256);
      std::string received;
      int rounds = 0;
      for (; rounds < 1000 && (writer.pending_plaintext() > 0 || writer.pending_ciphertext() > 0); ++rounds) {
        shuttle(writer, reader);
        for (int i = 0; i < 100 && reader.read_plaintext(received, 16 * 1024) == TlsIo::kOk; ++i) {
        }
        io = writer.write_plaintext(nullptr, 0);
        REQUIRE(io != TlsIo::kFailed);
      }
      shuttle(writer, reader);
      for (int i = 0; i < 100 && reader.read_plaintext(received) == TlsIo::kOk; ++i) {
      }
      CHECK(io == TlsIo::kOk);
      CHECK(rounds > 4);
      CHECK(writer.pending_plaintext() == 0);
      REQUIRE(received.size() == payload.size());
      CHECK(received == payload);
    }
  }

  SECTION("without a ciphertext limit a large write is encrypted at once") {
    const std::string payload = pattern_bytes(1 << 20, 3u);
    CHECK(client->write_plaintext(payload.data(), payload.size()) == TlsIo::kOk);
    CHECK(client->pending_plaintext() == 0);
    CHECK(client->pending_ciphertext() > payload.size());
    std::string received;
    shuttle(*client, *server);
    for (int i = 0; i < 100 && server->read_plaintext(received) == TlsIo::kOk; ++i) {
    }
    CHECK(received == payload);
  }

  SECTION("close_notify ends the stream with kClosed") {
    const std::string last = "bye";
    REQUIRE(client->write_plaintext(last.data(), last.size()) == TlsIo::kOk);
    client->shutdown();
    client->shutdown();  // idempotent
    shuttle(*client, *server);
    std::string got;
    TlsIo io = TlsIo::kOk;
    for (int i = 0; i < 10 && io == TlsIo::kOk; ++i) io = server->read_plaintext(got);
    CHECK(io == TlsIo::kClosed);
    CHECK(got == last);
    CHECK(server->close_notify_received());
    CHECK(server->peer_alert().empty());  // close_notify is not a rejection
    CHECK(client->write_plaintext("x", 1) == TlsIo::kFailed);
  }

  SECTION("EOF after the handshake without close_notify is a truncated close") {
    server->feed_eof();
    std::string got;
    TlsIo io = server->read_plaintext(got);
    INFO(server->error());
    CHECK(io == TlsIo::kClosed);
    CHECK_FALSE(server->close_notify_received());
  }
}

TEST_CASE("EOF during the handshake fails with a readable reason", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  REQUIRE(client->handshake() == TlsIo::kWantIo);
  shuttle(*client, *server);
  CHECK(server->handshake() == TlsIo::kWantIo);  // ServerHello flight is out; waits for the client
  server->feed_eof();
  shuttle(*server, *client);
  client->feed_eof();
  REQUIRE(client->handshake() == TlsIo::kOk);  // TLS 1.3: the client finishes first
  // The server never gets the client's Finished: its input ended.
  CHECK(server->handshake() == TlsIo::kFailed);
  CHECK(server->error().find("closed by peer during the handshake") != std::string::npos);
}

TEST_CASE("writes before the handshake completes are queued and flushed once", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  const std::string early = "GET / HTTP/1.1\r\n\r\n";
  CHECK(client->write_plaintext(early.data(), early.size()) == TlsIo::kWantIo);
  CHECK(client->pending_plaintext() == early.size());
  HandshakeOutcome hs = run_handshake(*client, *server);
  REQUIRE(hs.client == TlsIo::kOk);
  REQUIRE(hs.server == TlsIo::kOk);
  CHECK(client->pending_plaintext() == 0);
  CHECK(receive_all(*client, *server) == early);
}

TEST_CASE("upstream hostname mismatch fails verification with a readable error", "[unit][tls]") {
  TestCa ca;
  auto wrong_ctx = ca.ca->server_context_for("wrong.example.net");
  REQUIRE(wrong_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*wrong_ctx);
  HandshakeOutcome hs = run_handshake(*client, *server);
  CHECK(hs.client == TlsIo::kFailed);
  CHECK(client->error() == "certificate verify failed: hostname mismatch");
  TlsPeerInfo info = client->peer_info();
  CHECK(info.verify_result == "hostname mismatch");
  CHECK(info.cert_subject == "CN=wrong.example.net");  // what the upstream presented, for the 502
  CHECK_FALSE(client->local_alert().empty());
  CHECK(hs.server == TlsIo::kFailed);
  CHECK_FALSE(server->peer_alert().empty());
}

TEST_CASE("an untrusted CA fails the client and the server sees the alert", "[unit][tls]") {
  TestCa ours;
  TestCa stranger;  // the client trusts only this one (plus the system store)
  auto server_ctx = ours.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(stranger.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  HandshakeOutcome hs = run_handshake(*client, *server);
  CHECK(hs.client == TlsIo::kFailed);
  CHECK(client->error().rfind("certificate verify failed: ", 0) == 0);
  CHECK(client->local_alert() == "unknown ca");
  // What the proxy turns into "client rejected our certificate (alert: unknown ca)".
  REQUIRE(hs.server == TlsIo::kFailed);
  CHECK(server->peer_alert() == "unknown ca");
  CHECK(server->error() == "TLS handshake failed: peer sent alert \"unknown ca\"");
  CHECK_FALSE(server->handshake_done());
  CHECK(server->handshake() == TlsIo::kFailed);  // sticky
}

TEST_CASE("IP literal upstreams are verified against an iPAddress SAN", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for("127.0.0.1");
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  {
    auto client = client_engine(client_ctx.get(), "127.0.0.1");
    auto server = server_engine(*server_ctx);
    HandshakeOutcome hs = run_handshake(*client, *server);
    INFO(client->error());
    CHECK(hs.client == TlsIo::kOk);
    CHECK(hs.server == TlsIo::kOk);
    CHECK(client->peer_info().sni.empty());  // RFC 6066: no IP literals in SNI
  }
  {
    auto client = client_engine(client_ctx.get(), "127.0.0.2");
    auto server = server_engine(*server_ctx);
    HandshakeOutcome hs = run_handshake(*client, *server);
    CHECK(hs.client == TlsIo::kFailed);
    CHECK(client->error() == "certificate verify failed: IP address mismatch");
  }
  auto v6 = ca.ca->server_context_for("[::1]");
  REQUIRE(v6.ok());
  auto client = client_engine(client_ctx.get(), "::1");
  auto server = server_engine(*v6);
  HandshakeOutcome hs = run_handshake(*client, *server);
  INFO(client->error());
  CHECK(hs.client == TlsIo::kOk);
}

TEST_CASE("ALPN agrees only http/1.1 and proceeds without ALPN otherwise", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  struct Offer { std::vector<unsigned char> wire; std::string expected; };
  const std::vector<Offer> offers = {
      {{2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}, "http/1.1"},
      {{2, 'h', '2'}, ""},  // only h2: no ALPN, the handshake still succeeds
  };
  for (const Offer& offer : offers) {
    auto client = client_engine(client_ctx.get(), kHost);
    REQUIRE(SSL_set_alpn_protos(client->ssl(), offer.wire.data(), static_cast<unsigned>(offer.wire.size())) == 0);
    auto server = server_engine(*server_ctx);
    HandshakeOutcome hs = run_handshake(*client, *server);
    REQUIRE(hs.client == TlsIo::kOk);
    REQUIRE(hs.server == TlsIo::kOk);
    CHECK(server->peer_info().alpn == offer.expected);
    CHECK(client->peer_info().alpn == offer.expected);
  }
  // No ALPN offered at all.
  SslCtxPtr plain(SSL_CTX_new(TLS_client_method()));
  REQUIRE(SSL_CTX_load_verify_locations(plain.get(), ca.files.cert_path.c_str(), nullptr) == 1);
  SSL_CTX_set_verify(plain.get(), SSL_VERIFY_PEER, nullptr);
  auto client = client_engine(plain.get(), kHost);
  auto server = server_engine(*server_ctx);
  HandshakeOutcome hs = run_handshake(*client, *server);
  REQUIRE(hs.server == TlsIo::kOk);
  CHECK(server->peer_info().alpn.empty());
}

TEST_CASE("TLS 1.2 clients work and TLS 1.1 is refused", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  REQUIRE(SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION) == 1);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  HandshakeOutcome hs = run_handshake(*client, *server);
  INFO(client->error() << " / " << server->error());
  REQUIRE(hs.client == TlsIo::kOk);
  REQUIRE(hs.server == TlsIo::kOk);
  CHECK(server->peer_info().version == "TLSv1.2");
  CHECK(client->peer_info().alpn == "http/1.1");

  SslCtxPtr old_ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_security_level(old_ctx.get(), 0);
  REQUIRE(SSL_CTX_set_min_proto_version(old_ctx.get(), TLS1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(old_ctx.get(), TLS1_1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_cipher_list(old_ctx.get(), "DEFAULT:@SECLEVEL=0") == 1);
  auto old_client = client_engine(old_ctx.get(), kHost);
  auto old_server = server_engine(*server_ctx);
  hs = run_handshake(*old_client, *old_server);
  CHECK(hs.server == TlsIo::kFailed);
  CHECK(old_server->error().find("unsupported protocol") != std::string::npos);
}

TEST_CASE("upstream sessions resume per host:port", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  TlsSessionCache* cache = session_cache_of(client_ctx.get());
  REQUIRE(cache != nullptr);
  CHECK(cache->size() == 0);

  for (int tls12 = 0; tls12 < 2; ++tls12) {
    if (tls12) REQUIRE(SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION) == 1);
    auto connect = [&](uint16_t port) {
      auto client = client_engine(client_ctx.get(), kHost, port);
      auto server = server_engine(*server_ctx);
      HandshakeOutcome hs = run_handshake(*client, *server);
      REQUIRE(hs.client == TlsIo::kOk);
      REQUIRE(hs.server == TlsIo::kOk);
      // TLS 1.3 tickets arrive after the handshake: the client sees them on its next read.
      const std::string ping = "ping";
      REQUIRE(server->write_plaintext(ping.data(), ping.size()) == TlsIo::kOk);
      CHECK(receive_all(*server, *client) == ping);
      TlsPeerInfo info = client->peer_info();
      CHECK(info.verify_result == "ok");
      CHECK(info.cert_subject == std::string("CN=") + kHost);  // kept across resumption
      return info.resumed;
    };
    INFO("tls12=" << tls12);
    CHECK_FALSE(connect(443));
    CHECK(cache->size() == 1);
    CHECK(connect(443));
    CHECK(connect(443));           // TLS 1.3 tickets are single use: a fresh one was stored
    CHECK_FALSE(connect(8443));    // another port is another cache slot
    CHECK(cache->size() == 2);
    cache->erase(std::string(kHost) + ":443");
    cache->erase(std::string(kHost) + ":8443");
  }
}

TEST_CASE("session cache is a bounded LRU", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  REQUIRE(SSL_CTX_set_max_proto_version(client_ctx.get(), TLS1_2_VERSION) == 1);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  REQUIRE(run_handshake(*client, *server).client == TlsIo::kOk);
  SSL_SESSION* session = SSL_get1_session(client->ssl());
  REQUIRE(session != nullptr);
  TlsSessionCache cache(2);
  cache.put("a:443", session);
  cache.put("b:443", session);
  SSL_SESSION* got = cache.get("a:443");  // touch a: b is now least recent
  CHECK(got == session);
  SSL_SESSION_free(got);
  cache.put("c:443", session);
  CHECK(cache.size() == 2);
  CHECK(cache.get("b:443") == nullptr);
  got = cache.get("c:443");
  CHECK(got == session);
  SSL_SESSION_free(got);
  SSL_SESSION_free(session);
}

TEST_CASE("minted leaves carry the fields clients check", "[unit][tls]") {
  TestCa ca;
  auto ctx = ca.ca->server_context_for(kHost);
  REQUIRE(ctx.ok());
  X509* leaf = leaf_of(*ctx);
  REQUIRE(leaf != nullptr);
  X509* root = ca.ca->ca_cert();

  // Signed by the CA.
  EVP_PKEY* ca_pub = X509_get0_pubkey(root);
  CHECK(X509_verify(leaf, ca_pub) == 1);
  CHECK(X509_check_issued(root, leaf) == X509_V_OK);
  CHECK(X509_get_version(leaf) == X509_VERSION_3);

  // SAN = DNS:host, not critical because the subject has CN=host.
  CHECK(X509_check_host(leaf, kHost, 0, 0, nullptr) == 1);
  CHECK(X509_check_host(leaf, "other.example", 0, 0, nullptr) == 0);
  int crit = -1;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, nullptr));
  REQUIRE(sans != nullptr);
  REQUIRE(sk_GENERAL_NAME_num(sans) == 1);
  const GENERAL_NAME* san = sk_GENERAL_NAME_value(sans, 0);
  REQUIRE(san->type == GEN_DNS);
  CHECK(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(san->d.dNSName)),
                    static_cast<size_t>(ASN1_STRING_length(san->d.dNSName))) == kHost);
  GENERAL_NAMES_free(sans);
  CHECK(crit == 0);

  // Key identifiers: SKI present, AKI = the CA's SKI.
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(leaf);
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf);
  const ASN1_OCTET_STRING* ca_ski = X509_get0_subject_key_id(root);
  REQUIRE(ski != nullptr);
  REQUIRE(aki != nullptr);
  REQUIRE(ca_ski != nullptr);
  CHECK(ASN1_OCTET_STRING_cmp(aki, ca_ski) == 0);
  CHECK(ASN1_OCTET_STRING_cmp(ski, ca_ski) != 0);

  // CA:FALSE, EKU serverAuth, keyUsage digitalSignature.
  CHECK(X509_check_ca(leaf) == 0);
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, nullptr));
  REQUIRE(bc != nullptr);
  CHECK(bc->ca == 0);
  CHECK(crit == 1);
  BASIC_CONSTRAINTS_free(bc);
  CHECK((X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0);
  CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) != 0);
  CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0);
  CHECK((X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) != 0);
  CHECK((X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN) == 0);
  CHECK(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) == 1);

  // Validity: backdated ~2 days, ~30 days ahead, inside the CA's window.
  CHECK(std::labs(seconds_from_now(X509_get0_notBefore(leaf)) + kLeafBackdateSeconds) < 120);
  CHECK(std::labs(seconds_from_now(X509_get0_notAfter(leaf)) - kLeafValiditySeconds) < 120);
  CHECK(ASN1_TIME_compare(X509_get0_notAfter(leaf), X509_get0_notAfter(root)) <= 0);
  CHECK(ASN1_TIME_compare(X509_get0_notBefore(leaf), X509_get0_notBefore(root)) >= 0);

  // Random positive serials, at least 120 bits, different per mint.
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr);
  REQUIRE(serial != nullptr);
  CHECK_FALSE(BN_is_negative(serial));
  CHECK(BN_num_bits(serial) >= 120);
  auto other = ca.ca->server_context_for("management.azure.com");
  REQUIRE(other.ok());
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(leaf), X509_get0_serialNumber(leaf_of(*other))) != 0);
  BN_free(serial);

  // One leaf key per process: minting never generates keys.
  CHECK(EVP_PKEY_eq(X509_get0_pubkey(leaf), X509_get0_pubkey(leaf_of(*other))) == 1);
  CHECK(EVP_PKEY_is_a(X509_get0_pubkey(leaf), "EC") == 1);

  SECTION("a name longer than 64 bytes has no CN and a critical SAN") {
    const std::string long_name = std::string(60, 'a') + ".example.com";
    auto long_ctx = ca.ca->server_context_for(long_name);
    REQUIRE(long_ctx.ok());
    X509* long_leaf = leaf_of(*long_ctx);
    CHECK(X509_NAME_entry_count(X509_get_subject_name(long_leaf)) == 0);
    int san_crit = -1;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(long_leaf, NID_subject_alt_name, &san_crit, nullptr));
    REQUIRE(names != nullptr);
    GENERAL_NAMES_free(names);
    CHECK(san_crit == 1);
    CHECK(X509_check_host(long_leaf, long_name.c_str(), 0, 0, nullptr) == 1);
  }
  SECTION("an IP literal gets an iPAddress SAN") {
    auto ip_ctx = ca.ca->server_context_for("10.1.2.3");
    REQUIRE(ip_ctx.ok());
    CHECK(X509_check_ip_asc(leaf_of(*ip_ctx), "10.1.2.3", 0) == 1);
    CHECK(X509_check_ip_asc(leaf_of(*ip_ctx), "10.1.2.4", 0) == 0);
  }
}

TEST_CASE("the CA certificate is a proper root", "[unit][tls]") {
  TestCa ca;
  X509* root = ca.ca->ca_cert();
  CHECK(X509_check_ca(root) == 1);
  CHECK(X509_check_issued(root, root) == X509_V_OK);
  CHECK(X509_verify(root, X509_get0_pubkey(root)) == 1);
  char cn[64] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(root), NID_commonName, cn, sizeof cn);
  CHECK(std::string(cn) == "authscope CA");
  int crit = -1;
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(root, NID_basic_constraints, &crit, nullptr));
  REQUIRE(bc != nullptr);
  CHECK(bc->ca != 0);
  CHECK(crit == 1);
  BASIC_CONSTRAINTS_free(bc);
  CHECK(X509_get_key_usage(root) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  CHECK(X509_get0_subject_key_id(root) != nullptr);
  long ahead = seconds_from_now(X509_get0_notAfter(root));
  CHECK(ahead > 9L * 365 * 86400);
  CHECK(ahead <= kCaValiditySeconds + 60);
  CHECK(EVP_PKEY_is_a(X509_get0_pubkey(root), "EC") == 1);
}

TEST_CASE("server contexts are cached per host in a bounded LRU", "[unit][tls]") {
  TestCa ca(/*capacity=*/2);
  auto a1 = ca.ca->server_context_for("a.example");
  REQUIRE(a1.ok());
  CHECK(ca.ca->minted() == 1);
  auto a2 = ca.ca->server_context_for("a.example");
  REQUIRE(a2.ok());
  CHECK(*a1 == *a2);
  auto a3 = ca.ca->server_context_for("A.Example.");  // same certificate name
  REQUIRE(a3.ok());
  CHECK(*a3 == *a1);
  CHECK(ca.ca->minted() == 1);

  // An engine made from a.example keeps its context alive across eviction.
  auto live_server = server_engine(*a1);
  auto b = ca.ca->server_context_for("b.example");
  REQUIRE(b.ok());
  REQUIRE(ca.ca->server_context_for("a.example").ok());  // a is now most recent, b least
  auto c = ca.ca->server_context_for("c.example");
  REQUIRE(c.ok());
  CHECK(ca.ca->cached() == 2);
  CHECK(ca.ca->minted() == 3);
  REQUIRE(ca.ca->server_context_for("a.example").ok());
  CHECK(ca.ca->minted() == 3);                             // a survived (recently used)
  REQUIRE(ca.ca->server_context_for("b.example").ok());
  CHECK(ca.ca->minted() == 4);                             // b was evicted, minted again
  CHECK(ca.ca->cached() == 2);
  REQUIRE(ca.ca->server_context_for("c.example").ok());   // c was evicted by b
  CHECK(ca.ca->minted() == 5);
  // Now a.example is evicted too; the live engine still handshakes with its context.
  CHECK(ca.ca->cached() == 2);
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), "a.example");
  HandshakeOutcome hs = run_handshake(*client, *live_server);
  CHECK(hs.client == TlsIo::kOk);
  CHECK(hs.server == TlsIo::kOk);
}

TEST_CASE("invalid certificate names are refused", "[unit][tls]") {
  const std::vector<std::string> bad = {
      "",
      std::string("login\0.example", 14),
      "login.example\r\nX: y",
      "login.example\n",
      "*.example.com",
      "a*.example.com",
      "login example.com",
      "a..b",
      ".example.com",
      "example.com..",
      "-a.example.com",
      "a-.example.com",
      std::string(64, 'a') + ".com",
      std::string(250, 'a').replace(60, 1, ".").replace(120, 1, ".").replace(180, 1, ".").replace(240, 1, ".") + ".com",
      "[127.0.0.1]",
      "exa/mple.com",
      "user@example.com",
      "example.com:443",
  };
  TestCa ca;
  for (const std::string& name : bad) {
    INFO("name: " << name);
    CHECK_FALSE(valid_certificate_name(name));
    Status st = check_certificate_name(name);
    CHECK_FALSE(st.ok());
    CHECK_FALSE(st.message().empty());
    auto ctx = ca.ca->server_context_for(name);
    CHECK_FALSE(ctx.ok());
    SslCtxPtr client_ctx = upstream_context_trusting("");
    CHECK_FALSE(TlsEngine::client(client_ctx.get(), name).ok());
  }
  CHECK(ca.ca->minted() == 0);
  CHECK(check_certificate_name("*.example.com").message().find("'*'") != std::string::npos);

  const std::vector<std::string> good = {
      "login.microsoftonline.com", "management.azure.com.", "a_b.example", "localhost", "127.0.0.1",
      "::1", "[::1]", "2001:db8::1", "xn--bcher-kva.example", std::string(63, 'a') + ".com",
      std::string(249, 'a').replace(60, 1, ".").replace(120, 1, ".").replace(180, 1, ".").replace(240, 1, ".") + ".com",
  };
  for (const std::string& name : good) {
    INFO("name: " << name);
    CHECK(valid_certificate_name(name));
    CHECK(ca.ca->server_context_for(name).ok());
  }
}

TEST_CASE("ensure_ca creates, keeps, refuses and regenerates the CA files", "[unit][tls]") {
  TempDir dir;
  const std::string home = dir.file("home");  // does not exist yet: created 0700
  CaFiles files = ca_files_in(home + "/");
  CHECK(files.cert_path == home + "/ca.pem");
  CHECK(files.key_path == home + "/ca.key");

  REQUIRE(ensure_ca(files).ok());
  CHECK(file_mode(home) == 0700);
  CHECK(file_mode(files.key_path) == 0600);
  CHECK(file_mode(files.cert_path) == 0644);
  const std::string cert1 = read_file(files.cert_path);
  const std::string key1 = read_file(files.key_path);
  CHECK(cert1.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(key1.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);

  SECTION("a second call keeps the existing CA") {
    REQUIRE(ensure_ca(files).ok());
    CHECK(read_file(files.cert_path) == cert1);
    CHECK(read_file(files.key_path) == key1);
  }
  SECTION("a key readable by group or others is refused") {
    for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
      INFO("mode " << std::oct << mode);
      REQUIRE(::chmod(files.key_path.c_str(), mode) == 0);
      Status st = ensure_ca(files);
      CHECK_FALSE(st.ok());
      CHECK(st.message().find("group or others") != std::string::npos);
      CHECK(st.message().find("chmod 600") != std::string::npos);
      CHECK_FALSE(CertAuthority::load(files).ok());
    }
    REQUIRE(::chmod(files.key_path.c_str(), 0400) == 0);  // owner read-only is fine
    CHECK(ensure_ca(files).ok());
    CHECK(read_file(files.key_path) == key1);
  }
  SECTION("an existing key is never overwritten when the certificate is missing") {
    REQUIRE(::unlink(files.cert_path.c_str()) == 0);
    Status st = ensure_ca(files);
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("--regenerate") != std::string::npos);
    CHECK(read_file(files.key_path) == key1);
    CHECK(::access(files.cert_path.c_str(), F_OK) != 0);
  }
  SECTION("a certificate that does not match the key is refused") {
    TestCa other;
    REQUIRE(std::system(("cp '" + other.files.cert_path + "' '" + files.cert_path + "'").c_str()) == 0);
    Status st = ensure_ca(files);
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("does not match") != std::string::npos);
  }
  SECTION("regenerate replaces both files") {
    REQUIRE(::chmod(files.key_path.c_str(), 0644) == 0);  // even a refused key can be replaced
    REQUIRE(ensure_ca(files, /*regenerate=*/true).ok());
    CHECK(read_file(files.cert_path) != cert1);
    CHECK(read_file(files.key_path) != key1);
    CHECK(file_mode(files.key_path) == 0600);
    REQUIRE(CertAuthority::load(files).ok());
    // No temporary files left behind.
    std::string listing;
    FILE* ls = ::popen(("ls -A '" + home + "'").c_str(), "r");
    REQUIRE(ls != nullptr);
    char line[256];
    while (std::fgets(line, sizeof line, ls) != nullptr) listing += line;
    ::pclose(ls);
    CHECK(listing == "ca.key\nca.pem\n");
  }
}

TEST_CASE("make_upstream_context refuses a missing or empty --upstream-ca", "[unit][tls]") {
  TempDir dir;
  auto missing = make_upstream_context(dir.file("nope.pem"));
  CHECK_FALSE(missing.ok());
  CHECK(missing.status().message().find("nope.pem") != std::string::npos);
  { std::ofstream(dir.file("empty.pem")) << "not a certificate\n"; }
  auto empty = make_upstream_context(dir.file("empty.pem"));
  CHECK_FALSE(empty.ok());
  auto system_only = make_upstream_context("");
  REQUIRE(system_only.ok());
  CHECK(SSL_CTX_get_verify_mode(*system_only) == SSL_VERIFY_PEER);
  CHECK(SSL_CTX_get_min_proto_version(*system_only) == TLS1_2_VERSION);
  SSL_CTX_free(*system_only);
}

TEST_CASE("a minted leaf passes openssl verify -x509_strict", "[unit][tls]") {
  if (!tool_exists("openssl")) {
    WARN("skipped: the openssl command line tool is not installed");
    return;
  }
  TestCa ca;
  auto ctx = ca.ca->server_context_for(kHost);
  REQUIRE(ctx.ok());
  const std::string leaf_path = ca.dir.file("leaf.pem");
  { std::ofstream(leaf_path) << pem_of(leaf_of(*ctx)); }
  const std::string cmd = "openssl verify -x509_strict -purpose sslserver -verify_hostname " + std::string(kHost) +
                          " -CAfile '" + ca.files.cert_path + "' '" + leaf_path + "' 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  int rc = ::pclose(pipe);
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.find(": OK") != std::string::npos);
}

namespace {

// Serves one TLS connection on an accepted blocking socket with a TlsEngine: once the request
// ("ping" or an HTTP head) arrived, answers an HTTP response with body "pong", then sends
// close_notify. Bounded by `deadline`. Returns "ok" or what went wrong.
std::string serve_one(int fd, SSL_CTX* ctx, std::chrono::steady_clock::time_point deadline) {
  auto server = server_engine(ctx);
  std::string plain;
  bool answered = false;
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    std::string out;
    server->drain_ciphertext(out);
    if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      server->feed_eof();
    } else {
      server->feed_ciphertext(buf, static_cast<size_t>(n));
    }
    if (!server->handshake_done()) {
      TlsIo io = server->handshake();
      if (io == TlsIo::kFailed) return "handshake failed: " + server->error();
    }
    if (server->handshake_done()) {
      TlsIo io = server->read_plaintext(plain);
      if (!answered && (plain.find("ping") != std::string::npos || plain.find("\r\n\r\n") != std::string::npos)) {
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong";
        server->write_plaintext(response.data(), response.size());
        server->shutdown();
        answered = true;
      }
      if (io == TlsIo::kClosed || io == TlsIo::kFailed) break;
    }
    if (n <= 0) break;
  }
  std::string out;
  server->drain_ciphertext(out);
  if (!out.empty()) (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  return answered ? "ok" : "no request: " + server->error();
}

// Listens on 127.0.0.1:0, runs `command_for(port)` through /bin/sh (stdout+stderr to `out_path`)
// and serves its one connection with serve_one. Returns the child's exit status and what the
// server saw.
struct ExternalClientRun {
  int exit_code = -1;
  std::string served;
  std::string output;
};

ExternalClientRun run_external_client(SSL_CTX* ctx, const std::function<std::string(int)>& command_for,
                                      const std::string& out_path, int timeout_s = 20) {
  ExternalClientRun run;
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string cmd =
      "timeout " + std::to_string(timeout_s) + " " + command_for(ntohs(addr.sin_port)) + " > '" + out_path + "' 2>&1";
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(listener);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  pollfd p{listener, POLLIN, 0};
  run.served = "no connection";
  if (::poll(&p, 1, timeout_s * 1000) == 1) {
    int fd = ::accept(listener, nullptr, nullptr);
    REQUIRE(fd >= 0);
    run.served = serve_one(fd, ctx, deadline);
    ::close(fd);
  }
  ::close(listener);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.output = read_file(out_path);
  return run;
}

}  // namespace

TEST_CASE("a strict Python ssl client accepts the minted leaf", "[unit][tls]") {
  if (!tool_exists("python3")) {
    WARN("skipped: python3 is not installed");
    return;
  }
  TestCa ca;
  auto ctx = ca.ca->server_context_for(kHost);
  REQUIRE(ctx.ok());
  // Python 3.13 turns on VERIFY_X509_STRICT by default (it rejects leaves without an AKI);
  // set it explicitly so older Pythons check the same thing.
  const std::string script =
      "import socket, ssl, sys\n"
      "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
      "ctx.verify_flags |= ssl.VERIFY_X509_STRICT\n"
      "ctx.set_alpn_protocols(['h2', 'http/1.1'])\n"
      "with socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10) as raw:\n"
      "    with ctx.wrap_socket(raw, server_hostname=sys.argv[3]) as s:\n"
      "        s.sendall(b'ping')\n"
      "        data = b''\n"
      "        while not data.endswith(b'pong'):\n"
      "            chunk = s.recv(256)\n"
      "            if not chunk: break\n"
      "            data += chunk\n"
      "        print(s.version(), s.selected_alpn_protocol(), data.decode().split('\\r\\n')[-1])\n";
  const std::string script_path = ca.dir.file("client.py");
  { std::ofstream(script_path) << script; }
  ExternalClientRun run = run_external_client(
      *ctx,
      [&](int port) {
        return "python3 '" + script_path + "' " + std::to_string(port) + " '" + ca.files.cert_path + "' " + kHost;
      },
      ca.dir.file("client.out"));
  INFO("python: " << run.output << " server: " << run.served);
  CHECK(run.served == "ok");
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("http/1.1 pong") != std::string::npos);
}

TEST_CASE("curl trusts the minted leaf with --cacert", "[unit][tls]") {
  if (!tool_exists("curl")) {
    WARN("skipped: curl is not installed");
    return;
  }
  TestCa ca;
  auto ctx = ca.ca->server_context_for(kHost);
  REQUIRE(ctx.ok());
  ExternalClientRun run = run_external_client(
      *ctx,
      [&](int port) {
        const std::string hp = std::string(kHost) + ":" + std::to_string(port);
        return "curl -sS --http1.1 --cacert '" + ca.files.cert_path + "' --resolve " + hp + ":127.0.0.1 https://" + hp +
               "/common/discovery/keys";
      },
      ca.dir.file("curl.out"));
  INFO("curl: " << run.output << " server: " << run.served);
  CHECK(run.served == "ok");
  CHECK(run.exit_code == 0);
  CHECK(run.output == "pong");
}

TEST_CASE("Node and Go clients trust the minted leaf", "[unit][tls]") {
  TestCa ca;
  auto ctx = ca.ca->server_context_for(kHost);
  REQUIRE(ctx.ok());
  SECTION("node") {
    if (!tool_exists("node")) {
      WARN("skipped: node is not installed");
      return;
    }
    const std::string script =
        "const tls = require('tls'), fs = require('fs');\n"
        "const [port, ca, host] = process.argv.slice(2);\n"
        "const s = tls.connect({host: '127.0.0.1', port: +port, servername: host, ca: fs.readFileSync(ca),\n"
        "                       ALPNProtocols: ['http/1.1']}, () => { alpn = s.alpnProtocol; s.write('ping'); });\n"
        "let alpn = '', data = '';\n"
        "s.on('data', c => data += c);\n"
        "s.on('end', () => console.log(alpn + ' ' + data.split('\\r\\n').pop()));\n"
        "s.on('error', e => { console.log('error: ' + e.message); process.exit(1); });\n";
    const std::string path = ca.dir.file("client.js");
    { std::ofstream(path) << script; }
    ExternalClientRun run = run_external_client(
        *ctx,
        [&](int port) { return "node '" + path + "' " + std::to_string(port) + " '" + ca.files.cert_path + "' " + kHost; },
        ca.dir.file("node.out"));
    INFO("node: " << run.output << " server: " << run.served);
    CHECK(run.served == "ok");
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("http/1.1 pong") != std::string::npos);
  }
  SECTION("go (crypto/x509 is the strictest certificate parser of the client families)") {
    if (!tool_exists("go")) {
      WARN("skipped: go is not installed");
      return;
    }
    const std::string program =
        "package main\n"
        "import (\"crypto/tls\"; \"crypto/x509\"; \"fmt\"; \"io\"; \"os\"; \"strings\")\n"
        "func main() {\n"
        "  pem, err := os.ReadFile(os.Args[2]); if err != nil { fmt.Println(err); os.Exit(2) }\n"
        "  pool := x509.NewCertPool(); if !pool.AppendCertsFromPEM(pem) { fmt.Println(\"bad CA\"); os.Exit(2) }\n"
        "  c, err := tls.Dial(\"tcp\", \"127.0.0.1:\"+os.Args[1], &tls.Config{RootCAs: pool, ServerName: os.Args[3],\n"
        "    NextProtos: []string{\"http/1.1\"}})\n"
        "  if err != nil { fmt.Println(\"error:\", err); os.Exit(1) }\n"
        "  c.Write([]byte(\"ping\"))\n"
        "  b, _ := io.ReadAll(c)\n"
        "  parts := strings.Split(string(b), \"\\r\\n\")\n"
        "  fmt.Println(c.ConnectionState().NegotiatedProtocol, parts[len(parts)-1])\n"
        "}\n";
    const std::string path = ca.dir.file("client.go");
    { std::ofstream(path) << program; }
    const std::string env = "env GOCACHE='" + ca.dir.file("gocache") + "' GOPATH='" + ca.dir.file("gopath") +
                            "' GO111MODULE=off GOFLAGS= ";
    ExternalClientRun run = run_external_client(
        *ctx,
        [&](int port) {
          return env + "go run '" + path + "' " + std::to_string(port) + " '" + ca.files.cert_path + "' " + kHost;
        },
        ca.dir.file("go.out"), /*timeout_s=*/240);
    INFO("go: " << run.output << " server: " << run.served);
    CHECK(run.served == "ok");
    CHECK(run.exit_code == 0);
    CHECK(run.output.find("http/1.1 pong") != std::string::npos);
  }
}

TEST_CASE("ClientHello peek finds SNI and ALPN without TLS state", "[unit][tls]") {
  SslCtxPtr client_ctx = upstream_context_trusting("");
  auto client = client_engine(client_ctx.get(), kHost);
  REQUIRE(client->handshake() == TlsIo::kWantIo);
  std::string hello;
  REQUIRE(client->drain_ciphertext(hello) > 0);

  ClientHelloInfo info;
  REQUIRE(peek_client_hello(hello.data(), hello.size(), &info) == ClientHelloPeek::kOk);
  CHECK(info.sni == kHost);
  CHECK(info.alpn == std::vector<std::string>{"http/1.1"});

  for (size_t cut = 0; cut < hello.size(); ++cut) {
    ClientHelloInfo partial;
    INFO("prefix " << cut);
    REQUIRE(peek_client_hello(hello.data(), cut, &partial) == ClientHelloPeek::kNeedMore);
  }

  // The same handshake message split over two records is reassembled.
  const size_t frag = (static_cast<unsigned char>(hello[3]) << 8) | static_cast<unsigned char>(hello[4]);
  REQUIRE(frag + 5 == hello.size());
  const std::string msg = hello.substr(5);
  auto record = [&](const std::string& body) {
    std::string r = hello.substr(0, 3);
    r += static_cast<char>(body.size() >> 8);
    r += static_cast<char>(body.size() & 0xff);
    return r + body;
  };
  const std::string split = record(msg.substr(0, 40)) + record(msg.substr(40));
  ClientHelloInfo joined;
  REQUIRE(peek_client_hello(split.data(), split.size(), &joined) == ClientHelloPeek::kOk);
  CHECK(joined.sni == kHost);

  // An IP-literal client sends no SNI.
  auto ip_client = client_engine(client_ctx.get(), "127.0.0.1");
  REQUIRE(ip_client->handshake() == TlsIo::kWantIo);
  std::string ip_hello;
  ip_client->drain_ciphertext(ip_hello);
  ClientHelloInfo ip_info;
  REQUIRE(peek_client_hello(ip_hello.data(), ip_hello.size(), &ip_info) == ClientHelloPeek::kOk);
  CHECK(ip_info.sni.empty());

  const std::string http = "GET http://example.com/ HTTP/1.1\r\n";
  CHECK(peek_client_hello(http.data(), http.size(), &info) == ClientHelloPeek::kNotTls);
  std::string not_hello = hello;
  not_hello[5] = 2;  // a ServerHello type
  CHECK(peek_client_hello(not_hello.data(), not_hello.size(), &info) == ClientHelloPeek::kMalformed);

  // Corrupted hellos never crash or read out of bounds (run under ASan in CI's sanitize build).
  unsigned x = 12345;
  int ok = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string mutated = hello;
    for (int flips = 0; flips < 3; ++flips) {
      x = x * 1103515245u + 12345u;
      size_t pos = 5 + (x >> 8) % (mutated.size() - 5);
      mutated[pos] = static_cast<char>(x >> 24);
    }
    ClientHelloInfo any;
    ClientHelloPeek r = peek_client_hello(mutated.data(), mutated.size(), &any);
    if (r == ClientHelloPeek::kOk) ++ok;
    CHECK(any.sni.size() <= mutated.size());
  }
  CHECK(ok > 0);
}

namespace {

// A clock over CLOCK_PROCESS_CPUTIME_ID: the timings below measure work, not waiting for a core.
struct CpuClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<CpuClock>;
  static time_point now() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return time_point(duration(static_cast<rep>(ts.tv_sec) * 1000000000 + ts.tv_nsec));
  }
};

}  // namespace

TEST_CASE("TLS timings (mint, full and resumed handshake pairs)", "[.][perf][tls]") {
  TestCa ca(/*capacity=*/4096);
  using Clock = CpuClock;  // CPU time of this process: meaningful on a loaded machine
  constexpr int kMints = 500;
  auto t0 = Clock::now();
  for (int i = 0; i < kMints; ++i) REQUIRE(ca.ca->server_context_for("host" + std::to_string(i) + ".example").ok());
  auto t1 = Clock::now();
  const double mint_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / kMints;

  // The parts of a mint: the certificate (one ECDSA signature) and the SSL_CTX around it.
  auto leaf_key = generate_p256_leaf_key();
  REQUIRE(leaf_key.ok());
  auto tmpl = make_leaf_template(ca.ca->ca_cert(), leaf_key->get());
  REQUIRE(tmpl.ok());
  EVP_PKEY* ca_key = nullptr;
  {
    BioPtr bio(BIO_new_file(ca.files.key_path.c_str(), "r"));
    ca_key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    REQUIRE(ca_key != nullptr);
  }
  auto t2 = Clock::now();
  for (int i = 0; i < kMints; ++i) {
    REQUIRE(build_leaf_certificate("h" + std::to_string(i) + ".example", *tmpl, ca.ca->ca_cert(), ca_key,
                                   leaf_key->get(), std::time(nullptr)).ok());
  }
  auto t3 = Clock::now();
  for (int i = 0; i < kMints; ++i) SSL_CTX_free(SSL_CTX_new(TLS_server_method()));
  auto t4 = Clock::now();
  EVP_PKEY_free(ca_key);
  const double cert_us = std::chrono::duration<double, std::micro>(t3 - t2).count() / kMints;
  const double ctx_us = std::chrono::duration<double, std::micro>(t4 - t3).count() / kMints;

  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto pair_us = [&](bool resume, int n) {
    auto start = Clock::now();
    for (int i = 0; i < n; ++i) {
      if (!resume) session_cache_of(client_ctx.get())->erase(std::string(kHost) + ":443");
      auto client = client_engine(client_ctx.get(), kHost);
      auto server = server_engine(*server_ctx);
      HandshakeOutcome hs = run_handshake(*client, *server);
      REQUIRE(hs.client == TlsIo::kOk);
      REQUIRE(hs.server == TlsIo::kOk);
      server->write_plaintext("x", 1);
      REQUIRE(receive_all(*server, *client) == "x");
      if (resume && i > 0) REQUIRE(client->peer_info().resumed);
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
  };
  const double full_us = pair_us(false, 300);
  const double resumed_us = pair_us(true, 300);
  std::cout << "CPU time per operation\nmint (leaf + SSL_CTX): " << mint_us << " us (certificate " << cert_us << " us, bare SSL_CTX_new "
            << ctx_us << " us)\n"
            << "full handshake pair (client+server, TLS 1.3, P-256): " << full_us << " us\n"
            << "resumed handshake pair: " << resumed_us << " us\n";
  CHECK(mint_us > 0);
}

// mallinfo2 counts what the heap has handed out; ASan replaces the heap, so the byte count is
// asserted in normal builds only (the connection-keeps-working part runs everywhere).
constexpr bool kHeapIsGlibc = !authscope::testing::kAddressSanitizer;

TEST_CASE("an idle engine gives back its record buffers and grown BIOs, and keeps working", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  HandshakeOutcome hs = run_handshake(*client, *server);
  REQUIRE(hs.client == TlsIo::kOk);
  REQUIRE(hs.server == TlsIo::kOk);
  // A large response grows both memory BIOs; reading it also takes in the TLS 1.3
  // NewSessionTicket, after which OpenSSL keeps a 16 KB read buffer although nothing is left.
  const std::string request = "GET / HTTP/1.1\r\nHost: " + std::string(kHost) + "\r\n\r\n";
  REQUIRE(client->write_plaintext(request.data(), request.size()) == TlsIo::kOk);
  REQUIRE(receive_all(*client, *server) == request);
  const std::string big = pattern_bytes(256 * 1024, 3);
  REQUIRE(server->write_plaintext(big.data(), big.size()) == TlsIo::kOk);
  REQUIRE(receive_all(*server, *client) == big);

  const size_t before = mallinfo2().uordblks;
  client->release_idle_memory();
  server->release_idle_memory();
  const size_t after = mallinfo2().uordblks;
  if (kHeapIsGlibc) {
    INFO("heap before " << before << ", after " << after);
    CHECK(before > after + 16 * 1024);
  }
  // Calling it again on an engine with nothing to give is harmless.
  client->release_idle_memory();

  // Both directions still work, large and small, on the fresh BIOs.
  const std::string again = pattern_bytes(100 * 1024, 5);
  REQUIRE(client->write_plaintext(again.data(), again.size()) == TlsIo::kOk);
  CHECK(receive_all(*client, *server) == again);
  const std::string reply = "HTTP/1.1 204 No Content\r\n\r\n";
  REQUIRE(server->write_plaintext(reply.data(), reply.size()) == TlsIo::kOk);
  CHECK(receive_all(*server, *client) == reply);
}

TEST_CASE("release_idle_memory keeps bytes that are still buffered", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  SslCtxPtr client_ctx = upstream_context_trusting(ca.files.cert_path);
  auto client = client_engine(client_ctx.get(), kHost);
  auto server = server_engine(*server_ctx);
  REQUIRE(run_handshake(*client, *server).server == TlsIo::kOk);
  // Ciphertext waiting in the client's write BIO and in the server's read BIO must survive.
  const std::string first = pattern_bytes(40 * 1024, 9);
  REQUIRE(client->write_plaintext(first.data(), first.size()) == TlsIo::kOk);
  client->release_idle_memory();  // wbio not empty: kept
  std::string wire;
  client->drain_ciphertext(wire);
  server->feed_ciphertext(wire.data(), wire.size());
  server->release_idle_memory();  // rbio not empty: kept
  std::string got;
  for (int i = 0; i < 20 && got.size() < first.size(); ++i) {
    if (server->read_plaintext(got) != TlsIo::kOk) break;
  }
  CHECK(got == first);
}

namespace {
// Sets an environment variable for one scope (the trust store reads SSL_CERT_DIR/SSL_CERT_FILE).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The CA certificate under its subject-hash name in `dir`, as `openssl rehash` would place it.
void place_hashed(const std::string& ca_pem_path, const std::string& dir) {
  BioPtr in(BIO_new_file(ca_pem_path.c_str(), "r"));
  REQUIRE(in);
  X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  REQUIRE(cert);
  char name[16];
  std::snprintf(name, sizeof name, "%08lx.0", X509_subject_name_hash(cert.get()));
  std::ofstream(dir + "/" + name) << read_file(ca_pem_path);
}
}  // namespace

TEST_CASE("the system trust store: a hashed SSL_CERT_DIR is honoured (read lazily), and only it", "[unit][tls]") {
  TestCa ca;
  auto server_ctx = ca.ca->server_context_for(kHost);
  REQUIRE(server_ctx.ok());
  TempDir trusted, other;
  place_hashed(ca.files.cert_path, trusted.path());
  TestCa unrelated;  // some other CA, hashed in a directory that does not hold ours
  place_hashed(unrelated.files.cert_path, other.path());
  ScopedEnv no_file("SSL_CERT_FILE", nullptr);
  // A handshake to our minted leaf from an upstream context built without --upstream-ca.
  auto handshake_with_system_trust = [&] {
    SslCtxPtr client_ctx = upstream_context_trusting("");
    auto client = client_engine(client_ctx.get(), kHost);
    auto server = server_engine(*server_ctx);
    HandshakeOutcome hs = run_handshake(*client, *server);
    UNSCOPED_INFO(client->error());
    return std::make_pair(hs.client, client->peer_info().verify_result);
  };

  SECTION("our CA in the hashed directory: verified without --upstream-ca") {
    ScopedEnv dir("SSL_CERT_DIR", trusted.path().c_str());
    CHECK(handshake_with_system_trust() == std::make_pair(TlsIo::kOk, std::string("ok")));
  }
  SECTION("a hashed directory without it: refused") {
    ScopedEnv dir("SSL_CERT_DIR", other.path().c_str());
    CHECK(handshake_with_system_trust().first == TlsIo::kFailed);
  }
  SECTION("SSL_CERT_FILE still names a bundle that is trusted") {
    ScopedEnv dir("SSL_CERT_DIR", other.path().c_str());
    ScopedEnv file("SSL_CERT_FILE", ca.files.cert_path.c_str());
    CHECK(handshake_with_system_trust().first == TlsIo::kOk);
  }
}
