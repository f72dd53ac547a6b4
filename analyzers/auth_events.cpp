#include "analyzers/auth_events.h"

#include <algorithm>

#include "analyzers/classify.h"
#include "analyzers/http_text.h"
#include "analyzers/jwt.h"
#include "analyzers/redact.h"
#include "analyzers/rule_pack.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"

namespace authscope {
namespace {

constexpr size_t kMaxKeptText = 240;          // ARM messages, paths: enough to read, bounded
constexpr size_t kMaxArmErrorScanBytes = 256 * 1024;
constexpr size_t kMaxAuxTokens = 16;          // we read a few past the documented 3 to report it

std::string clip(std::string_view s, size_t n = kMaxKeptText) {
  if (s.size() <= n) return std::string(s);
  return std::string(s.substr(0, n)) + "...";
}

// Parameters of a URL part or form body as (name, value) pairs, decoded.
FormPairs params_of(std::string_view encoded) { return parse_form(encoded); }

const std::string* find_param(const FormPairs& p, std::string_view name) {
  for (const auto& [k, v] : p) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::optional<std::string> opt_param(const FormPairs& p, std::string_view name) {
  const std::string* v = find_param(p, name);
  return v ? std::optional<std::string>(*v) : std::nullopt;
}

std::string param_or_empty(const FormPairs& p, std::string_view name) {
  const std::string* v = find_param(p, name);
  return v ? *v : std::string();
}

// "scheme://host[:port]/path" with the default port dropped: how a redirect URI is compared.
std::string normalize_url_base(std::string_view url) {
  UrlParts u = split_url(url);
  std::string out = u.scheme + "://" + u.host;
  if (u.port && !((u.scheme == "https" && *u.port == 443) || (u.scheme == "http" && *u.port == 80))) {
    out += ":" + std::to_string(*u.port);
  }
  out += u.path.empty() ? "/" : u.path;
  return out;
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0 || iends_with(host, ".localhost");
}

// Token table ----------------------------------------------------------------------------------

TokenFacts facts_from(const DecodedToken& d, const KnownApps& known, const std::vector<std::string>* keep_claims) {
  TokenFacts f;
  f.fingerprint = d.fingerprint;
  f.jwt = d.format == TokenFormat::kJws;
  f.encrypted = d.format == TokenFormat::kJwe;
  if (!f.jwt) return f;
  TokenInfo info = interpret(d, known);
  f.version = info.version;
  f.tenant = info.tenant;
  f.client_id = ascii_lower(info.client_id);
  f.client_name = info.client_name;
  f.audience = info.audience;
  f.resource_app_id = ascii_lower(info.resource_app_id);
  f.resource_name = info.audience_name;
  f.subject = info.subject;
  f.user = info.user;
  f.nonce = info.nonce;
  f.uti = info.uti;
  f.idtyp = info.idtyp;
  f.token_use = info.token_use;
  f.scopes = info.scopes;
  f.roles = info.roles;
  f.exp = info.exp;
  f.iat = info.iat;
  if (keep_claims) {
    // Custom rules look claims up by name only (custom_rules.cpp claim_text/claim_matches), so
    // the members they name answer every lookup exactly as the whole document would.
    if (d.claims.is_object()) {
      nlohmann::json kept = nlohmann::json::object();
      for (const std::string& name : *keep_claims) {
        if (auto it = d.claims.find(name); it != d.claims.end()) kept[name] = *it;
      }
      f.claims = std::move(kept);
    } else {
      f.claims = d.claims;
    }
  }
  return f;
}

// User-Agent ------------------------------------------------------------------------------------

struct Product {
  std::string name, version;
};

// RFC 9110 §10.1.5: User-Agent = product *( RWS ( product / comment ) ); product = token ["/" version].
std::vector<Product> products_of(std::string_view ua) {
  std::vector<Product> out;
  size_t i = 0;
  int depth = 0;
  while (i < ua.size() && out.size() < 32) {
    char c = ua[i];
    if (c == '(') { ++depth; ++i; continue; }
    if (c == ')') { if (depth) --depth; ++i; continue; }
    if (depth > 0 || c == ' ' || c == '\t') { ++i; continue; }
    size_t end = i;
    while (end < ua.size() && ua[end] != ' ' && ua[end] != '\t' && ua[end] != '(') ++end;
    std::string_view tok = ua.substr(i, end - i);
    size_t slash = tok.find('/');
    Product p;
    p.name = std::string(tok.substr(0, slash));
    if (slash != std::string_view::npos) p.version = std::string(tok.substr(slash + 1));
    out.push_back(std::move(p));
    i = end;
  }
  return out;
}

}  // namespace

ClientTool parse_user_agent(std::string_view ua) {
  ClientTool t;
  ua = trim(ua);
  if (ua.empty()) return t;
  const std::vector<Product> products = products_of(ua);
  if (products.empty()) return t;
  // The most specific product wins: a Terraform provider over Terraform, the Azure CLI over the
  // Python SDK it is built on, a named tool over a generic HTTP library.
  static const std::vector<std::string> kSpecific = {
      "terraform-provider-azurerm", "terraform-provider-azapi", "terraform-provider-azuread",
      "AZURECLI", "AzurePowershell", "pulumi-azure-native", "Bicep", "MSAL.Python", "MSAL.JS",
      "azsdk-go", "azsdk-python", "azsdk-js", "azsdk-net", "azsdk-java"};
  const Product* chosen = nullptr;
  for (const auto& want : kSpecific) {
    for (const auto& p : products) {
      if (iequals(p.name, want) || istarts_with(p.name, want + "-")) {
        chosen = &p;
        break;
      }
    }
    if (chosen) break;
  }
  if (!chosen && iequals(products.front().name, "Mozilla")) {
    // Browsers: "Mozilla/5.0 (...) AppleWebKit/... Chrome/126 Safari/537.36 Edg/126" -> the
    // most specific browser token.
    for (const char* b : {"Edg", "OPR", "Firefox", "Chrome", "Safari"}) {
      for (const auto& p : products) {
        if (iequals(p.name, b)) {
          chosen = &p;
          break;
        }
      }
      if (chosen) break;
    }
    if (chosen) {
      t.name = chosen->name;
      t.version = chosen->version;
      t.display = "browser " + chosen->name + (chosen->version.empty() ? "" : "/" + chosen->version);
      return t;
    }
  }
  if (!chosen) chosen = &products.front();
  t.name = chosen->name;
  t.version = chosen->version;
  t.display = chosen->version.empty() ? chosen->name : chosen->name + "/" + chosen->version;
  if (chosen != &products.front()) {
    const Product& host = products.front();
    t.display += " (" + (host.version.empty() ? host.name : host.name + "/" + host.version) + ")";
  }
  return t;
}

TokenId TokenTable::intern(std::string_view raw, const KnownApps& known, const std::vector<std::string>* keep_claims) {
  for (const auto& [recent, id] : recent_) {
    if (recent.size() == raw.size() && !recent.empty() && recent == raw) return id;
  }
  auto remember = [&](TokenId id) {
    recent_[recent_next_] = {std::string(raw), id};
    recent_next_ = (recent_next_ + 1) % kRecent;
    return id;
  };
  const std::string fp = token_fingerprint(raw);
  if (auto it = by_fingerprint_.find(fp); it != by_fingerprint_.end()) return remember(it->second);
  TokenFacts f;
  auto decoded = decode_token(raw);
  if (decoded.ok()) {
    f = facts_from(*decoded, known, keep_claims);
  }
  f.fingerprint = fp;
  const TokenId id = static_cast<TokenId>(tokens_.size());
  tokens_.push_back(std::move(f));
  by_fingerprint_.emplace(fp, id);
  return remember(id);
}

std::string parse_aux_header(std::string_view value, std::vector<std::pair<std::string, std::string>>& tokens) {
  // ARM (authenticate-multi-tenant): "x-ms-authorization-auxiliary: Bearer <auxiliary-token1>,
  // EncryptedBearer <auxiliary-token2>, Bearer <auxiliary-token3>" — each value "<scheme>
  // <token>", separated by ", ".
  std::string problem;
  if (trim(value).empty()) return "the header is empty";
  if (value.find(';') != std::string_view::npos && value.find(", ") == std::string_view::npos &&
      value.find("; ") != std::string_view::npos) {
    problem = "tokens are separated by \"; \" (the 2019 form); ARM documents \", \"";
  }
  size_t pos = 0;
  size_t parts = 0;
  while (pos <= value.size() && parts < kMaxAuxTokens) {
    size_t end = value.find(',', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view part = value.substr(pos, end - pos);
    ++parts;
    if (end < value.size() && (end + 1 >= value.size() || value[end + 1] != ' ') && problem.empty()) {
      problem = "tokens must be separated by \", \" (comma and one space)";
    }
    std::string_view t = trim(part);
    if (t.empty()) {
      if (problem.empty()) problem = "an empty entry between separators";
    } else {
      size_t sp = t.find(' ');
      std::string_view scheme = sp == std::string_view::npos ? std::string_view() : t.substr(0, sp);
      std::string_view tok = sp == std::string_view::npos ? t : trim(t.substr(sp + 1));
      if (sp == std::string_view::npos) {
        if (problem.empty()) problem = "entry " + std::to_string(parts) + " has no scheme (expected \"Bearer <token>\")";
      } else if (scheme != "Bearer" && scheme != "EncryptedBearer") {
        if (problem.empty()) {
          problem = "entry " + std::to_string(parts) + " uses scheme \"" + clip(scheme, 32) +
                    "\" (expected Bearer or EncryptedBearer)";
        }
      } else if (tok.empty() || tok.find(' ') != std::string_view::npos) {
        if (problem.empty()) problem = "entry " + std::to_string(parts) + " is not \"<scheme> <token>\"";
      }
      if (!tok.empty()) tokens.emplace_back(std::string(scheme), std::string(tok));
    }
    if (end >= value.size()) break;
    pos = end + 1;
  }
  return problem;
}

std::optional<LinkedAuthFailure> parse_linked_authorization_failure(const nlohmann::json& body) {
  // ARM error bodies: {"error": {"code", "message"}}, async operation status
  // {"status": "Failed", "error": {...}}, or deployments' {"properties": {"error": {...}}}.
  const nlohmann::json* found = nullptr;
  auto visit = [&](const nlohmann::json& j, int depth, auto& self) -> void {
    if (found || depth > 4 || !j.is_object()) return;
    auto code = j.find("code");
    if (code != j.end() && code->is_string() && code->get<std::string>() == "LinkedAuthorizationFailed") {
      found = &j;
      return;
    }
    for (const char* k : {"error", "properties", "details"}) {
      auto it = j.find(k);
      if (it == j.end()) continue;
      if (it->is_array()) {
        for (size_t i = 0; i < it->size() && i < 8; ++i) self((*it)[i], depth + 1, self);
      } else {
        self(*it, depth + 1, self);
      }
    }
  };
  visit(body, 0, visit);
  if (!found) return std::nullopt;
  LinkedAuthFailure laf;
  const std::string msg = json_string(*found, "message").value_or("");
  laf.message = clip(msg, 600);
  // aux_header.errors.LinkedAuthorizationFailed_cross_tenant: "...however the current tenant
  // '{tenantId}' is not authorized to access linked subscription '{subscriptionId}'." Only this
  // form is fixed by an auxiliary token; the linked-scope form ("does not have permission to
  // perform action(s) ... on the linked scope(s)") is a role missing in the same tenant.
  auto quoted_after = [&](std::string_view marker) -> std::string {
    size_t p = msg.find(marker);
    if (p == std::string::npos) return "";
    p += marker.size();
    size_t e = msg.find('\'', p);
    return e == std::string::npos ? "" : msg.substr(p, std::min<size_t>(e - p, 128));
  };
  laf.linked_subscription = quoted_after("is not authorized to access linked subscription '");
  laf.current_tenant = quoted_after("the current tenant '");
  laf.cross_tenant = !laf.linked_subscription.empty();
  return laf;
}

std::pair<std::string, std::string> split_scope(std::string_view scope, const KnownApps& known) {
  static const std::vector<std::string_view> kOidc = {"openid", "profile", "email", "offline_access"};
  if (std::find(kOidc.begin(), kOidc.end(), scope) != kOidc.end()) return {"", std::string(scope)};
  const size_t scheme = scope.find("://");
  if (scheme == std::string_view::npos) return {std::string(kGraphAppId), std::string(scope)};
  const size_t last = scope.rfind('/');
  if (last == std::string_view::npos || last < scheme + 3) return {"", std::string(scope)};
  std::string_view prefix = scope.substr(0, last);
  std::string_view name = scope.substr(last + 1);
  const KnownResource* r = known.resource_for_audience(prefix);
  if (!r && !prefix.empty() && prefix.back() == '/') r = known.resource_for_audience(prefix.substr(0, prefix.size() - 1));
  return {r ? ascii_lower(r->app_id) : std::string(prefix), std::string(name)};
}

namespace {

struct FlowContext {
  const Flow& flow;
  const RulePack& pack;
  EventLog& log;
  FlowClass cls;
  std::string tool;
  std::string path;
  const std::vector<std::string>* keep_claims = nullptr;  // claim names to keep, nullptr: none
};

std::string tool_for(const Flow& flow, EventLog& log) {
  const std::string conn = flow.client_addr + "#" + std::to_string(flow.connection_id);
  const std::string* ua = flow.request.headers.find("User-Agent");
  if (ua && !trim(*ua).empty()) {
    std::string display = parse_user_agent(*ua).display;
    if (flow.connection_id != 0 || !flow.client_addr.empty()) log.tool_by_connection[conn] = display;
    return display;
  }
  auto it = log.tool_by_connection.find(conn);
  return it == log.tool_by_connection.end() ? std::string() : it->second;
}

// The authorization response carried by a URL (Location or request target): RFC 6749 §4.1.2
// (query: code, state) and §4.2.2 (fragment: access_token, state), OIDC id_token.
bool read_redirect_params(const FormPairs& q, const FormPairs& frag, const FormPairs* body, FlowContext& c,
                          RedirectEvent& r) {
  auto get = [&](std::string_view n) -> const std::string* {
    if (const auto* v = find_param(q, n)) return v;
    if (const auto* v = find_param(frag, n)) return v;
    if (body) return find_param(*body, n);
    return nullptr;
  };
  const std::string* code = get("code");
  const std::string* id_token = get("id_token");
  const std::string* access_token = get("access_token");
  const std::string* error = get("error");
  if (!code && !id_token && !access_token && !error) return false;
  if (const auto* s = get("state")) r.state = *s;
  if (code && !code->empty()) r.code_fp = code_fingerprint(*code);
  if (error) r.error = clip(*error, 64);
  if (id_token && !id_token->empty()) {
    r.id_token = c.log.tokens.intern(*id_token, c.pack.known, c.keep_claims);
    r.id_token_in_url = find_param(q, "id_token") || find_param(frag, "id_token");
  }
  if (access_token && !access_token->empty()) {
    r.access_token = c.log.tokens.intern(*access_token, c.pack.known, c.keep_claims);
    r.access_token_in_url = find_param(q, "access_token") || find_param(frag, "access_token");
  }
  return true;
}

void extract_authorize(FlowContext& c) {
  const Flow& f = c.flow;
  UrlParts u = split_url(f.path_and_query());
  FormPairs p = params_of(u.query);
  if (auto body = form_body(f.request.body, f.request.headers)) {
    for (auto& kv : *body) p.push_back(std::move(kv));
  }
  AuthorizeEvent a;
  a.flow = f.id;
  a.time_us = f.times.start_us;
  a.host = f.host;
  a.authority = c.cls.authority;
  a.endpoint_version = c.cls.endpoint_version;
  a.tool = c.tool;
  a.client_id = ascii_lower(param_or_empty(p, "client_id"));
  a.response_type = param_or_empty(p, "response_type");
  a.response_mode = param_or_empty(p, "response_mode");
  a.scope = clip(param_or_empty(p, "scope"), 2048);
  a.resource = clip(param_or_empty(p, "resource"), 256);
  if (const auto* ru = find_param(p, "redirect_uri")) a.redirect_uri = normalize_url_base(*ru);
  a.state = opt_param(p, "state");
  a.nonce = opt_param(p, "nonce");
  a.code_challenge = opt_param(p, "code_challenge");
  a.code_challenge_method = opt_param(p, "code_challenge_method");
  if (a.response_type.empty() && a.client_id.empty()) return;  // not an OAuth request (e.g. a page asset)
  c.log.authorizes.push_back(std::move(a));
}

void extract_location_redirect(FlowContext& c) {
  const Flow& f = c.flow;
  if (!f.response) return;
  const std::string* loc = f.response->headers.find("Location");
  if (!loc) return;
  UrlParts u = split_url(*loc);
  if (iends_with(u.path, "/authorize")) return;  // a hop between login hosts, not a response
  RedirectEvent r;
  r.flow = f.id;
  r.time_us = f.times.start_us;
  r.from_location = true;
  r.host = f.host;
  r.target = normalize_url_base(*loc);
  if (!read_redirect_params(params_of(u.query), params_of(u.fragment), nullptr, c, r)) return;
  if (c.cls.kind == "authorize" && !c.log.authorizes.empty() && c.log.authorizes.back().flow == f.id) {
    r.authorize = static_cast<int64_t>(c.log.authorizes.size() - 1);
    c.log.authorizes.back().direct_redirect = static_cast<int64_t>(c.log.redirects.size());
  }
  c.log.redirects.push_back(std::move(r));
}

void extract_client_redirect(FlowContext& c) {
  const Flow& f = c.flow;
  const std::string role = c.cls.host_role;
  const bool native_client = iends_with(c.path, "/oauth2/nativeclient");
  // Microsoft APIs never receive authorization responses; their ?code= is something else.
  if (!native_client && !role.empty()) return;
  UrlParts u = split_url(f.path_and_query());
  FormPairs q = params_of(u.query), frag = params_of(u.fragment);
  std::optional<FormPairs> body;
  if (iequals(f.request.method, "POST")) body = form_body(f.request.body, f.request.headers);
  RedirectEvent r;
  r.flow = f.id;
  r.time_us = f.times.start_us;
  r.host = f.host;
  r.target = normalize_url_base(f.url());
  if (!read_redirect_params(q, frag, body ? &*body : nullptr, c, r)) return;
  r.client_side_has_state_or_token = r.state.has_value() || r.id_token != kNoToken || r.access_token != kNoToken;
  r.id_token_presented = r.id_token != kNoToken;
  c.log.redirects.push_back(std::move(r));
}

// Exactly json_body(body) -> is_object() -> json_string(member) for the three members, read
// with nlohmann's SAX parser instead of a document: the same lexer and grammar (a body the
// document parser rejects yields nothing here too), the same size and depth bounds, and a
// repeated member keeps its last value as the document would, but no tree of a 2-3 KB reply
// holding three JWTs is built per token request (it was a tenth of `analyze` at 100,000 flows).
class TokenResponseSax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit TokenResponseSax(TokenResponseStrings& out) : out_(out) {}
  bool null() override { return value_not_string(); }
  bool boolean(bool) override { return value_not_string(); }
  bool number_integer(number_integer_t) override { return value_not_string(); }
  bool number_unsigned(number_unsigned_t) override { return value_not_string(); }
  bool number_float(number_float_t, const string_t&) override { return value_not_string(); }
  bool binary(binary_t&) override { return value_not_string(); }
  bool string(string_t& val) override {
    if (depth_ == 1 && slot_) *slot_ = val;
    return true;
  }
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override {
    if (depth_ == 0) root_is_object_ = false;
    return open();
  }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    if (depth_ == 1) {
      slot_ = name == "access_token" ? &out_.access_token
              : name == "id_token"   ? &out_.id_token
              : name == "scope"      ? &out_.scope
                                     : nullptr;
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
  bool root_is_object() const { return root_is_object_; }

 private:
  // A member's value that is not a string: json_string() would find it and say "no string".
  bool value_not_string() {
    if (depth_ == 1 && slot_) slot_->reset();
    return true;
  }
  bool open() {
    value_not_string();
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (depth_ == 1) slot_ = nullptr;
    return true;
  }
  TokenResponseStrings& out_;
  std::optional<std::string>* slot_ = nullptr;
  int depth_ = 0;
  bool root_is_object_ = true;
};

// The common case read by hand: a plain JSON object — ASCII strings without escapes, numbers
// without exponents, at most 64 deep — is validated strictly and its top-level members read in
// one pass. Anything else (an escape, non-ASCII text, an exponent that could overflow, a syntax
// error) returns false and the caller lets nlohmann's SAX parser decide; so true is returned only
// for texts nlohmann accepts, with the members it would give.
class PlainJsonObjectReader {
 public:
  PlainJsonObjectReader(std::string_view text, TokenResponseStrings& out) : t_(text), out_(out) {}

  bool read() {
    if (t_.empty() || t_.front() != '{') return false;
    if (!value(nullptr)) return false;
    skip_ws();
    return i_ == t_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;
  static constexpr size_t kMaxNumberChars = 300;  // any plain decimal this long is a finite double

  void skip_ws() {
    // RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool string(std::string_view* s) {
    const size_t start = ++i_;  // past the opening quote
    while (i_ < t_.size() && t_[i_] != '"') {
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c < 0x20 || c > 0x7e || c == '\\') return false;  // control (invalid), non-ASCII or escape (not plain)
      ++i_;
    }
    if (i_ >= t_.size()) return false;
    *s = t_.substr(start, i_ - start);
    ++i_;
    return true;
  }
  bool digits() {
    const size_t start = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool number() {
    // RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]; int = zero / ( digit1-9 *DIGIT )
    const size_t start = i_;
    if (t_[i_] == '-') ++i_;
    if (i_ >= t_.size()) return false;
    if (t_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) return false;  // may overflow: not plain
    return i_ - start <= kMaxNumberChars;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  // A value; `slot` is the top-level member it is the value of (nullptr: not a wanted member).
  bool value(std::optional<std::string>* slot) {
    skip_ws();
    if (i_ >= t_.size()) return false;
    const char c = t_[i_];
    if (c == '"') {
      std::string_view s;
      if (!string(&s)) return false;
      if (slot) *slot = std::string(s);
      return true;
    }
    if (slot) slot->reset();  // a member whose last value is not a string has no string value
    if (c == '{' || c == '[') return container(c == '{');
    if (c == 't') return literal("true");
    if (c == 'f') return literal("false");
    if (c == 'n') return literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    return false;
  }
  bool container(bool object) {
    if (++depth_ > kMaxDepth) return false;
    ++i_;
    skip_ws();
    const char close = object ? '}' : ']';
    if (i_ < t_.size() && t_[i_] == close) {
      ++i_;
      --depth_;
      return true;
    }
    while (true) {
      std::optional<std::string>* slot = nullptr;
      if (object) {
        skip_ws();
        std::string_view name;
        if (i_ >= t_.size() || t_[i_] != '"' || !string(&name)) return false;
        skip_ws();
        if (i_ >= t_.size() || t_[i_] != ':') return false;
        ++i_;
        if (depth_ == 1) {
          slot = name == "access_token" ? &out_.access_token
                 : name == "id_token"   ? &out_.id_token
                 : name == "scope"      ? &out_.scope
                                        : nullptr;
        }
      }
      if (!value(slot)) return false;
      skip_ws();
      if (i_ >= t_.size()) return false;
      if (t_[i_] == ',') {
        ++i_;
        continue;
      }
      if (t_[i_] != close) return false;
      ++i_;
      --depth_;
      return true;
    }
  }

  std::string_view t_;
  TokenResponseStrings& out_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<TokenResponseStrings> read_token_response(const Body& body, const Headers& headers) {
  // json_body()'s text, then parse_json()'s bounds.
  const auto text = json_body_text(body, headers);
  if (!text) return std::nullopt;
  const std::string_view t = *text;
  if (t.size() > kMaxJsonBodyBytes || json_depth_exceeds(t, kMaxJsonBodyDepth)) return std::nullopt;
  TokenResponseStrings out;
  if (PlainJsonObjectReader(t, out).read()) return out;
  out = TokenResponseStrings{};
  TokenResponseSax sax(out);
  if (!nlohmann::json::sax_parse(t.begin(), t.end(), &sax)) return std::nullopt;
  if (!sax.root_is_object()) return std::nullopt;
  return out;
}

namespace {

void extract_token_request(FlowContext& c) {
  const Flow& f = c.flow;
  auto body = form_body(f.request.body, f.request.headers);
  if (!body) return;
  TokenRequestEvent t;
  t.flow = f.id;
  t.time_us = f.times.start_us;
  t.host = f.host;
  t.authority = c.cls.authority;
  t.endpoint_version = c.cls.endpoint_version;
  t.grant = c.cls.grant.empty() ? normalize_grant(param_or_empty(*body, "grant_type")) : c.cls.grant;
  t.client_id = ascii_lower(param_or_empty(*body, "client_id"));
  t.tool = c.tool;
  t.scope = clip(param_or_empty(*body, "scope"), 2048);
  t.resource = clip(param_or_empty(*body, "resource"), 256);
  if (const auto* code = find_param(*body, "code"); code && !code->empty()) t.code_fp = code_fingerprint(*code);
  if (const auto* v = find_param(*body, "code_verifier")) {
    t.has_verifier = true;
    t.verifier_s256 = verifier_s256(*v);
  }
  if (f.response) {
    t.status = f.response->status;
    if (t.status >= 200 && t.status < 300) {
      if (auto j = read_token_response(f.response->body, f.response->headers)) {
        if (j->access_token && !j->access_token->empty()) {
          t.access_token = c.log.tokens.intern(*j->access_token, c.pack.known, c.keep_claims);
        }
        if (j->id_token && !j->id_token->empty()) {
          t.id_token = c.log.tokens.intern(*j->id_token, c.pack.known, c.keep_claims);
        }
        t.granted_scope = clip(j->scope.value_or(""), 2048);
      }
    }
  }
  if (t.client_id.empty() && t.access_token != kNoToken) t.client_id = c.log.tokens.at(t.access_token).client_id;

  if (t.grant == "password") {
    // RFC 9700 §2.4: "The resource owner password credentials grant MUST NOT be used."
    LocalHit h;
    h.rule = "ropc-grant";
    h.flow = f.id;
    const std::string* name = c.pack.known.client_name(t.client_id);
    const std::string client = t.client_id.empty() ? "an unidentified client"
                               : name ? "client " + *name + " (" + t.client_id + ")"
                                      : "client " + t.client_id;
    h.message = client + (c.tool.empty() ? "" : " [" + c.tool + "]") +
                " used the resource owner password grant (grant_type=password) against tenant " +
                (t.authority.empty() ? std::string("?") : t.authority) +
                ": it handles the user's password and cannot satisfy MFA or Conditional Access. Use the "
                "authorization code flow with PKCE (interactive) or the device code flow.";
    h.evidence["client_id"] = t.client_id;
    h.evidence["tenant"] = t.authority;
    if (auto user = find_param(*body, "username")) h.evidence["username"] = clip(*user, 128);
    if (!c.tool.empty()) h.evidence["tool"] = c.tool;
    c.log.local_hits.push_back(std::move(h));
  }
  c.log.token_requests.push_back(std::move(t));
}

void extract_bearer_use(FlowContext& c) {
  const Flow& f = c.flow;
  const std::string* auth = f.request.headers.find("Authorization");
  if (!auth) return;
  std::string_view v = trim(*auth);
  // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token (the scheme is case-insensitive).
  if (!istarts_with(v, "Bearer ")) return;
  std::string_view raw = trim(v.substr(7));
  if (raw.empty()) return;
  BearerUseEvent b;
  b.flow = f.id;
  b.time_us = f.times.start_us;
  b.scheme = f.scheme;
  b.host = f.host;
  b.method = f.request.method;
  b.path = clip(c.path);
  b.tool = c.tool;
  b.host_role = c.cls.host_role;
  b.token = c.log.tokens.intern(raw, c.pack.known, c.keep_claims);
  b.arm = c.cls.kind == "arm" || c.cls.host_role == "arm";
  b.arm_write = c.cls.arm_write;
  b.subscription = c.cls.subscription;
  if (const std::string* aux = f.request.headers.find("x-ms-authorization-auxiliary")) {
    b.has_aux = true;
    std::vector<std::pair<std::string, std::string>> toks;
    b.aux_format_problem = parse_aux_header(*aux, toks);
    if (f.request.headers.count("x-ms-authorization-auxiliary") > 1 && b.aux_format_problem.empty()) {
      b.aux_format_problem = "the header is sent more than once";
    }
    b.aux_count = toks.size();
    for (auto& [scheme, tok] : toks) {
      AuxToken a;
      a.scheme = scheme;
      a.token = c.log.tokens.intern(tok, c.pack.known, c.keep_claims);
      b.aux_tokens.push_back(a);
    }
  }
  if (f.response) {
    b.status = f.response->status;
    const auto& body = f.response->body;
    const bool small = body.data && body.data->size() <= kMaxArmErrorScanBytes;
    if (b.arm && small && (b.status >= 400 || body.data->find("LinkedAuthorizationFailed") != std::string::npos)) {
      if (auto j = json_body(body, f.response->headers); j && j->is_object()) {
        if (auto e = j->find("error"); e != j->end() && e->is_object()) {
          b.error_code = clip(json_string(*e, "code").value_or(""), 96);
        }
        b.laf = parse_linked_authorization_failure(*j);
        if (b.laf && b.error_code.empty()) b.error_code = "LinkedAuthorizationFailed";
      }
    }
  }
  c.log.bearer_uses.push_back(std::move(b));
}

// RFC 9700 §4.3.2: "Access tokens MUST NOT be passed in a URI query parameter"; RFC 6750 §2.3
// and RFC 6749 §2.3.1 ("The parameters can only be transmitted in the request-body and MUST NOT
// be included in the request URI") for client secrets; the same holds for passwords and refresh
// tokens.
void extract_token_in_url(FlowContext& c) {
  static const std::vector<std::string_view> kNames = {"access_token", "client_secret", "password",
                                                       "refresh_token"};
  auto scan = [&](std::string_view url, const char* where) {
    UrlParts u = split_url(url);
    std::vector<std::string> hits;
    for (const auto* part : {&u.query, &u.fragment}) {
      if (part == &u.fragment && std::string_view(where) == "Location") continue;  // implicit-grant's
      for (const auto& [k, v] : params_of(*part)) {
        if (v.empty()) continue;
        if (std::find(kNames.begin(), kNames.end(), k) != kNames.end() &&
            std::find(hits.begin(), hits.end(), k) == hits.end()) {
          hits.push_back(k);
        }
      }
    }
    if (hits.empty()) return;
    std::sort(hits.begin(), hits.end());
    std::string names;
    for (const auto& h : hits) names += (names.empty() ? "" : ", ") + h;
    LocalHit h;
    h.rule = "token-in-url";
    h.flow = c.flow.id;
    const std::string host = split_url(url).host.empty() ? c.flow.host : split_url(url).host;
    const std::string path = split_url(url).path;
    h.message = std::string(std::string_view(where) == "Location" ? "a redirect (Location header) to "
                                                                  : "a request to ") +
                host + clip(path, 120) + " carries " + names + " in the URL" +
                (c.tool.empty() ? "" : " [" + c.tool + "]") +
                ", where proxies, server logs and browser history keep it. Send credentials in the "
                "Authorization header or a POST body, and revoke the exposed ones.";
    h.evidence["location"] = where;
    h.evidence["host"] = host;
    h.evidence["path"] = clip(path, 120);
    h.evidence["parameters"] = hits;
    c.log.local_hits.push_back(std::move(h));
  };
  scan(c.flow.path_and_query(), "request URL");
  if (c.flow.response) {
    if (const std::string* loc = c.flow.response->headers.find("Location")) scan(*loc, "Location");
  }
}

// RFC 6749 §10.9/§1.6 and RFC 6750 §5.3: tokens and credentials only over TLS. RFC 8252 §7.3
// loopback redirects are plain http by design, and never leave the machine.
void extract_cleartext(FlowContext& c) {
  const Flow& f = c.flow;
  if (f.kind != FlowKind::kHttp || !iequals(f.scheme, "http")) return;
  if (c.pack.params.exempt_loopback_cleartext && is_loopback_host(f.host)) return;
  std::vector<std::string> kinds, locations;
  for (const auto& t : find_tokens(f)) {
    if (t.kind == "authorization_code" || t.kind == "device_code" || t.kind == "code_verifier") continue;
    if (std::find(kinds.begin(), kinds.end(), t.kind) == kinds.end()) kinds.push_back(t.kind);
    if (locations.size() < 8) locations.push_back(t.location);
  }
  if (kinds.empty()) return;
  std::sort(kinds.begin(), kinds.end());
  std::string list;
  for (const auto& k : kinds) list += (list.empty() ? "" : ", ") + k;
  LocalHit h;
  h.rule = "cleartext-credentials";
  h.flow = f.id;
  h.message = list + " sent over plain http to " + f.host + (f.port && f.port != 80 ? ":" + std::to_string(f.port) : "") +
              (c.tool.empty() ? "" : " [" + c.tool + "]") +
              ": anyone on the network path can read and replay them. Use https, and revoke what was sent.";
  h.evidence["host"] = f.host;
  h.evidence["kinds"] = kinds;
  h.evidence["locations"] = locations;
  c.log.local_hits.push_back(std::move(h));
}

void extract_custom(FlowContext& c) {
  if (c.pack.custom_rules.empty()) return;
  // Tokens of this flow: the bearer, aux tokens, and tokens the response issued.
  std::vector<const nlohmann::json*> claims;
  auto add = [&](TokenId id) {
    if (id == kNoToken) return;
    const auto& t = c.log.tokens.at(id);
    if (t.claims) claims.push_back(&*t.claims);
  };
  if (!c.log.bearer_uses.empty() && c.log.bearer_uses.back().flow == c.flow.id) {
    add(c.log.bearer_uses.back().token);
    for (const auto& a : c.log.bearer_uses.back().aux_tokens) add(a.token);
  }
  if (!c.log.token_requests.empty() && c.log.token_requests.back().flow == c.flow.id) {
    add(c.log.token_requests.back().access_token);
    add(c.log.token_requests.back().id_token);
  }
  CustomRuleInput in;
  in.flow = &c.flow;
  in.flow_class = c.cls.kind;
  in.tool = c.tool;
  in.token_claims = claims;
  for (const auto& rule : c.pack.custom_rules) {
    if (!c.pack.enabled(rule.id)) continue;
    auto hit = match_custom_rule(rule, in);
    if (!hit) continue;
    LocalHit h;
    h.rule = rule.id;
    h.flow = c.flow.id;
    h.message = std::move(hit->message);
    h.evidence = std::move(hit->evidence);
    c.log.local_hits.push_back(std::move(h));
  }
}

bool custom_rules_read_claims(const RulePack& pack) {
  return std::any_of(pack.custom_rules.begin(), pack.custom_rules.end(), [](const CustomRule& r) {
    return !r.claims.empty() || r.message.find("{claim:") != std::string::npos ||
           r.message.find("{client}") != std::string::npos || r.message.find("{tenant}") != std::string::npos ||
           r.message.find("{audience}") != std::string::npos;
  });
}

void add_name(std::vector<std::string>& names, std::string name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
}

}  // namespace

std::optional<std::vector<std::string>> custom_rule_claim_names(const RulePack& pack) {
  if (!custom_rules_read_claims(pack)) return std::nullopt;
  std::vector<std::string> names;
  for (const CustomRule& r : pack.custom_rules) {
    for (const CustomClaimMatch& m : r.claims) add_name(names, m.claim);
    // Placeholders as custom_rules.cpp render() reads them: "{name}" up to the next '}'.
    size_t pos = 0;
    while (pos < r.message.size()) {
      const size_t open = r.message.find('{', pos);
      if (open == std::string::npos) break;
      const size_t close = r.message.find('}', open);
      if (close == std::string::npos) break;
      const std::string name = r.message.substr(open + 1, close - open - 1);
      if (name == "client") {
        add_name(names, "azp");
        add_name(names, "appid");
      } else if (name == "tenant") {
        add_name(names, "tid");
      } else if (name == "audience") {
        add_name(names, "aud");
      } else if (name.rfind("claim:", 0) == 0) {
        add_name(names, name.substr(6));
      }
      pos = close + 1;
    }
  }
  return names;
}

BodyNeeds bodies_read_by_extract_events(const Flow& f, const RulePack& pack) {
  BodyNeeds needs;
  if (f.kind != FlowKind::kHttp) return needs;
  // extract_cleartext: find_tokens() reads both bodies of every plain-http flow.
  if (iequals(f.scheme, "http")) return BodyNeeds{true, true};
  // The class's kind, host role and path come from the request line and Host alone (only the
  // token grant reads the body, and the token extractor loads that body anyway).
  const FlowClass cls = classify(f, pack.known);
  const std::string path = split_url(f.path_and_query()).path;
  const bool post = iequals(f.request.method, "POST");
  if (cls.kind == "authorize") needs.request = true;  // extract_authorize: form_post body
  // extract_client_redirect: a form_post authorization response delivered to a client.
  const bool native_client = iends_with(path, "/oauth2/nativeclient");
  if (post && (native_client || cls.host_role.empty())) needs.request = true;
  if (cls.kind == "token") needs.request = true;  // classify(): the grant_type of the form body
  if (cls.kind == "token" && post) needs = BodyNeeds{true, true};  // extract_token_request
  // extract_bearer_use: ARM error bodies (403 LinkedAuthorizationFailed ...), and any ARM body
  // that names LinkedAuthorizationFailed, of requests carrying a bearer token.
  if ((cls.kind == "arm" || cls.host_role == "arm") && f.request.headers.find("Authorization") != nullptr) {
    needs.response = true;
  }
  return needs;
}

void extract_events(const Flow& flow, const RulePack& pack, EventLog& log) {
  ++log.flows;
  if (flow.kind != FlowKind::kHttp) return;
  FlowContext c{flow, pack, log, classify(flow, pack.known), "", "", nullptr};
  c.tool = tool_for(flow, log);
  c.path = split_url(flow.path_and_query()).path;
  if (log.claim_names_pack != &pack) {
    log.claim_names = custom_rule_claim_names(pack);
    log.claim_names_pack = &pack;
  }
  c.keep_claims = log.claim_names ? &*log.claim_names : nullptr;

  if (c.cls.kind == "authorize") extract_authorize(c);
  if (c.cls.host_role == "login") {
    extract_location_redirect(c);
  } else {
    extract_client_redirect(c);
  }
  if (c.cls.host_role == "login" && iends_with(c.path, "/oauth2/nativeclient")) extract_client_redirect(c);
  if (c.cls.kind == "token" && iequals(flow.request.method, "POST")) extract_token_request(c);
  extract_bearer_use(c);
  extract_token_in_url(c);
  extract_cleartext(c);
  extract_custom(c);
}

}  // namespace authscope
