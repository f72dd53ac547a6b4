#include "analyzers/redact.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <list>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "analyzers/http_text.h"
#include "analyzers/jwt.h"

namespace authscope {
namespace {

constexpr std::string_view kSha256Marker = "authscope-redacted:sha256=";
constexpr std::string_view kS256Marker = "authscope-redacted:s256=";
constexpr std::string_view kPasswordMarker = "authscope-redacted:password";
constexpr size_t kMaxJsonWalkNodes = 100000;

enum class SecretClass { kNone, kToken, kPassword, kVerifier };

// Form/query/JSON member names whose values are credentials. Tokens keep their claims (JWT) or
// become fingerprinted markers; passwords lose everything; verifiers keep their S256.
SecretClass classify_name(std::string_view name) {
  // ARM "listKeys"-style answers (Azure REST API reference): Event Hubs / Service Bus / Relay
  // AccessKeys (primaryKey, secondaryKey, primary/secondary and alias connection strings),
  // Cosmos DB DatabaseAccountListKeysResult (primary/secondary [Readonly]MasterKey), Cognitive
  // Services ApiKeys (key1, key2), App Service publishing credentials (publishingPassword),
  // Storage listAccountSas / listServiceSas (accountSasToken, serviceSasToken). Storage
  // listKeys answers {"keys":[{"keyName":..,"value":<key>}]}: see KeyListContext.
  static constexpr std::array<std::string_view, 34> kTokenNames = {
      "code", "access_token", "id_token", "refresh_token", "assertion", "client_assertion",
      "id_token_hint", "device_code", "subject_token", "actor_token", "client_secret", "token",
      "request", "otc", "flowToken", "clientSecret", "secretText", "primaryKey", "secondaryKey",
      "primaryConnectionString", "secondaryConnectionString", "sessionToken",
      "aliasPrimaryConnectionString", "aliasSecondaryConnectionString", "primaryMasterKey",
      "secondaryMasterKey", "primaryReadonlyMasterKey", "secondaryReadonlyMasterKey", "key1", "key2",
      "publishingPassword", "accountSasToken", "serviceSasToken", "sasToken"};
  for (auto n : kTokenNames) {
    if (name == n) return SecretClass::kToken;
  }
  if (iequals(name, "password") || iequals(name, "passwd") || iequals(name, "pwd")) return SecretClass::kPassword;
  if (name == "code_verifier") return SecretClass::kVerifier;
  return SecretClass::kNone;
}

// In JSON documents "code" and "request" are everyday member names (ARM errors are
// {"error":{"code":"LinkedAuthorizationFailed",...}}), never OAuth parameters.
SecretClass classify_json_name(std::string_view name) {
  if (name == "code" || name == "request") return SecretClass::kNone;
  return classify_name(name);
}

// Where a JSON value sits relative to a key list ({"keys":[{"keyName":"key1","value":"<key>"}]},
// the answer of Storage listKeys): its "value" members are account keys, though "value" is
// everywhere else the most ordinary member name (every ARM listing is {"value":[...]}).
enum class KeyListContext : unsigned char { kNone, kList, kItem };

// The context of a member's value: the array under "keys" is a key list.
KeyListContext member_context(std::string_view name) {
  return name == "keys" ? KeyListContext::kList : KeyListContext::kNone;
}
// The context of an array element: the objects of a key list are its items.
KeyListContext element_context(KeyListContext array) {
  return array == KeyListContext::kList ? KeyListContext::kItem : KeyListContext::kNone;
}
// The class of a member of an object in context `object`.
SecretClass classify_json_member(std::string_view name, KeyListContext object) {
  if (object == KeyListContext::kItem && name == "value") return SecretClass::kToken;
  return classify_json_name(name);
}

std::string redact_by_class(SecretClass cls, std::string_view value) {
  if (value.empty() || is_redacted(value)) return std::string(value);
  switch (cls) {
    case SecretClass::kToken: return redact_token(value);
    case SecretClass::kPassword: return std::string(kPasswordMarker);
    case SecretClass::kVerifier: return verifier_marker(value);
    case SecretClass::kNone: break;
  }
  // Not a named credential, but a JWT anywhere is a bearer credential until proven otherwise.
  if (looks_like_jwt(value)) return redact_token(value);
  return std::string(value);
}

// Where the next "eyJ" (the base64url of '{"', which starts every JWS/JWE header) begins.
// memmem rather than std::string::find, which stops at every 'e' of the text.
size_t find_jwt_start(std::string_view text, size_t from) {
  if (from >= text.size()) return std::string_view::npos;
  const void* hit = ::memmem(text.data() + from, text.size() - from, "eyJ", 3);
  return hit == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(hit) - text.data());
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.';
}

// Replaces every JWS/JWE in free text by its redacted form (signatures removed). A run already
// followed by a marker ("h.c.authscope-redacted:sha256=...") is left alone. Returns true when
// something changed. Linear in the text size.
// In a URL or form body (`url_context`) the marker is percent-encoded, so a second pass parses
// the same pairs (a raw ':' or '=' would shift where names and values split).
bool redact_jwts_in_text(std::string& text, bool url_context = false) {
  bool changed = false;
  std::string out;
  size_t copied = 0, pos = 0;
  while (true) {
    size_t start = find_jwt_start(text, pos);
    if (start == std::string::npos) break;
    if (start > 0 && is_token_char(text[start - 1])) {  // middle of a longer run
      pos = start + 3;
      continue;
    }
    size_t end = start;
    while (end < text.size() && is_token_char(text[end])) ++end;
    while (end > start && text[end - 1] == '.') --end;
    std::string_view run(text.data() + start, end - start);
    pos = end > start ? end : start + 3;
    bool followed_by_marker = end < text.size() && run.size() >= 18 &&
                              run.substr(run.size() - 18) == "authscope-redacted" &&
                              (text[end] == ':' || istarts_with(std::string_view(text).substr(end), "%3A"));
    if (followed_by_marker || !looks_like_jwt(run)) continue;
    auto decoded = decode_token(run);
    if (!decoded.ok()) continue;
    out.append(text, copied, start - copied);
    out += url_context ? url_encode(redact_token(run)) : redact_token(run);
    copied = end;
    changed = true;
  }
  if (changed) {
    out.append(text, copied, std::string::npos);
    text = std::move(out);
  }
  return changed;
}

// Rewrites an application/x-www-form-urlencoded string (a body, a query or a fragment) keeping
// every untouched byte; changed values are re-encoded. Returns true when something changed.
bool redact_form_text(std::string& encoded) {
  std::string out;
  out.reserve(encoded.size());
  bool changed = false;
  size_t pos = 0;
  size_t pairs = 0;
  while (pos <= encoded.size()) {
    size_t amp = encoded.find('&', pos);
    if (amp == std::string::npos) amp = encoded.size();
    std::string_view segment(encoded.data() + pos, amp - pos);
    size_t eq = segment.find('=');
    bool rewritten = false;
    if (eq != std::string_view::npos && ++pairs <= kMaxFormPairs) {
      std::string name = url_decode(segment.substr(0, eq));
      const SecretClass cls = classify_name(name);
      const std::string_view raw_value = segment.substr(eq + 1);
      // An unnamed value is redacted only when it is a JWT: skip decoding values that cannot
      // be one (no "eyJ", and no escape that could spell it in percent-encoded letters).
      if (cls == SecretClass::kNone && find_jwt_start(raw_value, 0) == std::string_view::npos &&
          raw_value.find('%') == std::string_view::npos) {
        out.append(segment);
        if (amp == encoded.size()) break;
        out.push_back('&');
        pos = amp + 1;
        continue;
      }
      std::string value = url_decode(raw_value);
      std::string redacted = redact_by_class(cls, value);
      if (redacted != value) {
        out.append(segment.substr(0, eq + 1));
        out += url_encode(redacted);
        rewritten = changed = true;
      }
    }
    if (!rewritten) out.append(segment);
    if (amp == encoded.size()) break;
    out.push_back('&');
    pos = amp + 1;
  }
  if (changed) encoded = std::move(out);
  return changed;
}

// Query and fragment of a URL or request target.
bool redact_url(std::string& url) {
  size_t q = url.find('?');
  size_t h = url.find('#');
  if (q != std::string::npos && h != std::string::npos && q > h) q = std::string::npos;  // '?' in fragment
  std::string base = url.substr(0, std::min(q, h));
  std::string query = q == std::string::npos ? "" : url.substr(q + 1, (h == std::string::npos ? url.size() : h) - q - 1);
  std::string fragment = h == std::string::npos ? "" : url.substr(h + 1);
  bool changed = false;
  if (q != std::string::npos) changed |= redact_form_text(query);
  if (h != std::string::npos) changed |= redact_form_text(fragment);
  if (!changed) return false;
  std::string out = base;
  if (q != std::string::npos) out += "?" + query;
  if (h != std::string::npos) out += "#" + fragment;
  url = std::move(out);
  return true;
}

bool is_scheme_word(std::string_view w) {
  return iequals(w, "Bearer") || iequals(w, "EncryptedBearer") || iequals(w, "PoP") || iequals(w, "Basic") ||
         iequals(w, "Negotiate") || iequals(w, "NTLM") || iequals(w, "Digest");
}

// "Scheme cred[, Scheme cred]": every credential run is replaced in place, so separators and
// spacing (which aux-header-invalid checks) survive byte for byte.
bool redact_credentials_header(std::string& value) {
  std::string out;
  bool changed = false;
  size_t pos = 0;
  bool after_basic = false;
  // Plain loops: find_first_of calls memchr once per byte of a 1.5 KB bearer token.
  auto is_separator = [](char c) { return c == ' ' || c == '\t' || c == ',' || c == ';'; };
  while (pos < value.size()) {
    size_t start = pos;
    while (start < value.size() && is_separator(value[start])) ++start;
    out.append(value, pos, start - pos);
    if (start == value.size()) break;
    size_t end = start;
    while (end < value.size() && !is_separator(value[end])) ++end;
    std::string_view run(value.data() + start, end - start);
    if (is_scheme_word(run)) {
      out.append(run);
      after_basic = iequals(run, "Basic");
    } else {
      std::string red = is_redacted(run) ? std::string(run)
                        : after_basic    ? secret_marker(run)  // base64(user:password): no claims
                                         : redact_token(run);
      changed |= red != run;
      out += red;
      after_basic = false;
    }
    pos = end;
  }
  if (changed) value = std::move(out);
  return changed;
}

// Cookie: "a=1; b=2" (RFC 6265 §4.2.1). Every value is a session credential for somebody
// (ESTSAUTH, ESTSAUTHPERSISTENT, buid, fpc, ...): all become fingerprinted markers.
bool redact_cookie_header(std::string& value) {
  std::string out;
  bool changed = false;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t semi = value.find(';', pos);
    if (semi == std::string::npos) semi = value.size();
    std::string_view pair(value.data() + pos, semi - pos);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (!v.empty() && !is_redacted(v)) {
        out.append(pair.substr(0, eq + 1));
        out += secret_marker(v);
        changed = true;
      } else {
        out.append(pair);
      }
    } else {
      out.append(pair);
    }
    if (semi == value.size()) break;
    out.push_back(';');
    pos = semi + 1;
  }
  if (changed) value = std::move(out);
  return changed;
}

// Set-Cookie: "name=value; attrs" (RFC 6265 §4.1.1): only the value is secret.
bool redact_set_cookie_header(std::string& value) {
  size_t semi = value.find(';');
  std::string first = value.substr(0, semi);
  size_t eq = first.find('=');
  if (eq == std::string::npos) return false;
  std::string_view v = trim(std::string_view(first).substr(eq + 1));
  if (v.empty() || is_redacted(v)) return false;
  std::string rest = semi == std::string::npos ? "" : value.substr(semi);
  value = first.substr(0, eq + 1) + secret_marker(v) + rest;
  return true;
}

// Case-insensitive substring test without a lowered copy of the name (runs for every header).
bool icontains(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return false;
  // `needle` is lower case.
  for (size_t i = 0; i + needle.size() <= text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c == needle[0] && iequals(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

bool header_name_is_secret(std::string_view name) {
  return icontains(name, "token") || icontains(name, "secret") || icontains(name, "api-key") ||
         icontains(name, "apikey") || icontains(name, "subscription-key") || icontains(name, "functions-key") ||
         iequals(name, "x-ms-refreshtokencredential") || iequals(name, "x-ms-devicecredential");
}

void redact_headers(Headers& headers, bool is_request) {
  for (auto& f : headers.fields()) {
    if (iequals(f.name, "Authorization") || iequals(f.name, "Proxy-Authorization") ||
        iequals(f.name, "x-ms-authorization-auxiliary")) {
      redact_credentials_header(f.value);
    } else if (iequals(f.name, "Cookie")) {
      redact_cookie_header(f.value);
    } else if (iequals(f.name, "Set-Cookie")) {
      redact_set_cookie_header(f.value);
    } else if (iequals(f.name, "Location") || iequals(f.name, "Referer") || iequals(f.name, "Content-Location") ||
               iequals(f.name, "Refresh")) {
      redact_url(f.value);
      redact_jwts_in_text(f.value, true);
    } else if (header_name_is_secret(f.name) && !iequals(f.name, "x-ms-token-aad-expires-on")) {
      std::string_view v = trim(f.value);
      if (!v.empty() && !is_redacted(v)) f.value = redact_token(v);
    } else {
      redact_jwts_in_text(f.value);
    }
  }
  (void)is_request;
}

// --- JSON bodies -----------------------------------------------------------------------------

// Collects (raw -> redacted) replacements from a parsed document, bounded in nodes visited.
// `context`: where `node` sits relative to a key list.
void collect_json_secrets(const nlohmann::ordered_json& node, SecretClass inherited,
                          std::vector<std::pair<std::string, std::string>>* out, size_t* budget,
                          KeyListContext context = KeyListContext::kNone) {
  if (*budget == 0) return;
  --*budget;
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      SecretClass cls = classify_json_member(it.key(), context);
      collect_json_secrets(it.value(), cls, out, budget, member_context(it.key()));
    }
  } else if (node.is_array()) {
    for (const auto& v : node) collect_json_secrets(v, inherited, out, budget, element_context(context));
  } else if (node.is_string()) {
    const std::string& s = node.get_ref<const std::string&>();
    std::string red = redact_by_class(inherited, s);
    if (red != s) out->emplace_back(s, std::move(red));
  }
}

void apply_json_secrets(nlohmann::ordered_json& node, SecretClass inherited, size_t* budget,
                        KeyListContext context = KeyListContext::kNone) {
  if (*budget == 0) return;
  --*budget;
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      apply_json_secrets(it.value(), classify_json_member(it.key(), context), budget, member_context(it.key()));
    }
  } else if (node.is_array()) {
    for (auto& v : node) apply_json_secrets(v, inherited, budget, element_context(context));
  } else if (node.is_string()) {
    std::string red = redact_by_class(inherited, node.get_ref<const std::string&>());
    node = red;
  }
}

size_t replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return 0;
  size_t count = 0;
  std::string out;
  size_t copied = 0;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + from.size())) {
    out.append(text, copied, at - copied);
    out.append(to);
    copied = at + from.size();
    ++count;
  }
  if (count) {
    out.append(text, copied, std::string::npos);
    text = std::move(out);
  }
  return count;
}

// Rewrites secrets in a JSON text. Values are replaced in the text itself (so formatting and
// number spelling survive); when a value is written with escapes the text cannot be matched, and
// the document is re-serialized instead. Returns true when something changed.
// Whether a JSON text can hold anything redact_json_text would change: a member named like a
// credential, a JWT ("eyJ" starts every JWS/JWE header) or an escape that could spell either.
// Most JSON bodies (ARM resources, Graph objects) have none, and are not parsed at all.
bool json_may_hold_secret(std::string_view text) {
  if (text.find('\\') != std::string_view::npos) return true;  // "\u0061ccess_token", an escaped JWT
  if (find_jwt_start(text, 0) != std::string_view::npos) return true;
  // Without escapes every '"' opens or closes a string: one pass over all of them, asking of
  // each short one whether it is a credential's member name.
  for (size_t open = text.find('"'); open != std::string_view::npos;) {
    size_t close = text.find('"', open + 1);
    if (close == std::string_view::npos) return true;  // cut JSON: let the scanner look
    std::string_view s = text.substr(open + 1, close - open - 1);
    if (s.size() <= 32 && (classify_json_name(s) != SecretClass::kNone || s == "keys")) return true;
    open = text.find('"', close + 1);
  }
  return false;
}

// Appends `value` as the characters between a JSON string's quotes, the way nlohmann's dump()
// writes them (RFC 8259 §7: '"', '\\' and control characters escaped, "\u00XX" for those
// without a short form); json_quote adds the quotes. Tokens need no escape at all, so this is
// mostly one copy instead of a character-by-character serializer.
void append_json_string_content(std::string& out, std::string_view value) {
  size_t plain_from = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(value.substr(plain_from, i - plain_from));
    plain_from = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  }
  out.append(value.substr(plain_from));
}

std::string json_quote(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  append_json_string_content(out, value);
  out.push_back('"');
  return out;
}

// collect_json_secrets for a text without a single backslash, where every '"' delimits a
// string, without building a document: a token response is scanned once instead of parsed
// into a tree. The same classes apply (a member's name decides for its string value and for
// the strings of an array under it). Returns false, having decided nothing, when the text is
// not plainly well-formed (unbalanced, too deep, control characters in a string): the caller
// then parses it properly. `value_strings` receives where every string that is not a member
// name lies (its characters, without the quotes).
bool collect_unescaped_json_secrets(std::string_view text, std::vector<std::pair<std::string, std::string>>* out,
                                    std::vector<std::string_view>* value_strings) {
  struct Frame {
    bool object;
    SecretClass array_class;  // for arrays: the class their strings take
    KeyListContext context;   // where this object or array sits relative to a key list
  };
  std::vector<Frame> stack;
  SecretClass member_class = SecretClass::kNone;  // class of the last member name in an object
  KeyListContext member_ctx = KeyListContext::kNone;  // context of the last member's value
  bool expect_name = false;
  auto value_class = [&] {
    if (stack.empty()) return SecretClass::kNone;
    return stack.back().object ? member_class : stack.back().array_class;
  };
  auto value_context = [&] {
    if (stack.empty()) return KeyListContext::kNone;
    return stack.back().object ? member_ctx : element_context(stack.back().context);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '{':
      case '[':
        if (stack.size() >= static_cast<size_t>(kMaxJsonBodyDepth)) return false;
        stack.push_back({text[i] == '{', text[i] == '[' ? value_class() : SecretClass::kNone, value_context()});
        expect_name = text[i] == '{';
        break;
      case '}':
      case ']':
        if (stack.empty() || stack.back().object != (text[i] == '}')) return false;
        stack.pop_back();
        expect_name = false;
        break;
      case ',':
        expect_name = !stack.empty() && stack.back().object;
        break;
      case ':':
        expect_name = false;
        break;
      case '"': {
        size_t close = text.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        std::string_view s = text.substr(i + 1, close - i - 1);
        for (char c : s) {
          if (static_cast<unsigned char>(c) < 0x20) return false;  // invalid JSON: let the parser judge
        }
        if (expect_name && !stack.empty() && stack.back().object) {
          member_class = classify_json_member(s, stack.back().context);
          member_ctx = member_context(s);
        } else {
          value_strings->push_back(s);
          std::string red = redact_by_class(value_class(), s);
          if (red != s) out->emplace_back(std::string(s), std::move(red));
        }
        i = close;
        break;
      }
      default:
        break;  // whitespace, numbers, true/false/null
    }
  }
  return stack.empty();
}

// Rewrites, in a text without escapes, every value string equal to a collected secret (the
// scanner told where each lies): one copy of the text, whatever the number of secrets.
void splice_unescaped_json_secrets(std::string& text, const std::vector<std::pair<std::string, std::string>>& secrets,
                                   const std::vector<std::string_view>& value_strings) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  for (std::string_view s : value_strings) {
    const std::string* red = nullptr;
    for (const auto& [raw, redacted] : secrets) {
      if (raw.size() == s.size() && std::memcmp(raw.data(), s.data(), s.size()) == 0) {
        red = &redacted;
        break;
      }
    }
    if (red == nullptr) continue;
    const size_t at = static_cast<size_t>(s.data() - text.data());
    out.append(text, copied, at - copied);
    append_json_string_content(out, *red);
    copied = at + s.size();
  }
  out.append(text, copied, std::string::npos);
  text = std::move(out);
}

bool redact_json_text(std::string& text) {
  if (text.size() > kMaxJsonBodyBytes) return false;
  std::vector<std::pair<std::string, std::string>> secrets;
  if (text.find('\\') == std::string::npos) {
    // The scanner bounds the depth itself; its spans point into `text`, unchanged until the splice.
    std::vector<std::string_view> value_strings;
    if (collect_unescaped_json_secrets(text, &secrets, &value_strings)) {
      if (secrets.empty()) return false;
      splice_unescaped_json_secrets(text, secrets, value_strings);
      return true;
    }
    secrets.clear();
  }
  // Escapes, or not plainly well-formed: a parsed document decides.
  if (json_depth_exceeds(text, kMaxJsonBodyDepth)) return false;
  auto doc = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return false;
  size_t budget = kMaxJsonWalkNodes;
  collect_json_secrets(doc, SecretClass::kNone, &secrets, &budget);
  if (secrets.empty()) return false;
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string candidate = text;
  bool all_found = true;
  for (const auto& [raw, red] : secrets) {
    // Quoted match: "<raw>" exactly as nlohmann would write it (short secrets never match
    // inside other strings this way).
    if (replace_all(candidate, json_quote(raw), json_quote(red)) == 0) all_found = false;
  }
  if (all_found) {
    text = std::move(candidate);
    return true;
  }
  budget = kMaxJsonWalkNodes;
  apply_json_secrets(doc, SecretClass::kNone, &budget);
  text = doc.dump();
  return true;
}

// For JSON that does not parse (a body cut at the capture limit, a broken server): find
// "name" : "value" pairs of credential members by scanning, and redact the values in place.
bool redact_json_like_text(std::string& text) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "access_token", "id_token", "refresh_token", "assertion", "client_assertion", "device_code",
      "client_secret", "subject_token", "actor_token", "password", "secretText", "code_verifier"};
  bool changed = false;
  for (std::string_view name : kNames) {
    const std::string quoted = "\"" + std::string(name) + "\"";
    size_t pos = 0;
    for (int guard = 0; guard < 1024; ++guard) {
      size_t at = text.find(quoted, pos);
      if (at == std::string::npos) break;
      size_t i = at + quoted.size();
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
      if (i >= text.size() || text[i] != ':') {
        pos = at + quoted.size();
        continue;
      }
      ++i;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
      if (i >= text.size() || text[i] != '"') {
        pos = i;
        continue;
      }
      size_t start = i + 1, end = start;
      while (end < text.size() && text[end] != '"') end += (text[end] == '\\') ? 2 : 1;
      end = std::min(end, text.size());
      std::string value = text.substr(start, end - start);
      std::string red = redact_by_class(classify_name(name), value);
      if (red != value) {
        text.replace(start, end - start, red);
        changed = true;
        end = start + red.size();
      }
      pos = end;
    }
  }
  return changed;
}

// OAuth 2.0 Form Post Response Mode: <input type="hidden" name="code" value="..."/>.
bool redact_html_form_post(std::string& html) {
  bool changed = false;
  size_t pos = 0;
  for (int guard = 0; guard < 1024; ++guard) {
    size_t start = html.find("<input", pos);
    if (start == std::string::npos) break;
    size_t end = html.find('>', start);
    if (end == std::string::npos) break;
    std::string_view tag(html.data() + start, end - start);
    size_t name_at = tag.find("name=\"");
    size_t value_at = tag.find("value=\"");
    pos = end + 1;
    if (name_at == std::string_view::npos || value_at == std::string_view::npos) continue;
    size_t name_end = tag.find('"', name_at + 6);
    size_t value_end = tag.find('"', value_at + 7);
    if (name_end == std::string_view::npos || value_end == std::string_view::npos) continue;
    std::string name(tag.substr(name_at + 6, name_end - name_at - 6));
    std::string value(tag.substr(value_at + 7, value_end - value_at - 7));
    std::string red = redact_by_class(classify_name(name), value);
    if (red == value) continue;
    size_t abs_value = start + value_at + 7;
    html.replace(abs_value, value.size(), red);
    pos = abs_value + red.size();
    changed = true;
  }
  return changed;
}

void set_length(Headers& headers, size_t size) {
  if (headers.has("Content-Length")) headers.set("Content-Length", std::to_string(size));
}

void redact_body(Body& body, Headers& headers) {
  if (!body.data || body.data->empty()) return;
  const std::string* enc = headers.find("Content-Encoding");
  std::string text;
  bool decoded = false;
  if (enc != nullptr && !iequals(trim(*enc), "identity")) {
    auto plain = decode_content(*body.data, *enc, kMaxDecodedBodyBytes);
    if (!plain.ok()) {
      // Cannot look inside: keep nothing usable.
      body.data = secret_marker(*body.data) + " (" + plain.status().message() + ")";
      headers.remove("Content-Encoding");
      set_length(headers, body.data->size());
      return;
    }
    text = std::move(*plain);
    decoded = true;
  } else {
    text = *body.data;
  }
  bool changed = false;
  std::string type = headers.find("Content-Type") ? media_type(*headers.find("Content-Type")) : "";
  if (type == "application/x-www-form-urlencoded") {
    changed |= redact_form_text(text);
  } else {
    std::string_view t = trim(text);
    if (!t.empty() && (t.front() == '{' || t.front() == '[') && json_may_hold_secret(text)) {
      if (!redact_json_text(text)) changed |= redact_json_like_text(text);
      else changed = true;
    }
    if (type == "text/html") changed |= redact_html_form_post(text);
  }
  changed |= redact_jwts_in_text(text, type == "application/x-www-form-urlencoded");
  if (!changed && !decoded) return;
  body.data = std::move(text);
  if (decoded) headers.remove("Content-Encoding");
  if (!body.truncated) set_length(headers, body.data->size());
}

}  // namespace

bool is_redacted(std::string_view value) {
  // memmem: std::string_view::find stops at every 'a' of a base64 token.
  return ::memmem(value.data(), value.size(), kRedactedPrefix.data(), kRedactedPrefix.size()) != nullptr;
}

std::string secret_marker(std::string_view raw) {
  return std::string(kSha256Marker) + token_fingerprint(raw);
}

std::string verifier_marker(std::string_view verifier) {
  // RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
  return std::string(kS256Marker) + base64url_encode(sha256_bytes(verifier));
}

namespace {

// Redacting a token costs a SHA-256 and, for a JWT, decoding and re-encoding its claims. The
// same token passes many times (an ARM client sends one bearer token on every call, Graph
// pages repeat theirs), so each thread remembers its last results. Bounded in entries and in
// token size; a least-recently-used entry makes room.
class RedactedTokenCache {
 public:
  static constexpr size_t kEntries = 64;
  static constexpr size_t kMaxTokenBytes = 16 * 1024;

  const std::string* find(std::string_view raw) {
    auto it = index_.find(raw);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);  // most recent first; iterators stay valid
    return &it->second->second;
  }

  void put(std::string_view raw, const std::string& redacted) {
    if (raw.size() > kMaxTokenBytes || index_.count(raw) != 0) return;
    if (lru_.size() >= kEntries) {
      index_.erase(std::string_view(lru_.back().first));
      lru_.pop_back();
    }
    lru_.emplace_front(std::string(raw), redacted);
    index_.emplace(std::string_view(lru_.front().first), lru_.begin());
  }

 private:
  using Entry = std::pair<std::string, std::string>;  // raw token, redacted form
  std::list<Entry> lru_;
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys view into lru_
};

RedactedTokenCache& token_cache() {
  thread_local RedactedTokenCache cache;
  return cache;
}

std::string redact_token_uncached(std::string_view value);

}  // namespace

std::string redact_token(std::string_view value) {
  if (value.empty() || is_redacted(value)) return std::string(value);
  if (const std::string* hit = token_cache().find(value)) return *hit;
  std::string redacted = redact_token_uncached(value);
  token_cache().put(value, redacted);
  return redacted;
}

namespace {

std::string redact_token_uncached(std::string_view value) {
  if (!looks_like_jwt(value)) return secret_marker(value);
  auto decoded = decode_token(value);
  if (!decoded.ok()) return secret_marker(value);
  std::string marker = std::string(kSha256Marker) + decoded->fingerprint;  // one SHA-256, not two
  if (decoded->format == TokenFormat::kJwe) {
    // RFC 7516 §7.1: keep the protected header (alg, enc, kid), drop key, iv, ciphertext, tag.
    return std::string(value.substr(0, value.find('.'))) + "...." + marker;
  }
  std::string input = decoded->signing_input;
  // A token inside the claims (MSAL PoP's "at", a nested assertion) is itself a credential.
  bool nested = false;
  if (decoded->claims.is_object()) {
    for (auto it = decoded->claims.begin(); it != decoded->claims.end(); ++it) {
      if (it.value().is_string()) {
        const std::string& s = it.value().get_ref<const std::string&>();
        if (looks_like_jwt(s) || it.key() == "at") {
          it.value() = redact_token(s);
          nested = true;
        }
      }
    }
  }
  if (nested) {
    input = input.substr(0, input.find('.')) + "." + base64url_encode(decoded->claims.dump());
  }
  return input + "." + marker;
}

}  // namespace

std::string code_fingerprint(std::string_view value_or_marker) { return token_fingerprint(value_or_marker); }

std::optional<std::string> verifier_s256(std::string_view value_or_marker) {
  if (value_or_marker.substr(0, kS256Marker.size()) == kS256Marker) {
    return std::string(value_or_marker.substr(kS256Marker.size()));
  }
  if (is_redacted(value_or_marker)) return std::nullopt;
  return base64url_encode(sha256_bytes(value_or_marker));
}

namespace {

// Last resort when redaction itself fails (allocation failure, a library throwing on input we
// did not foresee): keep nothing that could be a credential rather than keep a secret.
void scorched_earth(Flow& flow) noexcept {
  try {
    auto scrub = [](Headers& headers, Body& body) {
      for (auto& f : headers.fields()) {
        if (iequals(f.name, "Authorization") || iequals(f.name, "Proxy-Authorization") ||
            iequals(f.name, "x-ms-authorization-auxiliary") || iequals(f.name, "Cookie") ||
            iequals(f.name, "Set-Cookie") || iequals(f.name, "Location") || iequals(f.name, "Referer") ||
            header_name_is_secret(f.name)) {
          f.value = std::string(kRedactedPrefix) + "unprocessed";
        }
      }
      if (body.data && !body.data->empty()) {
        body.data = std::string(kRedactedPrefix) + "unprocessed";
        headers.remove("Content-Encoding");
        set_length(headers, body.data->size());
      }
    };
    scrub(flow.request.headers, flow.request.body);
    size_t cut = flow.request.target.find_first_of("?#");
    if (cut != std::string::npos) flow.request.target.resize(cut);
    if (flow.response) scrub(flow.response->headers, flow.response->body);
  } catch (...) {
    flow.request.headers.clear();
    flow.request.body.data.reset();
    flow.request.target = "/";
    flow.response.reset();
  }
}

void redact_secrets_or_throw(Flow& flow) {
  redact_headers(flow.request.headers, true);
  if (flow.request.method != "CONNECT") {
    redact_url(flow.request.target);
    redact_jwts_in_text(flow.request.target, true);
  }
  redact_body(flow.request.body, flow.request.headers);
  if (flow.response) {
    redact_headers(flow.response->headers, false);
    redact_body(flow.response->body, flow.response->headers);
  }
}

}  // namespace

void redact_secrets(Flow& flow) {
  if (flow.kind != FlowKind::kHttp) return;
  try {
    redact_secrets_or_throw(flow);
  } catch (...) {
    scorched_earth(flow);
  }
}


}  // namespace authscope
