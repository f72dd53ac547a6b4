#include "analyzers/token_discovery.h"

#include <array>

#include "analyzers/http_text.h"
#include "analyzers/jwt.h"
#include "analyzers/redact.h"

namespace authscope {
namespace {

struct ParamKind {
  std::string_view param;
  std::string_view kind;
};

// Parameters that carry credentials in form bodies and URLs (RFC 6749 §4.1.2, §4.2.2, §6;
// RFC 7521/7523 assertions; RFC 8628 device_code; RFC 8693 token exchange; OIDC id_token_hint;
// RFC 7636 code_verifier).
constexpr std::array<ParamKind, 13> kCredentialParams = {{
    {"code", "authorization_code"},
    {"access_token", "access_token"},
    {"id_token", "id_token"},
    {"refresh_token", "refresh_token"},
    {"assertion", "assertion"},
    {"client_assertion", "client_assertion"},
    {"id_token_hint", "id_token_hint"},
    {"device_code", "device_code"},
    {"subject_token", "subject_token"},
    {"actor_token", "actor_token"},
    {"client_secret", "client_secret"},
    {"password", "password"},
    {"code_verifier", "code_verifier"},
}};

// RFC 6749 §5.1 successful response members, plus the device authorization response (RFC 8628).
constexpr std::array<ParamKind, 4> kJsonResponseMembers = {{
    {"access_token", "access_token"},
    {"id_token", "id_token"},
    {"refresh_token", "refresh_token"},
    {"device_code", "device_code"},
}};

class Collector {
 public:
  explicit Collector(std::vector<FoundToken>* out) : out_(out) {}

  void add(std::string location, std::string_view kind, std::string scheme, std::string raw) {
    if (raw.empty() || out_->size() >= kMaxTokensPerFlow) return;
    FoundToken t;
    t.location = std::move(location);
    t.kind = std::string(kind);
    t.scheme = std::move(scheme);
    t.redacted = is_redacted(raw);
    t.raw = std::move(raw);
    out_->push_back(std::move(t));
  }

  void add_pairs(const std::string& prefix, const FormPairs& pairs) {
    for (const auto& [name, value] : pairs) {
      for (const auto& p : kCredentialParams) {
        if (name == p.param) add(prefix + name, p.kind, "", value);
      }
    }
  }

  void add_url(const std::string& prefix, std::string_view url) {
    UrlParts parts = split_url(url);
    if (parts.has_query) add_pairs(prefix + ".query.", parse_form(parts.query));
    // OAuth 2.0 Multiple Response Type Encoding Practices §2: fragment-encoded responses use
    // the application/x-www-form-urlencoded format too.
    if (parts.has_fragment) add_pairs(prefix + ".fragment.", parse_form(parts.fragment));
  }

 private:
  std::vector<FoundToken>* out_;
};

// "Bearer abc" -> {"Bearer", "abc"}; a bare token has no scheme.
std::pair<std::string, std::string> split_credentials(std::string_view value) {
  value = trim(value);
  size_t sp = value.find(' ');
  if (sp == std::string_view::npos) return {"", std::string(value)};
  return {std::string(value.substr(0, sp)), std::string(trim(value.substr(sp + 1)))};
}

std::string kind_for_scheme(std::string_view scheme, bool auxiliary) {
  if (auxiliary) return "aux_token";
  if (iequals(scheme, "Bearer")) return "access_token";
  if (iequals(scheme, "PoP")) return "pop_token";
  if (iequals(scheme, "Basic")) return "basic_credentials";
  return "authorization";
}

// The value of attribute `name` inside one HTML tag text, or nullopt.
std::optional<std::string> html_attribute(std::string_view tag, std::string_view name) {
  size_t pos = 0;
  while (pos < tag.size()) {
    size_t at = tag.find(name, pos);
    if (at == std::string_view::npos) return std::nullopt;
    size_t eq = at + name.size();
    bool boundary = at > 0 && (tag[at - 1] == ' ' || tag[at - 1] == '\t' || tag[at - 1] == '\n');
    while (eq < tag.size() && tag[eq] == ' ') ++eq;
    if (boundary && eq < tag.size() && tag[eq] == '=') {
      ++eq;
      while (eq < tag.size() && tag[eq] == ' ') ++eq;
      if (eq < tag.size() && (tag[eq] == '"' || tag[eq] == '\'')) {
        char quote = tag[eq];
        size_t end = tag.find(quote, eq + 1);
        if (end == std::string_view::npos) return std::nullopt;
        return std::string(tag.substr(eq + 1, end - eq - 1));
      }
    }
    pos = at + name.size();
  }
  return std::nullopt;
}

// OAuth 2.0 Form Post Response Mode: the authorization response is an HTML page whose form
// auto-posts hidden inputs (code, id_token, state...) to the redirect URI.
void add_form_post(Collector& collect, std::string_view html) {
  size_t pos = 0;
  for (int guard = 0; guard < 256; ++guard) {
    size_t start = html.find("<input", pos);
    if (start == std::string_view::npos) return;
    size_t end = html.find('>', start);
    if (end == std::string_view::npos) return;
    std::string_view tag = html.substr(start, end - start);
    auto name = html_attribute(tag, "name");
    auto value = html_attribute(tag, "value");
    if (name && value) {
      for (const auto& p : kCredentialParams) {
        if (*name == p.param) collect.add("response.form_post." + *name, p.kind, "", *value);
      }
    }
    pos = end + 1;
  }
}

}  // namespace

// A JSON token response names its tokens ("access_token", "id_token", "refresh_token"), so an
// identity-encoded body without `_token"` cannot hold one: looking first spares copying and
// parsing every ARM/Graph response (often hundreds of KB) on the store's writer thread. Encoded
// bodies (gzip, deflate) are decoded and parsed as before. (A server spelling a member name with
// JSON \u escapes would be missed; Entra does not, and redaction does not depend on this.)
static bool may_name_token_member(const Body& body, const Headers& headers) {
  if (!body.data || body.data->empty()) return false;
  for (const std::string& enc : headers.all("Content-Encoding")) {
    if (!iequals(trim(enc), "identity")) return true;
  }
  return body.data->find("_token\"") != std::string::npos;
}

bool is_secret_kind(const std::string& kind) {
  return kind == "password" || kind == "client_secret" || kind == "code_verifier" || kind == "basic_credentials";
}

std::vector<FoundToken> find_tokens(const Flow& flow) {
  std::vector<FoundToken> out;
  if (flow.kind != FlowKind::kHttp) return out;
  Collector collect(&out);
  const Request& req = flow.request;

  // RFC 6750 §2.1: Authorization: Bearer <token>. MSAL AT-PoP: Authorization: PoP <signed HTTP
  // request JWT> whose "at" claim is the access token itself.
  for (const auto& value : req.headers.all("Authorization")) {
    auto [scheme, token] = split_credentials(value);
    collect.add("request.header.Authorization", kind_for_scheme(scheme, false), scheme, token);
    if (iequals(scheme, "PoP")) {
      auto shr = decode_token(token);
      if (shr.ok()) {
        if (auto at = json_string(shr->claims, "at")) {
          collect.add("request.header.Authorization.at", "access_token", "Bearer", *at);
        }
      }
    }
  }
  // ARM auxiliary tokens: "Bearer <t1>, EncryptedBearer <t2>" (", " separated; the 2019 docs
  // used "; ", accepted too). Index counts across repeated header fields.
  size_t aux_index = 0;
  for (const auto& value : req.headers.all("x-ms-authorization-auxiliary")) {
    size_t pos = 0;
    while (pos <= value.size() && aux_index < 16) {
      size_t sep = value.find_first_of(",;", pos);
      if (sep == std::string::npos) sep = value.size();
      std::string_view item = trim(std::string_view(value).substr(pos, sep - pos));
      if (!item.empty()) {
        auto [scheme, token] = split_credentials(item);
        collect.add("request.header.x-ms-authorization-auxiliary[" + std::to_string(aux_index) + "]",
                    "aux_token", scheme, token);
        ++aux_index;
      }
      pos = sep + 1;
    }
  }

  collect.add_url("request.target", req.target);
  if (auto form = form_body(req.body, req.headers)) collect.add_pairs("request.form.", *form);

  if (flow.response) {
    const Response& resp = *flow.response;
    for (const auto& location : resp.headers.all("Location")) {
      collect.add_url("response.header.Location", location);
    }
    std::optional<nlohmann::json> json;
    std::optional<std::vector<std::pair<std::string_view, std::string_view>>> members;
    if (may_name_token_member(resp.body, resp.headers)) {
      // Identity-encoded and escape-free (every Entra token response): read the members in
      // one pass instead of parsing a document, on the writer thread, twice per flow.
      if (resp.headers.all("Content-Encoding").empty()) members = unescaped_json_string_members(*resp.body.data);
      if (!members) json = json_body(resp.body, resp.headers);
    }
    if (members) {
      for (const auto& m : kJsonResponseMembers) {
        for (const auto& [name, value] : *members) {
          if (name == m.param) collect.add("response.json." + std::string(m.param), m.kind, "", std::string(value));
        }
      }
    } else if (json && json->is_object()) {
      for (const auto& m : kJsonResponseMembers) {
        if (auto v = json_string(*json, m.param)) collect.add("response.json." + std::string(m.param), m.kind, "", *v);
      }
    } else if (content_type_is(resp.headers, "text/html")) {
      auto html = decoded_body(resp.body, resp.headers);
      if (html.ok()) add_form_post(collect, *html);
    }
  }
  return out;
}

}  // namespace authscope
