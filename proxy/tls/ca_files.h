// The CA's files on disk: loading ca.pem/ca.key and the permission rules for the key
// (CONTRACT.md: "ca.key, key mode 0600"; issue 7: "refused if group- or world-readable").
#pragma once

#include <string>

#include "model/status.h"
#include "proxy/tls/cert_authority.h"
#include "proxy/tls/openssl_ptr.h"

namespace authscope {

struct LoadedCa {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// OK when `path` is a regular file with no group/other permission bits; otherwise a message
// naming the mode and the fix.
Status check_private_key_mode(const std::string& path);

// Reads both PEM files; checks the key mode, that the certificate is a CA, that key and
// certificate match, and that the CA has not expired.
Result<LoadedCa> load_ca_files(const CaFiles& files);

}  // namespace authscope
