// gen-store: writes N realistic Entra/ARM flows to a store, fast, for the analysis and report
// benchmarks (issue 6 item 3), and measures the store writer on the way (enqueue cost on the
// caller's thread and the sustained write rate), printed as one JSON object.
//
//   build/gen-store --db /tmp/100k.db [-n 100000] [--seed 1]
//
// Traffic shape, per simulated client sign-in: an authorize GET (302 with code and state), a
// token POST (code + PKCE verifier; 200 with JWT-shaped access/ID/refresh tokens), then ARM
// GETs and PUTs carrying the bearer token (~1.5 KB). A few percent deviate the way real
// captures do, so analyzers have work: no PKCE, ROPC, expired tokens, cross-tenant calls with
// and without x-ms-authorization-auxiliary, 403 LinkedAuthorizationFailed. Average flow ~3 KB.
#include <openssl/sha.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "storage/flow_store.h"

using namespace authscope;

namespace {

std::string b64url(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
  }
  return out;
}

std::string s256(const std::string& verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  return b64url(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

constexpr const char* kArmAudience = "https://management.azure.com/";
constexpr const char* kAzureCli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const std::vector<std::string> kTenants = {"72f988bf-86f1-41af-91ab-2d7cd011db47", "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
                                           "2c4d3c7e-1a5b-4d1e-9c2a-8b9f0e7d6c5b"};
const std::vector<std::string> kSubscriptions = {"00000000-0000-0000-0000-000000000001",
                                                 "11111111-1111-1111-1111-111111111111",
                                                 "22222222-2222-2222-2222-222222222222"};

// A JWT-shaped token: real base64url JSON header and claims (analyzers decode them), fake
// signature of a realistic length (RS256: 256 bytes).
std::string make_jwt(const std::string& tenant, const char* aud, int64_t iat, int64_t exp, const std::string& oid,
                     const std::string& scp, std::mt19937_64& rng) {
  nlohmann::ordered_json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "L1KfKFI_jnXbwWc22xZxw1sUHH0"}};
  nlohmann::ordered_json claims = {{"aud", aud},
                                   {"iss", "https://sts.windows.net/" + tenant + "/"},
                                   {"iat", iat},
                                   {"nbf", iat},
                                   {"exp", exp},
                                   {"acr", "1"},
                                   {"aio", "AUQAu/8TAAAA" + std::to_string(rng() % 1000000)},
                                   {"amr", {"pwd", "mfa"}},
                                   {"appid", kAzureCli},
                                   {"appidacr", "0"},
                                   {"idtyp", "user"},
                                   {"name", "Alex Wilber"},
                                   {"oid", oid},
                                   {"puid", "10032001A1B2C3D4"},
                                   {"scp", scp},
                                   {"sub", "k3s" + oid.substr(0, 8)},
                                   {"tid", tenant},
                                   {"unique_name", "alexw@contoso.onmicrosoft.com"},
                                   {"upn", "alexw@contoso.onmicrosoft.com"},
                                   {"uti", "x" + std::to_string(rng() % 100000000)},
                                   {"ver", "1.0"},
                                   {"xms_tcdt", 1289241547}};
  std::string sig(256, '\0');
  for (char& c : sig) c = static_cast<char>(rng() & 0xff);
  return b64url(header.dump()) + "." + b64url(claims.dump()) + "." + b64url(sig);
}

struct Generator {
  std::mt19937_64 rng;
  int64_t clock_us = 1795683600000000;  // 2026-11-26T09:00:00Z, advanced per flow
  uint64_t connection = 0;

  explicit Generator(uint64_t seed) : rng(seed) {}

  int pct() { return static_cast<int>(rng() % 100); }
  std::string hex(size_t n) {
    static const char* k = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += k[rng() % 16];
    return s;
  }
  std::string guid() { return hex(8) + "-" + hex(4) + "-4" + hex(3) + "-8" + hex(3) + "-" + hex(12); }

  Flow base(const std::string& host, const std::string& method, const std::string& target) {
    Flow f;
    f.client_addr = "127.0.0.1:" + std::to_string(40000 + connection % 20000);
    f.connection_id = connection;
    f.scheme = "https";
    f.host = host;
    f.port = 443;
    clock_us += 2000 + static_cast<int64_t>(rng() % 50000);
    f.times.start_us = clock_us;
    f.times.request_end_us = clock_us + 150;
    f.times.response_start_us = clock_us + 20000 + static_cast<int64_t>(rng() % 80000);
    f.times.end_us = f.times.response_start_us + 400;
    TlsInfo tls;
    tls.sni = host;
    tls.client_version = "TLSv1.3";
    tls.client_cipher = "TLS_AES_256_GCM_SHA384";
    tls.alpn = "http/1.1";
    tls.upstream_version = "TLSv1.3";
    tls.upstream_cipher = "TLS_AES_256_GCM_SHA384";
    tls.upstream_cert_subject = "CN=" + host;
    tls.upstream_cert_issuer = "CN=Microsoft Azure RSA TLS Issuing CA 04";
    tls.upstream_verify = "ok";
    f.tls = tls;
    f.request.method = method;
    f.request.target = target;
    f.request.version = "HTTP/1.1";
    f.request.headers.add("Host", host);
    f.request.headers.add("User-Agent", "python-requests/2.28.1 azsdk-python-identity/1.15.0");
    f.request.headers.add("Accept", "application/json");
    f.request.headers.add("x-ms-client-request-id", guid());
    return f;
  }

  static void respond(Flow& f, int status, const std::string& reason, std::optional<std::string> body,
                      const std::string& content_type = "application/json; charset=utf-8") {
    Response r;
    r.status = status;
    r.reason = reason;
    r.version = "HTTP/1.1";
    r.headers.add("Cache-Control", "no-store, no-cache");
    r.headers.add("Content-Type", content_type);
    r.headers.add("x-ms-request-id", "5f2b4c1e-" + std::to_string(f.times.start_us % 100000000));
    r.headers.add("Date", "Thu, 26 Nov 2026 09:00:00 GMT");
    if (body) r.headers.add("Content-Length", std::to_string(body->size()));
    r.body.data = std::move(body);
    r.body.wire_size = r.body.data ? r.body.data->size() : 0;
    f.response = std::move(r);
    f.bytes_from_client = 600 + (f.request.body.data ? f.request.body.data->size() : 0);
    f.bytes_from_upstream = 300 + f.response->body.wire_size;
  }

  // One client sign-in and its ARM calls; appends 2 + k flows.
  void session(std::vector<Flow>& out) {
    ++connection;
    const std::string tenant = kTenants[rng() % kTenants.size()];
    const std::string oid = guid();
    const bool pkce = pct() >= 5;
    const bool ropc = pct() < 2;
    const std::string state = hex(16), nonce = hex(16), verifier = hex(43);
    const std::string redirect = "http%3A%2F%2Flocalhost%3A8400";
    const std::string code = "0.AXoA" + hex(40);

    if (!ropc) {
      std::string target = "/" + tenant + "/oauth2/v2.0/authorize?client_id=" + kAzureCli +
                           "&response_type=code&redirect_uri=" + redirect +
                           "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default%20openid%20profile%20offline_access"
                           "&state=" + state + "&nonce=" + nonce + "&client_info=1&prompt=select_account";
      if (pkce) target += "&code_challenge=" + s256(verifier) + "&code_challenge_method=S256";
      Flow a = base("login.microsoftonline.com", "GET", target);
      a.request.headers.add("Cookie", "esctx=" + hex(64) + "; x-ms-gateway-slice=estsfd; stsservicecookie=estsfd");
      respond(a, 302, "Found", std::string());
      a.response->headers.add("Location", "http://localhost:8400/?code=" + code + "&state=" + state +
                                              "&session_state=" + guid());
      out.push_back(std::move(a));
    }

    std::string form = "client_id=" + std::string(kAzureCli) +
                       "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default+offline_access+openid+profile";
    if (ropc) {
      form += "&grant_type=password&username=alexw%40contoso.onmicrosoft.com&password=Secret" + hex(6);
    } else {
      form += "&grant_type=authorization_code&code=" + code + "&redirect_uri=" + redirect;
      if (pkce) form += "&code_verifier=" + verifier;
    }
    form += "&client_info=1&claims=%7B%22access_token%22%3A%7B%22xms_cc%22%3A%7B%22values%22%3A%5B%22CP1%22%5D%7D%7D%7D";
    Flow t = base("login.microsoftonline.com", "POST", "/" + tenant + "/oauth2/v2.0/token");
    t.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
    t.request.headers.add("Content-Length", std::to_string(form.size()));
    t.request.body.data = form;
    t.request.body.wire_size = form.size();
    const int64_t iat = t.times.start_us / 1000000;
    // 5% of sessions keep using a token past its expiry (exp set to the past by an hour).
    const bool expired = pct() < 5;
    const int64_t exp = expired ? iat - 3600 : iat + 4493;
    const std::string access = make_jwt(tenant, kArmAudience, iat, exp, oid, "user_impersonation", rng);
    const std::string id_token = make_jwt(tenant, kAzureCli, iat, iat + 3600, oid, "openid", rng);
    nlohmann::ordered_json reply = {{"token_type", "Bearer"},
                                    {"scope", "https://management.azure.com/user_impersonation"},
                                    {"expires_in", 4493},
                                    {"ext_expires_in", 4493},
                                    {"access_token", access},
                                    {"refresh_token", "0.AXoA" + hex(300)},
                                    {"id_token", id_token},
                                    {"client_info", b64url(R"({"uid":")" + oid + R"(","utid":")" + tenant + "\"}")}};
    respond(t, 200, "OK", reply.dump());
    out.push_back(std::move(t));

    // A second tenant's token for cross-tenant calls in some sessions.
    const bool cross = pct() < 10;
    const std::string other_tenant = kTenants[(std::find(kTenants.begin(), kTenants.end(), tenant) - kTenants.begin() + 1) % kTenants.size()];
    const std::string aux = cross ? make_jwt(other_tenant, kArmAudience, iat, iat + 4493, oid, "user_impersonation", rng)
                                  : std::string();
    const int calls = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < calls; ++i) {
      const std::string sub = kSubscriptions[rng() % kSubscriptions.size()];
      const bool write = pct() < 30;
      std::string rg = "rg-" + hex(6);
      Flow c = write ? base("management.azure.com", "PUT",
                            "/subscriptions/" + sub + "/resourceGroups/" + rg + "?api-version=2021-04-01")
                     : base("management.azure.com", "GET", "/subscriptions/" + sub + "/resourcegroups?api-version=2021-04-01");
      c.request.headers.add("Authorization", "Bearer " + access);
      if (cross && write && pct() < 60) c.request.headers.add("x-ms-authorization-auxiliary", "Bearer " + aux);
      if (write) {
        std::string body = R"({"location":"westeurope","tags":{"owner":"alexw","env":"test"}})";
        c.request.headers.add("Content-Type", "application/json");
        c.request.headers.add("Content-Length", std::to_string(body.size()));
        c.request.body.data = body;
        c.request.body.wire_size = body.size();
      }
      if (cross && write && !c.request.headers.has("x-ms-authorization-auxiliary")) {
        respond(c, 403, "Forbidden",
                R"({"error":{"code":"LinkedAuthorizationFailed","message":"The client has permission to perform action 'Microsoft.Network/virtualNetworks/join/action' on scope '/subscriptions/)" +
                    sub + R"(/resourceGroups/)" + rg + R"(', however the current tenant ')" + tenant +
                    R"(' is not authorized to access linked subscription ')" + kSubscriptions[0] + R"('."}})");
      } else if (write) {
        respond(c, 201, "Created",
                R"({"id":"/subscriptions/)" + sub + "/resourceGroups/" + rg + R"(","name":")" + rg +
                    R"(","type":"Microsoft.Resources/resourceGroups","location":"westeurope","properties":{"provisioningState":"Succeeded"}})");
      } else {
        std::string body = R"({"value":[)";
        for (int k = 0; k < 3; ++k) {
          if (k) body += ",";
          body += R"({"id":"/subscriptions/)" + sub + "/resourceGroups/rg-" + hex(6) +
                  R"(","name":"rg","type":"Microsoft.Resources/resourceGroups","location":"westeurope","properties":{"provisioningState":"Succeeded"}})";
        }
        body += "]}";
        respond(c, 200, "OK", body);
      }
      out.push_back(std::move(c));
    }
  }
};

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int usage() {
  std::fprintf(stderr, "usage: gen-store --db PATH [-n FLOWS] [--seed N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  long long n = 100000;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--db" && i + 1 < argc) db = argv[++i];
    else if ((a == "-n" || a == "--flows") && i + 1 < argc) n = std::atoll(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else return usage();
  }
  if (db.empty() || n <= 0 || n > 100000000) return usage();

  SqliteStoreOptions options;
  auto opened = open_sqlite_store(db, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "gen-store: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  FlowStore& store = **opened;
  Generator gen(seed);

  using Clock = std::chrono::steady_clock;
  std::vector<Flow> pending;
  std::vector<double> enqueue_ns;
  enqueue_ns.reserve(static_cast<size_t>(n));
  uint64_t bytes = 0;
  double generate_s = 0;
  const auto start = Clock::now();
  const double process_cpu0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const double main_cpu0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  long long written = 0;
  // Flows are generated in chunks (outside the timed enqueue) and flushed every 20,000, which
  // bounds the writer's queue well under its limits however fast enqueue is.
  while (written < n) {
    const auto g0 = Clock::now();
    pending.clear();
    while (static_cast<long long>(pending.size()) < std::min<long long>(2000, n - written)) gen.session(pending);
    if (static_cast<long long>(pending.size()) > n - written) pending.resize(static_cast<size_t>(n - written));
    generate_s += std::chrono::duration<double>(Clock::now() - g0).count();
    for (Flow& f : pending) {
      bytes += f.request.target.size() + (f.request.body.data ? f.request.body.data->size() : 0) +
               (f.response && f.response->body.data ? f.response->body.data->size() : 0);
      for (const auto& h : f.request.headers.fields()) bytes += h.name.size() + h.value.size() + 4;
      if (f.response) for (const auto& h : f.response->headers.fields()) bytes += h.name.size() + h.value.size() + 4;
      const auto t0 = Clock::now();
      store.enqueue(std::move(f));
      enqueue_ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
    }
    written += static_cast<long long>(pending.size());
    if (written % 20000 < 2000 || written == n) {
      if (Status s = store.flush(); !s.ok()) {
        std::fprintf(stderr, "gen-store: %s\n", s.ToString().c_str());
        return 1;
      }
    }
  }
  if (Status s = store.flush(); !s.ok()) {
    std::fprintf(stderr, "gen-store: %s\n", s.ToString().c_str());
    return 1;
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  // CPU time of everything but the generating/enqueuing thread: the store's writer thread.
  // On a loaded machine wall-clock rates mostly measure the scheduler; this does not.
  const double writer_cpu = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu0) -
                            (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - main_cpu0);
  std::sort(enqueue_ns.begin(), enqueue_ns.end());
  double sum = 0;
  for (double v : enqueue_ns) sum += v;
  auto count = store.count();
  opened->reset();  // close: checkpoint the WAL into the file before measuring it
  std::error_code ec;
  const auto db_bytes = std::filesystem::file_size(db, ec);
  nlohmann::ordered_json result = {
      {"flows", written},
      {"flows_in_store", count.ok() ? *count : -1},
      {"avg_flow_bytes", written ? bytes / static_cast<uint64_t>(written) : 0},
      {"seconds_total", total_s},
      {"seconds_generating", generate_s},
      // The writer commits while the generator builds the next chunk; this rate counts only
      // time not spent generating, so it is the store's sustained rate, not the generator's.
      {"store_flows_per_s", written / std::max(1e-9, total_s - generate_s)},
      {"writer_cpu_seconds", writer_cpu},
      {"store_flows_per_writer_cpu_s", written / std::max(1e-9, writer_cpu)},
      {"enqueue_ns_avg", enqueue_ns.empty() ? 0 : sum / static_cast<double>(enqueue_ns.size())},
      {"enqueue_ns_p50", enqueue_ns.empty() ? 0 : enqueue_ns[enqueue_ns.size() / 2]},
      {"enqueue_ns_p99", enqueue_ns.empty() ? 0 : enqueue_ns[enqueue_ns.size() * 99 / 100]},
      {"db_bytes", ec ? 0 : db_bytes}};
  std::printf("%s\n", result.dump(2).c_str());
  return 0;
}
