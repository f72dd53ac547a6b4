#include "proxy/tls/ca_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <openssl/pem.h>

#include "proxy/tls/cert_builder.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes all of `data` to a new file at `path` (O_CREAT|O_EXCL: never follows or reuses an
// existing file), with `mode`, then fsyncs it.
Status write_new_file(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Status::Io("cannot create " + path + ": " + errno_text());
  // The umask may only have removed bits; set exactly what we mean.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  std::string err = ok ? std::string() : errno_text();
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::Io("cannot write " + path + ": " + err);
  }
  return Status::Ok();
}

// Writes via a temporary sibling and rename(2), so readers never see a half-written file.
Status replace_file(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // a leftover of a crashed run of this pid number
  Status st = write_new_file(tmp, data, mode);
  if (!st.ok()) return st;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = errno_text();
    ::unlink(tmp.c_str());
    return Status::Io("cannot replace " + path + ": " + err);
  }
  return Status::Ok();
}

Result<std::string> pem_of_key(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Status::Tls("cannot encode the CA key: " + openssl_error_text());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Result<std::string> pem_of_cert(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Status::Tls("cannot encode the CA certificate: " + openssl_error_text());
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

// Restores the process umask when the scope ends (start-up code only: umask is process-wide).
class UmaskScope {
 public:
  explicit UmaskScope(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskScope() { ::umask(old_); }
  UmaskScope(const UmaskScope&) = delete;
  UmaskScope& operator=(const UmaskScope&) = delete;

 private:
  mode_t old_;
};

const char* const kRegenerateHint = "`authscope ca --regenerate` creates a new CA";

}  // namespace

CaFiles ca_files_in(const std::string& home_dir) {
  std::string dir = home_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return CaFiles{dir + "/ca.pem", dir + "/ca.key"};
}

Status check_private_key_mode(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return Status::Io("cannot read CA key " + path + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) return Status::Invalid("CA key " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return Status::Invalid("CA key " + path + " is accessible by group or others (mode " + octal_mode(st.st_mode) +
                           "); run `chmod 600 " + path + "`, or " + kRegenerateHint);
  }
  return Status::Ok();
}

Result<LoadedCa> load_ca_files(const CaFiles& files) {
  Status mode = check_private_key_mode(files.key_path);
  if (!mode.ok()) return mode;
  OpenSslErrorScope errors;
  LoadedCa ca;
  {
    BioPtr bio(BIO_new_file(files.key_path.c_str(), "r"));
    if (!bio) return Status::Io("cannot open CA key " + files.key_path + ": " + openssl_error_text());
    ca.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!ca.key) return Status::Parse("cannot parse CA key " + files.key_path + ": " + openssl_error_text());
  }
  {
    BioPtr bio(BIO_new_file(files.cert_path.c_str(), "r"));
    if (!bio) return Status::Io("cannot open CA certificate " + files.cert_path + ": " + openssl_error_text());
    ca.cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!ca.cert) {
      return Status::Parse("cannot parse CA certificate " + files.cert_path + ": " + openssl_error_text());
    }
  }
  if (X509_check_ca(ca.cert.get()) == 0) {
    return Status::Invalid("CA certificate " + files.cert_path + " is not a CA certificate; " + kRegenerateHint);
  }
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1) {
    return Status::Invalid("CA certificate " + files.cert_path + " does not match key " + files.key_path + "; " +
                           kRegenerateHint);
  }
  if (X509_cmp_current_time(X509_get0_notAfter(ca.cert.get())) <= 0) {
    return Status::Invalid("CA certificate " + files.cert_path + " has expired; " + kRegenerateHint);
  }
  return ca;
}

Status ensure_ca(const CaFiles& files, bool regenerate) {
  if (files.cert_path.empty() || files.key_path.empty()) return Status::Invalid("CA file paths are empty");
  const bool have_key = exists(files.key_path);
  const bool have_cert = exists(files.cert_path);
  if (!regenerate) {
    if (have_key && have_cert) return load_ca_files(files).status();
    if (have_key) {
      return Status::Invalid("CA key " + files.key_path + " exists but certificate " + files.cert_path +
                             " is missing; " + kRegenerateHint);
    }
    if (have_cert) {
      return Status::Invalid("CA certificate " + files.cert_path + " exists but key " + files.key_path +
                             " is missing; " + kRegenerateHint);
    }
  }

  UmaskScope umask(077);
  for (const std::string& dir : {parent_dir(files.key_path), parent_dir(files.cert_path)}) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Io("cannot create directory " + dir + ": " + errno_text());
    }
  }

  Result<EvpPkeyPtr> key = generate_p256_key();
  if (!key.ok()) return key.status();
  Result<X509Ptr> cert = build_ca_certificate(key->get(), std::time(nullptr));
  if (!cert.ok()) return cert.status();
  Result<std::string> key_pem = pem_of_key(key->get());
  if (!key_pem.ok()) return key_pem.status();
  Result<std::string> cert_pem = pem_of_cert(cert->get());
  if (!cert_pem.ok()) return cert_pem.status();

  if (regenerate) {
    Status st = replace_file(files.key_path, *key_pem, 0600);
    if (!st.ok()) return st;
    return replace_file(files.cert_path, *cert_pem, 0644);
  }
  // First use: O_EXCL on the key itself, so two processes starting together never both create
  // a CA (the loser fails here instead of overwriting the winner's key).
  Status st = write_new_file(files.key_path, *key_pem, 0600);
  if (!st.ok()) {
    if (exists(files.key_path)) return Status::Io("CA key " + files.key_path + " appeared while creating it (another authscope running?)");
    return st;
  }
  st = replace_file(files.cert_path, *cert_pem, 0644);
  if (!st.ok()) ::unlink(files.key_path.c_str());  // never leave a key without its certificate
  return st;
}

}  // namespace authscope
