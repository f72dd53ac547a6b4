#include "model/tls_info_json.h"

namespace authscope {

nlohmann::ordered_json tls_info_to_json(const TlsInfo& t) {
  return {
      {"sni", t.sni},
      {"client_version", t.client_version},
      {"client_cipher", t.client_cipher},
      {"alpn", t.alpn},
      {"upstream_version", t.upstream_version},
      {"upstream_cipher", t.upstream_cipher},
      {"upstream_cert_subject", t.upstream_cert_subject},
      {"upstream_cert_issuer", t.upstream_cert_issuer},
      {"upstream_verify", t.upstream_verify},
      {"client_alert", t.client_alert},
  };
}

TlsInfo tls_info_from_json(const nlohmann::json& j) {
  TlsInfo t;
  if (!j.is_object()) return t;
  auto get = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  get("sni", t.sni);
  get("client_version", t.client_version);
  get("client_cipher", t.client_cipher);
  get("alpn", t.alpn);
  get("upstream_version", t.upstream_version);
  get("upstream_cipher", t.upstream_cipher);
  get("upstream_cert_subject", t.upstream_cert_subject);
  get("upstream_cert_issuer", t.upstream_cert_issuer);
  get("upstream_verify", t.upstream_verify);
  get("client_alert", t.client_alert);
  return t;
}

}  // namespace authscope
