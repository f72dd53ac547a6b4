// Helpers shared by the storage tests: a temporary directory and flow builders.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "model/flow.h"

namespace authscope::testing {

// A fresh directory under $TMPDIR removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "authscope-storage-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    path_ = made ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every field set, and the awkward cases: repeated headers with different case, a binary body
// with NULs, an empty (present) request body vs an absent one elsewhere, a truncated body.
inline Flow make_rich_flow() {
  Flow f;
  f.kind = FlowKind::kHttp;
  f.client_addr = "127.0.0.1:53122";
  f.connection_id = 42;
  f.scheme = "https";
  f.host = "login.microsoftonline.com";
  f.port = 443;
  f.times = {1764140000000001, 1764140000000123, 1764140000004567, 1764140000009999};
  TlsInfo tls;
  tls.sni = "login.microsoftonline.com";
  tls.client_version = "TLSv1.3";
  tls.client_cipher = "TLS_AES_128_GCM_SHA256";
  tls.alpn = "http/1.1";
  tls.upstream_version = "TLSv1.2";
  tls.upstream_cipher = "ECDHE-RSA-AES256-GCM-SHA384";
  tls.upstream_cert_subject = "CN=stamp2.login.microsoftonline.com";
  tls.upstream_cert_issuer = "CN=Microsoft Azure RSA TLS Issuing CA 03";
  tls.upstream_verify = "ok";
  tls.client_alert = "";
  f.tls = tls;
  f.request.method = "POST";
  f.request.target = "/contoso.onmicrosoft.com/oauth2/v2.0/token?x=1&y=%20";
  f.request.version = "HTTP/1.1";
  f.request.headers.add("Host", "login.microsoftonline.com");
  f.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  f.request.headers.add("X-Dup", "one");
  f.request.headers.add("x-dup", "two");
  f.request.headers.add("X-Empty", "");
  f.request.body.data = std::string("grant_type=authorization_code&code=abc&code_verifier=xyz");
  f.request.body.wire_size = f.request.body.data->size();
  Response r;
  r.status = 200;
  r.reason = "OK";
  r.version = "HTTP/1.1";
  r.headers.add("Content-Type", "application/octet-stream");
  r.headers.add("Set-Cookie", "a=1");
  r.headers.add("Set-Cookie", "b=2");
  r.body.data = std::string("\x00\x01\xff\xfe binary \x00 tail", 17);
  r.body.truncated = true;
  r.body.wire_size = 1 << 20;
  f.response = r;
  f.error = "upstream-reset";
  f.bytes_from_client = 1234;
  f.bytes_from_upstream = 1048999;
  return f;
}

inline Flow make_simple_flow(const std::string& host, const std::string& target, int status) {
  Flow f;
  f.client_addr = "127.0.0.1:40000";
  f.scheme = "https";
  f.host = host;
  f.port = 443;
  f.times.start_us = 1764140000000000;
  f.times.end_us = f.times.start_us + 1500;
  f.request.method = "GET";
  f.request.target = target;
  f.request.version = "HTTP/1.1";
  f.request.headers.add("Host", host);
  if (status != 0) {
    Response r;
    r.status = status;
    r.reason = "OK";
    r.version = "HTTP/1.1";
    r.headers.add("Content-Type", "application/json");
    r.body.data = std::string("{\"value\":[]}");
    r.body.wire_size = r.body.data->size();
    f.response = r;
  }
  return f;
}

// Field-by-field equality with readable failures is left to the tests (Catch's REQUIRE on each
// field); this compares the whole flow for the loops.
inline bool same_body(const Body& a, const Body& b) {
  return a.data == b.data && a.truncated == b.truncated && a.wire_size == b.wire_size;
}
inline bool same_headers(const Headers& a, const Headers& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.fields()[i].name != b.fields()[i].name || a.fields()[i].value != b.fields()[i].value) return false;
  }
  return true;
}

}  // namespace authscope::testing
