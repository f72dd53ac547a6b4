// Test CA and server certificates with OpenSSL 3 (ECDSA P-256 keys: fast to generate, accepted by
// curl, Python, Go and nginx).
#include "tests/support/test_pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

namespace authscope::testkit {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string openssl_error(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + (e ? std::string(": ") + buf : std::string());
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::string key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string cert_pem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

PkeyPtr read_key(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

X509Ptr read_cert(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

PkeyPtr new_key() { return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

// RFC 5280 §4.1.2.2: "The serial number MUST be a positive integer assigned by the CA to each
// certificate. It MUST be unique for each certificate issued by a given CA".
bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

Result<IssuedCert> make_cert(const std::string& common_name, const std::vector<std::string>& names, bool is_ca,
                             int validity_days, X509* issuer_cert, EVP_PKEY* issuer_key) {
  PkeyPtr key = new_key();
  if (!key) return Status::Tls(openssl_error("EC key generation failed"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);  // v3
  if (!set_random_serial(cert.get())) return Status::Tls(openssl_error("serial"));
  // Backdated a day so clock skew between processes never makes it "not yet valid".
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(validity_days) * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("authscope tests"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
  X509* issuer = issuer_cert ? issuer_cert : cert.get();
  EVP_PKEY* signing_key = issuer_key ? issuer_key : key.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  bool ok = true;
  if (is_ca) {
    ok &= add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    ok &= add_ext(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    ok &= add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
  } else {
    std::string san;
    for (const auto& n : names) {
      if (!san.empty()) san += ",";
      san += (is_ip_literal(n) ? "IP:" : "DNS:") + n;
    }
    ok &= add_ext(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    ok &= add_ext(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok &= add_ext(cert.get(), issuer, NID_ext_key_usage, "serverAuth");
    ok &= add_ext(cert.get(), issuer, NID_subject_key_identifier, "hash");
    ok &= add_ext(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
    if (!san.empty()) ok &= add_ext(cert.get(), issuer, NID_subject_alt_name, san);
  }
  if (!ok) return Status::Tls(openssl_error("adding certificate extensions failed"));
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) return Status::Tls(openssl_error("signing failed"));
  return IssuedCert{cert_pem(cert.get()), key_pem(key.get())};
}

Status write_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io("cannot write " + path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Status::Io("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);  // O_CREAT's mode only applies to new files
  ::close(fd);
  return Status::Ok();
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<std::string> default_server_names() {
  return {"login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
          "management.azure.com", "management.core.windows.net", "graph.microsoft.com",
          "localhost", "127.0.0.1", "::1"};
}

PkiPaths pki_paths(const std::string& dir) {
  return {dir, dir + "/ca.pem", dir + "/ca.key", dir + "/server.pem", dir + "/server.key", dir + "/wrong.pem",
          dir + "/wrong.key"};
}

Result<TestPki> TestPki::generate(const TestPkiOptions& options) {
  TestPki pki;
  auto ca = make_cert(options.ca_common_name, {}, true, options.validity_days + 1, nullptr, nullptr);
  if (!ca.ok()) return ca.status();
  pki.ca_ = std::move(ca.value());
  auto server = pki.issue(options.server_names, options.validity_days);
  if (!server.ok()) return server.status();
  pki.server_ = std::move(server.value());
  auto wrong = pki.issue({options.wrong_name}, options.validity_days);
  if (!wrong.ok()) return wrong.status();
  pki.wrong_ = std::move(wrong.value());
  return pki;
}

Result<IssuedCert> TestPki::issue(const std::vector<std::string>& names, int validity_days) const {
  if (names.empty()) return Status::Invalid("a server certificate needs at least one name");
  X509Ptr ca_cert = read_cert(ca_.cert_pem);
  PkeyPtr ca_key = read_key(ca_.key_pem);
  if (!ca_cert || !ca_key) return Status::Invalid(openssl_error("the test CA is unreadable"));
  return make_cert(names.front(), names, false, validity_days, ca_cert.get(), ca_key.get());
}

Result<TestPki> TestPki::load(const std::string& dir) {
  PkiPaths p = pki_paths(dir);
  TestPki pki;
  const std::pair<const std::string*, std::string*> files[] = {
      {&p.ca_cert, &pki.ca_.cert_pem},         {&p.ca_key, &pki.ca_.key_pem},
      {&p.server_cert, &pki.server_.cert_pem}, {&p.server_key, &pki.server_.key_pem},
      {&p.wrong_cert, &pki.wrong_.cert_pem},   {&p.wrong_key, &pki.wrong_.key_pem}};
  for (const auto& [path, out] : files) {
    auto text = slurp(*path);
    if (!text.ok()) return text.status();
    *out = std::move(text.value());
  }
  if (!read_cert(pki.ca_.cert_pem) || !read_key(pki.ca_.key_pem) || !read_cert(pki.server_.cert_pem) ||
      !read_key(pki.server_.key_pem))
    return Status::Parse(openssl_error("PKI directory " + dir + " holds unreadable PEM"));
  return pki;
}

Result<TestPki> TestPki::load_or_create(const std::string& dir, const TestPkiOptions& options) {
  struct stat st {};
  if (::stat(pki_paths(dir).ca_cert.c_str(), &st) == 0) return load(dir);
  auto pki = generate(options);
  if (!pki.ok()) return pki.status();
  auto written = pki->write(dir);
  if (!written.ok()) return written.status();
  return pki;
}

Result<PkiPaths> TestPki::write(const std::string& dir) const {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::Io("cannot create " + dir + ": " + std::strerror(errno));
  PkiPaths p = pki_paths(dir);
  const std::tuple<const std::string*, const std::string*, mode_t> files[] = {
      {&p.ca_cert, &ca_.cert_pem, 0644},         {&p.ca_key, &ca_.key_pem, 0600},
      {&p.server_cert, &server_.cert_pem, 0644}, {&p.server_key, &server_.key_pem, 0600},
      {&p.wrong_cert, &wrong_.cert_pem, 0644},   {&p.wrong_key, &wrong_.key_pem, 0600}};
  for (const auto& [path, text, mode] : files) {
    Status s = write_file(*path, *text, mode);
    if (!s.ok()) return s;
  }
  return p;
}

}  // namespace authscope::testkit
