#include "analyzers/http_text.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace authscope {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  // Most names and values carry no escape at all: copy them whole, and copy the runs between
  // escapes in one append rather than byte by byte. (A plain loop: find_first_of calls memchr
  // once per byte.)
  auto next_special = [&](size_t from) {
    for (size_t k = from; k < s.size(); ++k) {
      if (s[k] == '%' || (s[k] == '+' && plus_is_space)) return k;
    }
    return s.size();
  };
  size_t next = next_special(0);
  if (next == s.size()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (next < s.size()) {
    out.append(s.substr(i, next - i));
    i = next;
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
      i += 1;
    } else if (i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 3;
    } else {
      out.push_back(c);  // a '%' not followed by two hex digits stays as it is
      i += 1;
    }
    next = next_special(i);
  }
  out.append(s.substr(i));
  return out;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    // RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

FormPairs parse_form(std::string_view encoded) {
  FormPairs pairs;
  size_t pos = 0;
  while (pos <= encoded.size() && pairs.size() < kMaxFormPairs) {
    size_t amp = encoded.find('&', pos);
    if (amp == std::string_view::npos) amp = encoded.size();
    std::string_view segment = encoded.substr(pos, amp - pos);
    if (!segment.empty()) {
      size_t eq = segment.find('=');
      if (eq == std::string_view::npos) {
        pairs.emplace_back(url_decode(segment), std::string());
      } else {
        pairs.emplace_back(url_decode(segment.substr(0, eq)), url_decode(segment.substr(eq + 1)));
      }
    }
    if (amp == encoded.size()) break;
    pos = amp + 1;
  }
  return pairs;
}

std::optional<std::string> form_value(const FormPairs& pairs, std::string_view name) {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<std::string> form_value(std::string_view encoded, std::string_view name) {
  return form_value(parse_form(encoded), name);
}

bool form_has(const FormPairs& pairs, std::string_view name) {
  return std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == name; });
}

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  // Fragment first (RFC 3986 §3.5: everything after the first '#'), then query (first '?').
  if (size_t hash = url.find('#'); hash != std::string_view::npos) {
    parts.fragment = std::string(url.substr(hash + 1));
    parts.has_fragment = true;
    url = url.substr(0, hash);
  }
  if (size_t q = url.find('?'); q != std::string_view::npos) {
    parts.query = std::string(url.substr(q + 1));
    parts.has_query = true;
    url = url.substr(0, q);
  }
  std::string_view rest = url;
  size_t colon_slashes = rest.find("://");
  std::string_view authority;
  if (colon_slashes != std::string_view::npos && rest.find('/') > colon_slashes) {
    parts.scheme = ascii_lower(rest.substr(0, colon_slashes));
    rest = rest.substr(colon_slashes + 3);
    size_t slash = rest.find('/');
    authority = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  } else if (!rest.empty() && rest.front() != '/' && rest.find('/') == std::string_view::npos) {
    authority = rest;  // authority-form (CONNECT host:port)
    rest = {};
  }
  if (!authority.empty()) {
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority = authority.substr(at + 1);
    std::string_view host = authority;
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close != std::string_view::npos) {
        if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
        host = host.substr(1, close - 1);
      }
    } else if (size_t c = host.rfind(':'); c != std::string_view::npos) {
      port = host.substr(c + 1);
      host = host.substr(0, c);
    }
    parts.host = ascii_lower(host);
    if (!port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      unsigned long value = std::stoul(std::string(port));
      if (value <= 65535) parts.port = static_cast<uint16_t>(value);
    }
  }
  parts.path = std::string(rest);
  return parts;
}

std::vector<std::string> path_segments(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size() && out.size() < 256) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) out.push_back(url_decode(path.substr(pos, slash - pos), false));
    pos = slash + 1;
  }
  return out;
}

std::string media_type(std::string_view content_type) {
  size_t semi = content_type.find(';');
  return ascii_lower(trim(content_type.substr(0, semi)));
}

bool content_type_is(const Headers& headers, std::string_view mime) {
  const std::string* ct = headers.find("Content-Type");
  if (ct == nullptr) return false;
  std::string type = media_type(*ct);
  if (iequals(type, mime)) return true;
  // RFC 6839 §3.1: "+json" structured syntax suffix.
  return iequals(mime, "application/json") && iends_with(type, "+json");
}

Result<std::string> decode_content(std::string_view data, std::string_view encoding, size_t max_out) {
  std::string enc = ascii_lower(trim(encoding));
  if (enc.empty() || enc == "identity") {
    if (data.size() > max_out) return Status::Limit("body larger than the decode limit");
    return std::string(data);
  }
  int window_bits;
  if (enc == "gzip" || enc == "x-gzip") {
    window_bits = 16 + MAX_WBITS;
  } else if (enc == "deflate") {
    // RFC 9110 §8.4.1.2: "deflate" is zlib-wrapped; some servers send raw deflate, so let zlib
    // detect the zlib header (32 + MAX_WBITS also accepts gzip) and fall back to raw below.
    window_bits = 32 + MAX_WBITS;
  } else {
    return Status::Unsupported("content-encoding " + enc + " is not supported");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, attempt == 0 ? window_bits : -MAX_WBITS) != Z_OK) {
      return Status::Invalid("inflateInit failed");
    }
    std::string out;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), UINT32_MAX));
    char buf[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      size_t produced = sizeof buf - zs.avail_out;
      if (out.size() + produced > max_out) {
        inflateEnd(&zs);
        return Status::Limit("decoded body larger than the decode limit");
      }
      out.append(buf, produced);
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated input: keep what we have
      if (rc == Z_OK && produced == 0 && zs.avail_in == 0) break;
    }
    inflateEnd(&zs);
    if (rc == Z_STREAM_END || ((rc == Z_BUF_ERROR || rc == Z_OK) && !out.empty())) return out;
    if (enc != "deflate") break;
  }
  return Status::Parse("body is not valid " + enc + " data");
}

Result<std::string> decoded_body(const Body& body, const Headers& headers) {
  if (!body.data) return Status::NotFound("no body");
  const std::string* enc = headers.find("Content-Encoding");
  return decode_content(*body.data, enc ? std::string_view(*enc) : std::string_view(), kMaxDecodedBodyBytes);
}

bool json_depth_exceeds(std::string_view text, int max_depth) {
  int depth = 0;
  const char* const end = text.data() + text.size();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      // Skip the string whole: its closing quote is the first '"' not escaped. memchr, not a
      // byte loop: most of a token reply's bytes are inside its token strings.
      const char* p = text.data() + i + 1;
      for (;;) {
        const auto* quote = static_cast<const char*>(std::memchr(p, '"', static_cast<size_t>(end - p)));
        if (quote == nullptr) return false;  // an unterminated string holds no more brackets
        const auto* backslash = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(quote - p)));
        if (backslash == nullptr) {
          i = static_cast<size_t>(quote - text.data());
          break;
        }
        p = backslash + 2;  // the escaped character, whatever it is, is not a delimiter
        if (p >= end) return false;
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

std::optional<nlohmann::json> parse_json(std::string_view text, size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes || json_depth_exceeds(text, max_depth)) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::optional<std::string> json_body_text(const Body& body, const Headers& headers) {
  if (!body.data || body.data->empty()) return std::nullopt;
  auto text = decoded_body(body, headers);
  if (!text.ok()) return std::nullopt;
  std::string_view t = trim(*text);
  while (!t.empty() && (t.front() == '\r' || t.front() == '\n')) t.remove_prefix(1);
  if (t.empty() || (t.front() != '{' && t.front() != '[')) return std::nullopt;
  if (t.size() == text->size()) return std::move(*text);
  return std::string(t);
}

std::optional<nlohmann::json> json_body(const Body& body, const Headers& headers) {
  auto text = json_body_text(body, headers);
  if (!text) return std::nullopt;
  return parse_json(*text);
}

std::optional<std::vector<std::pair<std::string_view, std::string_view>>> unescaped_json_string_members(
    std::string_view text) {
  if (text.find('\\') != std::string_view::npos) return std::nullopt;
  text = trim(text);
  if (text.empty() || text.front() != '{') return std::nullopt;
  std::vector<std::pair<std::string_view, std::string_view>> members;
  int depth = 0;
  bool expect_name = false;
  std::string_view name;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (depth == 0 && i > 0) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return std::nullopt;  // something after the object
      continue;
    }
    switch (c) {
      case '{':
      case '[':
        if (++depth > kMaxJsonBodyDepth) return std::nullopt;
        expect_name = depth == 1;
        break;
      case '}':
      case ']':
        if (--depth < 0) return std::nullopt;
        break;
      case ',':
        if (depth == 1) expect_name = true;
        break;
      case '"': {
        size_t close = text.find('"', i + 1);
        if (close == std::string_view::npos) return std::nullopt;
        std::string_view s = text.substr(i + 1, close - i - 1);
        for (char ch : s) {
          if (static_cast<unsigned char>(ch) < 0x20) return std::nullopt;  // not JSON
        }
        if (depth == 1) {
          if (expect_name) {
            name = s;
            expect_name = false;
          } else {
            members.emplace_back(name, s);
          }
        }
        i = close;
        break;
      }
      default:
        break;
    }
  }
  if (depth != 0) return std::nullopt;
  // The last value of a repeated name wins (as in the parsed document).
  std::vector<std::pair<std::string_view, std::string_view>> unique;
  for (size_t i = members.size(); i-- > 0;) {
    bool later = false;
    for (const auto& u : unique) later = later || u.first == members[i].first;
    if (!later) unique.push_back(members[i]);
  }
  std::reverse(unique.begin(), unique.end());
  return unique;
}

std::optional<FormPairs> form_body(const Body& body, const Headers& headers) {
  if (!body.data || !content_type_is(headers, "application/x-www-form-urlencoded")) return std::nullopt;
  auto text = decoded_body(body, headers);
  if (!text.ok()) return std::nullopt;
  return parse_form(*text);
}

std::optional<std::string> json_string(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace authscope
