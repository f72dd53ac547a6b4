// loadgen: the benchmark's HTTP/1.1-over-TLS load generator (issue 6).
//
// One epoll loop per thread, non-blocking sockets, OpenSSL on the socket fd. Each concurrency slot
// sends the Entra request mix in turn: a token POST (600-byte form body) to
// login.microsoftonline.com/{tenant}/oauth2/v2.0/token, then an ARM GET (1.5 KB bearer header) to
// management.azure.com/subscriptions/..., and so on. A slot keeps one connection per host when
// keep-alive is on; with keep-alive off every request opens a new TCP+TLS connection (and a new
// CONNECT when --proxy is set). The TLS SNI and Host stay the logical host; --connect only
// overrides where the TCP connection goes (like curl --connect-to).
//
// --idle N opens N connections (through the proxy), does one request on each, then holds them open
// for -d seconds, so the caller can measure the proxy's memory per idle intercepted connection.
//
// Output: one JSON object on stdout (requests, errors, req_per_s, p50_us, p99_us, ...).
// Everything is bounded: the run ends at -d seconds, in-flight requests get a drain window, and a
// request that takes longer than --timeout seconds counts as an error.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench/response_reader.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using authscope::bench::ResponseReader;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kLoginHost = "login.microsoftonline.com";
constexpr const char* kArmHost = "management.azure.com";
constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr const char* kSubscription = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
constexpr size_t kMaxLatencySamples = 20'000'000;

std::atomic<bool> g_stop{false};

struct Options {
  std::string proxy_host;
  uint16_t proxy_port = 0;
  std::string connect_host = "127.0.0.1";  // where the TCP connection goes without --proxy
  uint16_t connect_port = 443;
  uint16_t logical_port = 443;             // the port in CONNECT and Host
  std::string ca_file;
  int concurrency = 1;
  double duration = 5.0;
  bool keepalive = true;
  bool resume = false;
  int threads = 1;
  int idle = 0;
  double timeout = 10.0;
  std::string only;  // "", "token" or "arm": restrict the mix
};

// ---------------------------------------------------------------------------------------------
// The request mix.

std::string b64url(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
  }
  return out;
}

// A JWT-shaped ARM access token, so the proxy's token decoding does realistic work. The signature
// is filler: nothing here verifies it.
std::string arm_bearer_token(size_t target_len) {
  // Valid for the run (issued a minute ago, expires in 4 h), so no expired-token finding fires.
  const long long now = static_cast<long long>(std::time(nullptr));
  std::string header = R"({"typ":"JWT","alg":"RS256","x5t":"bench-kid","kid":"bench-kid"})";
  std::string payload = std::string(R"({"aud":"https://management.azure.com/","iss":"https://sts.windows.net/)") +
                        kTenant + R"(/","iat":)" + std::to_string(now - 60) + R"(,"nbf":)" + std::to_string(now - 60) +
                        R"(,"exp":)" + std::to_string(now + 4 * 3600) + "," +
                        R"("appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46","idtyp":"user","name":"Bench User",)" +
                        R"("oid":"4f1c2b8e-9d1a-4c7e-8a55-0c3f7e2d9b10","scp":"user_impersonation",)" +
                        R"("tid":")" + kTenant + R"(","upn":"bench@contoso.example","ver":"1.0","pad":")";
  std::string sig(256, '\x5a');
  size_t fixed = b64url(header).size() + b64url(sig).size() + 2;
  while (fixed + b64url(payload + "\"}").size() < target_len) payload += 'x';
  return b64url(header) + "." + b64url(payload + "\"}") + "." + b64url(sig);
}

std::string token_request() {
  std::string body = std::string("client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&grant_type=refresh_token") +
                     "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default+offline_access+openid+profile" +
                     "&client_info=1&refresh_token=";
  while (body.size() < 600) body += 'R';
  std::string req = std::string("POST /") + kTenant + "/oauth2/v2.0/token HTTP/1.1\r\n" +
                    "Host: " + kLoginHost + "\r\n" +
                    "User-Agent: authscope-loadgen/1\r\n" +
                    "Accept: application/json\r\n" +
                    "Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n" +
                    "x-client-SKU: MSAL.Python\r\nx-client-Ver: 1.20.0\r\n" +
                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return req;
}

std::string arm_request() {
  return std::string("GET /subscriptions/") + kSubscription +
         "/resourcegroups?api-version=2021-04-01 HTTP/1.1\r\n" + "Host: " + kArmHost + "\r\n" +
         "User-Agent: authscope-loadgen/1\r\n" + "Accept: application/json\r\n" +
         "x-ms-client-request-id: 6c2e1f0a-3b4d-4e5f-8a9b-0c1d2e3f4a5b\r\n" +
         "Authorization: Bearer " + arm_bearer_token(1500 - 22) + "\r\n\r\n";
}

// ---------------------------------------------------------------------------------------------
// Connections and slots.

struct Worker;

struct Conn {
  enum class State { Closed, Connecting, ProxyWrite, ProxyRead, Handshake, Write, Read, Hold };
  State state = State::Closed;
  int fd = -1;
  SSL* ssl = nullptr;
  int host_index = 0;  // 0 = login, 1 = ARM
  std::string proxy_buf;
  size_t out_off = 0;
  ResponseReader reader;
  int slot = 0;
  uint32_t events = 0;
};

struct Slot {
  Conn conns[2];
  uint64_t counter = 0;
  int current = -1;  // index of the connection carrying the in-flight request, or -1
  Clock::time_point started;
  bool hold_after_one = false;
  bool done_one = false;
};

struct Stats {
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t connections = 0;
  uint64_t bytes_in = 0;
  std::vector<uint32_t> latencies_us;
  std::vector<std::string> error_samples;
};

struct Worker {
  const Options* opt = nullptr;
  SSL_CTX* ctx = nullptr;
  int ep = -1;
  std::vector<Slot> slots;
  std::string requests[2];
  Stats stats;
  Clock::time_point deadline;
  bool draining = false;
  SSL_SESSION* sessions[2] = {nullptr, nullptr};
  std::atomic<int> idle_ready{0};

  void note_error(const std::string& what) {
    ++stats.errors;
    if (stats.error_samples.size() < 5) stats.error_samples.push_back(what);
  }

  void set_events(Conn& c, uint32_t ev) {
    if (c.events == ev) return;
    epoll_event e{};
    e.events = ev;
    e.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
    c.events = ev;
  }

  void close_conn(Conn& c) {
    if (c.ssl != nullptr) {
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.state = Conn::State::Closed;
    c.events = 0;
  }

  bool open_conn(Conn& c) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    const std::string& host = opt->proxy_port != 0 ? opt->proxy_host : opt->connect_host;
    uint16_t port = opt->proxy_port != 0 ? opt->proxy_port : opt->connect_port;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return false;
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return false;
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    if (rc != 0 && errno != EINPROGRESS) {
      ::close(c.fd);
      c.fd = -1;
      return false;
    }
    epoll_event e{};
    e.events = EPOLLOUT;
    e.data.ptr = &c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
    c.events = EPOLLOUT;
    c.state = Conn::State::Connecting;
    ++stats.connections;
    return true;
  }

  void start_request(Slot& s) {
    if (Clock::now() >= deadline || g_stop.load(std::memory_order_relaxed)) {
      s.current = -1;
      return;
    }
    int kind;
    if (opt->only == "token") kind = 0;
    else if (opt->only == "arm") kind = 1;
    else kind = static_cast<int>(s.counter % 2);
    ++s.counter;
    s.current = kind;
    s.started = Clock::now();
    Conn& c = s.conns[kind];
    c.host_index = kind;
    c.reader.reset();
    c.out_off = 0;
    if (c.state == Conn::State::Hold) c.state = Conn::State::Write;
    if (c.state == Conn::State::Closed) {
      if (!open_conn(c)) {
        note_error("connect failed");
        close_conn(c);
        s.current = -1;
        return;
      }
      return;
    }
    c.state = Conn::State::Write;
    drive(c);
  }

  void finish_request(Conn& c, bool ok, const char* why) {
    Slot& s = slots[c.slot];
    if (ok) {
      ++stats.requests;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - s.started).count();
      if (stats.latencies_us.size() < kMaxLatencySamples) stats.latencies_us.push_back(static_cast<uint32_t>(us));
    } else {
      note_error(why);
    }
    if (!ok || !opt->keepalive || c.reader.close) {
      close_conn(c);
    } else {
      c.state = Conn::State::Hold;
      set_events(c, EPOLLIN);  // an idle kept-alive connection only watches for the peer closing
    }
    s.current = -1;
    if (s.hold_after_one) {
      s.done_one = true;
      ++idle_ready;
      return;
    }
    // Started from the event loop, not from here: a fast upstream answers within drive(), and
    // starting the next request inside it would recurse once per request (a stack overflow at
    // ~20k req/s with nginx on the same core).
    ready_.push_back(c.slot);
  }

  std::vector<int> ready_;  // slots whose next request starts after the current event

  void begin_tls(Conn& c) {
    c.ssl = SSL_new(ctx);
    SSL_set_fd(c.ssl, c.fd);
    const char* host = c.host_index == 0 ? kLoginHost : kArmHost;
    SSL_set_tlsext_host_name(c.ssl, host);
    SSL_set1_host(c.ssl, host);
    if (opt->resume && sessions[c.host_index] != nullptr) SSL_set_session(c.ssl, sessions[c.host_index]);
    SSL_set_connect_state(c.ssl);
    c.state = Conn::State::Handshake;
  }

  // Runs the connection's state machine until it would block.
  void drive(Conn& c) {
    for (int guard = 0; guard < 64; ++guard) {
      switch (c.state) {
        case Conn::State::Closed:
          return;
        case Conn::State::Connecting: {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == EINPROGRESS || err == EALREADY) return;
          if (err != 0) {
            finish_request(c, false, std::string("connect: ").append(std::strerror(err)).c_str());
            return;
          }
          if (opt->proxy_port != 0) {
            const char* host = c.host_index == 0 ? kLoginHost : kArmHost;
            c.proxy_buf = std::string("CONNECT ") + host + ":" + std::to_string(opt->logical_port) +
                          " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(opt->logical_port) + "\r\n\r\n";
            c.out_off = 0;
            c.state = Conn::State::ProxyWrite;
          } else {
            begin_tls(c);
          }
          break;
        }
        case Conn::State::ProxyWrite: {
          ssize_t n = ::send(c.fd, c.proxy_buf.data() + c.out_off, c.proxy_buf.size() - c.out_off, MSG_NOSIGNAL);
          if (n < 0) {
            if (errno == EAGAIN) { set_events(c, EPOLLOUT); return; }
            finish_request(c, false, "CONNECT write failed");
            return;
          }
          c.out_off += static_cast<size_t>(n);
          if (c.out_off == c.proxy_buf.size()) {
            c.proxy_buf.clear();
            c.state = Conn::State::ProxyRead;
          }
          break;
        }
        case Conn::State::ProxyRead: {
          // Read byte-wise up to the end of the CONNECT reply head so no TLS byte is consumed.
          char ch;
          ssize_t n = ::recv(c.fd, &ch, 1, 0);
          if (n < 0 && errno == EAGAIN) { set_events(c, EPOLLIN); return; }
          if (n <= 0) { finish_request(c, false, "CONNECT reply: connection closed"); return; }
          c.proxy_buf.push_back(ch);
          if (c.proxy_buf.size() > 4096) { finish_request(c, false, "CONNECT reply too long"); return; }
          if (c.proxy_buf.size() >= 4 && c.proxy_buf.compare(c.proxy_buf.size() - 4, 4, "\r\n\r\n") == 0) {
            if (c.proxy_buf.compare(0, 12, "HTTP/1.1 200") != 0 && c.proxy_buf.compare(0, 12, "HTTP/1.0 200") != 0) {
              finish_request(c, false, ("CONNECT refused: " + c.proxy_buf.substr(0, c.proxy_buf.find('\r'))).c_str());
              return;
            }
            c.proxy_buf.clear();
            begin_tls(c);
          }
          break;
        }
        case Conn::State::Handshake: {
          int rc = SSL_do_handshake(c.ssl);
          if (rc == 1) {
            if (opt->resume) {
              SSL_SESSION* sess = SSL_get1_session(c.ssl);
              if (sess != nullptr) {
                if (sessions[c.host_index] != nullptr) SSL_SESSION_free(sessions[c.host_index]);
                sessions[c.host_index] = sess;
              }
            }
            c.state = Conn::State::Write;
            c.out_off = 0;
            break;
          }
          int e = SSL_get_error(c.ssl, rc);
          if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return; }
          if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return; }
          char buf[256];
          ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
          finish_request(c, false, (std::string("TLS handshake: ") + buf).c_str());
          return;
        }
        case Conn::State::Write: {
          const std::string& req = requests[c.host_index];
          int rc = SSL_write(c.ssl, req.data() + c.out_off, static_cast<int>(req.size() - c.out_off));
          if (rc <= 0) {
            int e = SSL_get_error(c.ssl, rc);
            if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return; }
            if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return; }
            finish_request(c, false, "TLS write failed");
            return;
          }
          c.out_off += static_cast<size_t>(rc);
          if (c.out_off == req.size()) {
            c.reader.reset();
            c.state = Conn::State::Read;
          }
          break;
        }
        case Conn::State::Read: {
          char buf[16384];
          int rc = SSL_read(c.ssl, buf, sizeof buf);
          if (rc <= 0) {
            int e = SSL_get_error(c.ssl, rc);
            if (e == SSL_ERROR_WANT_READ) { set_events(c, EPOLLIN); return; }
            if (e == SSL_ERROR_WANT_WRITE) { set_events(c, EPOLLOUT); return; }
            finish_request(c, false, "response: connection closed before the end");
            return;
          }
          stats.bytes_in += static_cast<uint64_t>(rc);
          c.reader.feed(buf, static_cast<size_t>(rc));
          if (c.reader.phase == ResponseReader::Phase::Bad) {
            finish_request(c, false, "response: bad framing");
            return;
          }
          if (c.reader.phase == ResponseReader::Phase::Done) {
            bool ok = c.reader.status >= 200 && c.reader.status < 300;
            finish_request(c, ok, ok ? "" : ("HTTP status " + std::to_string(c.reader.status)).c_str());
            return;
          }
          break;
        }
        case Conn::State::Hold: {
          // A held connection that becomes readable was closed by the peer (or sent garbage).
          char buf[512];
          int rc = SSL_read(c.ssl, buf, sizeof buf);
          if (rc <= 0) {
            int e = SSL_get_error(c.ssl, rc);
            if (e == SSL_ERROR_WANT_READ) return;
          }
          Slot& s = slots[c.slot];
          if (s.hold_after_one) note_error("idle connection closed by the proxy");
          close_conn(c);
          return;
        }
      }
    }
  }

  void check_timeouts() {
    auto now = Clock::now();
    for (Slot& s : slots) {
      if (s.current < 0) continue;
      if (now - s.started > std::chrono::duration<double>(opt->timeout)) {
        Conn& c = s.conns[s.current];
        finish_request(c, false, "request timed out");
      }
    }
  }

  bool any_in_flight() const {
    for (const Slot& s : slots) {
      if (s.current >= 0) return true;
    }
    return false;
  }

  void run(int nslots, bool idle_mode, Clock::time_point hard_end) {
    ep = epoll_create1(EPOLL_CLOEXEC);
    slots.resize(static_cast<size_t>(nslots));
    for (int i = 0; i < nslots; ++i) {
      slots[i].conns[0].slot = i;
      slots[i].conns[1].slot = i;
      slots[i].counter = static_cast<uint64_t>(i);  // spread the mix across slots
      slots[i].hold_after_one = idle_mode;
    }
    for (Slot& s : slots) start_request(s);
    epoll_event evs[256];
    while (true) {
      auto now = Clock::now();
      if (now >= hard_end) break;
      if (!idle_mode && (now >= deadline || g_stop.load()) && !any_in_flight()) break;
      if (idle_mode && g_stop.load()) break;
      int n = epoll_wait(ep, evs, 256, 50);
      for (int i = 0; i < n; ++i) {
        Conn& c = *static_cast<Conn*>(evs[i].data.ptr);
        if (c.state != Conn::State::Closed) drive(c);
      }
      check_timeouts();
      // Bounded per turn, so epoll and the clock are looked at between bursts.
      for (int round = 0; round < 4096 && !ready_.empty(); ++round) {
        int slot = ready_.back();
        ready_.pop_back();
        start_request(slots[static_cast<size_t>(slot)]);
      }
    }
    for (Slot& s : slots) {
      if (s.current >= 0) note_error("still in flight at the hard end");
      close_conn(s.conns[0]);
      close_conn(s.conns[1]);
    }
    ::close(ep);
  }
};

void on_signal(int) { g_stop.store(true); }

int usage() {
  std::fprintf(stderr,
               "usage: loadgen [--proxy ADDR:PORT] [--connect ADDR:PORT] [--port N] --ca FILE [-c N] [-d SECONDS]\n"
               "               [--keepalive on|off] [--resume on|off] [-t THREADS] [--idle N] [--only token|arm]\n"
               "               [--timeout SECONDS]\n");
  return 2;
}

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  long p = std::strtol(s.c_str() + colon + 1, nullptr, 10);
  if (p <= 0 || p > 65535) return false;
  port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "loadgen: %s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--proxy") {
      if (!split_host_port(next(), opt.proxy_host, opt.proxy_port)) return usage();
    } else if (a == "--connect") {
      if (!split_host_port(next(), opt.connect_host, opt.connect_port)) return usage();
    } else if (a == "--port") {
      opt.logical_port = static_cast<uint16_t>(std::atoi(next().c_str()));
    } else if (a == "--ca") {
      opt.ca_file = next();
    } else if (a == "-c") {
      opt.concurrency = std::atoi(next().c_str());
    } else if (a == "-d") {
      opt.duration = std::atof(next().c_str());
    } else if (a == "-t") {
      opt.threads = std::atoi(next().c_str());
    } else if (a == "--keepalive") {
      opt.keepalive = next() == "on";
    } else if (a == "--resume") {
      opt.resume = next() == "on";
    } else if (a == "--idle") {
      opt.idle = std::atoi(next().c_str());
    } else if (a == "--timeout") {
      opt.timeout = std::atof(next().c_str());
    } else if (a == "--only") {
      opt.only = next();
    } else {
      return usage();
    }
  }
  if (opt.ca_file.empty() || opt.concurrency < 1 || opt.concurrency > 10000 || opt.duration <= 0 ||
      opt.duration > 3600 || opt.threads < 1 || opt.threads > 64 || opt.idle < 0 || opt.idle > 20000) {
    return usage();
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, opt.ca_file.c_str(), nullptr) != 1) {
    std::fprintf(stderr, "loadgen: cannot load CA file %s\n", opt.ca_file.c_str());
    return 2;
  }
  SSL_CTX_set_session_cache_mode(ctx, opt.resume ? SSL_SESS_CACHE_CLIENT : SSL_SESS_CACHE_OFF);
  if (!opt.resume) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

  bool idle_mode = opt.idle > 0;
  int total_slots = idle_mode ? opt.idle : opt.concurrency;
  int nthreads = std::min(opt.threads, total_slots);
  std::vector<std::unique_ptr<Worker>> workers;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.duration));
  // In-flight requests get up to --timeout seconds after the deadline to finish; the idle mode
  // holds its connections until the deadline.
  auto hard_end = deadline + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(opt.timeout + 1));
  if (idle_mode) hard_end = deadline;
  for (int t = 0; t < nthreads; ++t) {
    auto w = std::make_unique<Worker>();
    w->opt = &opt;
    w->ctx = ctx;
    w->requests[0] = token_request();
    w->requests[1] = arm_request();
    w->deadline = idle_mode ? hard_end + std::chrono::hours(1) : deadline;
    workers.push_back(std::move(w));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < nthreads; ++t) {
    int n = total_slots / nthreads + (t < total_slots % nthreads ? 1 : 0);
    threads.emplace_back([&, t, n] { workers[t]->run(n, idle_mode, hard_end); });
  }
  if (idle_mode) {
    // Tell the caller (on stderr, line-buffered) when every idle connection has done its request.
    while (Clock::now() < hard_end && !g_stop.load()) {
      int ready = 0;
      for (auto& w : workers) ready += w->idle_ready.load();
      if (ready >= total_slots) {
        std::fprintf(stderr, "loadgen: %d idle connections ready\n", ready);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  Stats all;
  for (auto& w : workers) {
    all.requests += w->stats.requests;
    all.errors += w->stats.errors;
    all.connections += w->stats.connections;
    all.bytes_in += w->stats.bytes_in;
    all.latencies_us.insert(all.latencies_us.end(), w->stats.latencies_us.begin(), w->stats.latencies_us.end());
    for (auto& e : w->stats.error_samples) {
      if (all.error_samples.size() < 5) all.error_samples.push_back(e);
    }
    for (SSL_SESSION* s : w->sessions) {
      if (s != nullptr) SSL_SESSION_free(s);
    }
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  auto pct = [&](double q) -> uint64_t {
    if (all.latencies_us.empty()) return 0;
    size_t idx = static_cast<size_t>(q * static_cast<double>(all.latencies_us.size() - 1));
    return all.latencies_us[idx];
  };
  double rps = idle_mode ? 0.0 : static_cast<double>(all.requests) / std::max(elapsed, 1e-9);
  std::string errs = "[";
  for (size_t i = 0; i < all.error_samples.size(); ++i) {
    std::string e;
    for (char ch : all.error_samples[i]) {
      if (ch == '"' || ch == '\\') e += '\\';
      if (static_cast<unsigned char>(ch) >= 0x20) e += ch;
    }
    errs += (i ? ",\"" : "\"") + e + "\"";
  }
  errs += "]";
  std::printf(
      "{\"requests\":%llu,\"errors\":%llu,\"connections\":%llu,\"seconds\":%.3f,\"req_per_s\":%.1f,"
      "\"p50_us\":%llu,\"p99_us\":%llu,\"bytes_in\":%llu,\"concurrency\":%d,\"keepalive\":%s,\"idle\":%d,"
      "\"error_samples\":%s}\n",
      static_cast<unsigned long long>(all.requests), static_cast<unsigned long long>(all.errors),
      static_cast<unsigned long long>(all.connections), elapsed, rps, static_cast<unsigned long long>(pct(0.50)),
      static_cast<unsigned long long>(pct(0.99)), static_cast<unsigned long long>(all.bytes_in), total_slots,
      opt.keepalive ? "true" : "false", opt.idle, errs.c_str());
  SSL_CTX_free(ctx);
  return all.errors == 0 ? 0 : 1;
}
