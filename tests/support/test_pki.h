// TestPki: a throw-away certificate authority and server certificates for loopback tests.
//
// Everything is generated in memory (ECDSA P-256 keys, SHA-256 signatures) and held as PEM text;
// write() puts it in a directory for processes that want files (curl --cacert, the proxy's
// --upstream-ca, nginx, Python REQUESTS_CA_BUNDLE). The server certificate follows what real TLS
// clients check (RFC 5280 §4.2.1.6: "If the subject field contains an empty sequence, then the
// issuing CA MUST include a subjectAltName extension that is marked as critical"; we set a CN and
// SANs anyway): SANs for every name (DNS or IP, by the name's shape), SKI/AKI, keyUsage
// digitalSignature, EKU serverAuth, CA:FALSE, backdated by a day.
// A second "wrong" certificate, signed by the same CA, names only an unrelated host so tests can
// provoke a hostname mismatch that is not a chain failure.
#pragma once

#include <string>
#include <vector>

#include "model/status.h"

namespace authscope::testkit {

// The names the default server certificate carries: the Entra/Azure hosts the fake server plays
// plus loopback.
std::vector<std::string> default_server_names();

struct TestPkiOptions {
  std::vector<std::string> server_names = default_server_names();
  std::string wrong_name = "unrelated.example.test";
  std::string ca_common_name = "authscope test root CA";
  int validity_days = 30;
};

// File names inside a PKI directory (what write() produces and load() expects).
struct PkiPaths {
  std::string dir;
  std::string ca_cert;      // dir/ca.pem
  std::string ca_key;       // dir/ca.key (mode 0600)
  std::string server_cert;  // dir/server.pem (leaf only; clients trust ca.pem)
  std::string server_key;   // dir/server.key (mode 0600)
  std::string wrong_cert;   // dir/wrong.pem
  std::string wrong_key;    // dir/wrong.key (mode 0600)
};
PkiPaths pki_paths(const std::string& dir);

struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;
};

class TestPki {
 public:
  static Result<TestPki> generate(const TestPkiOptions& options = {});
  // Reads a directory that write() produced earlier.
  static Result<TestPki> load(const std::string& dir);
  // load() when dir/ca.pem exists, else generate() then write(dir). For fake-entra --pki-dir.
  static Result<TestPki> load_or_create(const std::string& dir, const TestPkiOptions& options = {});

  // Creates dir if missing; writes all files (keys 0600). Returns their paths.
  Result<PkiPaths> write(const std::string& dir) const;

  // Signs a new leaf for `names` with the test CA (e.g. for one specific host).
  Result<IssuedCert> issue(const std::vector<std::string>& names, int validity_days = 30) const;

  const std::string& ca_cert_pem() const { return ca_.cert_pem; }
  const std::string& ca_key_pem() const { return ca_.key_pem; }
  const IssuedCert& server() const { return server_; }
  const IssuedCert& wrong() const { return wrong_; }

 private:
  IssuedCert ca_;
  IssuedCert server_;
  IssuedCert wrong_;
};

}  // namespace authscope::testkit
