#include "proxy/http/serialize.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace authscope::http {
namespace {

// Fields that describe one connection, never the message (RFC 9110 §7.6.1, §11.7.1, §11.7.3;
// RFC 9112 §6.1 for Transfer-Encoding). Content-Length and Transfer-Encoding are end-to-end in
// principle, but authscope re-frames every body and writes its own.
constexpr std::array<std::string_view, 11> kHopByHop = {
    "Connection",         "Proxy-Connection", "Keep-Alive", "TE",
    "Trailer",            "Transfer-Encoding", "Upgrade",   "Proxy-Authorization",
    "Proxy-Authenticate", "Content-Length",    "Host",
};

// The connection-options of every Connection field (RFC 9110 §7.6.1), as views into `headers`.
std::vector<std::string_view> connection_options(const Headers& headers) {
  std::vector<std::string_view> out;
  for (const auto& f : headers.fields()) {
    if (!iequals(f.name, "Connection")) continue;
    std::string_view list = f.value;
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t comma = list.find(',', pos);
      if (comma == std::string_view::npos) comma = list.size();
      std::string_view item = list.substr(pos, comma - pos);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (!item.empty()) out.push_back(item);
      pos = comma + 1;
    }
  }
  return out;
}

bool is_hop_by_hop(std::string_view name, const std::vector<std::string_view>& options) {
  for (auto h : kHopByHop) {
    if (iequals(name, h)) return true;
  }
  for (auto o : options) {
    if (iequals(name, o)) return true;
  }
  return false;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Appends every end-to-end field of `headers` (Host and framing excluded: callers write them).
void append_end_to_end(std::string& out, const Headers& headers) {
  const auto options = connection_options(headers);
  for (const auto& f : headers.fields()) {
    if (!is_hop_by_hop(f.name, options)) append_field(out, f.name, f.value);
  }
}

size_t estimate_size(const Headers& headers) {
  size_t n = 128;
  for (const auto& f : headers.fields()) n += f.name.size() + f.value.size() + 4;
  return n;
}

// Reason phrases and header values authscope writes itself must not carry CR, LF or other
// control bytes (they could come from an upstream error text).
std::string sanitize_line(std::string_view text, size_t max_len) {
  std::string out;
  out.reserve(std::min(text.size(), max_len));
  for (char c : text.substr(0, max_len)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && u != '\t') || u == 0x7f ? ' ' : c);
  }
  return out;
}

}  // namespace

void strip_hop_by_hop(Headers& headers, bool keep_websocket) {
  const auto options = connection_options(headers);
  std::vector<std::string> names;  // copies: `options` points into fields being erased
  names.reserve(options.size());
  for (auto o : options) names.emplace_back(o);
  auto& fields = headers.fields();
  std::vector<HeaderField> kept;
  kept.reserve(fields.size());
  for (auto& f : fields) {
    bool drop = false;
    for (auto h : kHopByHop) {
      if (h != "Host" && iequals(f.name, h)) drop = true;
    }
    for (const auto& n : names) {
      if (!iequals(n, "Host") && iequals(f.name, n)) drop = true;
    }
    if (!drop) kept.push_back(std::move(f));
  }
  fields = std::move(kept);
  if (keep_websocket) {
    headers.add("Connection", "Upgrade");
    headers.add("Upgrade", "websocket");
  }
}

SerializedHead serialize_request_head(const MessageHead& head, const UpstreamRequest& target) {
  SerializedHead out;
  std::string& s = out.bytes;
  s.reserve(estimate_size(head.headers) + target.path.size() + target.host.size());
  // RFC 9112 §3.2.1: to an origin server the target is sent in origin-form.
  s.append(head.method);
  s.push_back(' ');
  s.append(target.path);
  s.append(" HTTP/1.1\r\n");
  // RFC 9110 §7.2: "A user agent that sends Host SHOULD send it as the first field in the
  // header section of a request."
  append_field(s, "Host", target.host);
  append_end_to_end(s, head.headers);
  switch (head.framing) {
    case Framing::kContentLength:
      append_field(s, "Content-Length", std::to_string(head.content_length));
      out.body = head.content_length > 0 ? BodyWriting::kIdentity : BodyWriting::kNone;
      break;
    case Framing::kChunked:
      append_field(s, "Transfer-Encoding", "chunked");
      out.body = BodyWriting::kChunked;
      break;
    case Framing::kNone:
    case Framing::kUntilClose:  // not a request framing; treated as no body
      out.body = BodyWriting::kNone;
      break;
  }
  if (target.keep_websocket) {
    append_field(s, "Connection", "Upgrade");
    append_field(s, "Upgrade", "websocket");
  }
  s.append("\r\n");
  return out;
}

SerializedHead serialize_response_head(const MessageHead& head, const ClientResponse& options) {
  SerializedHead out;
  std::string& s = out.bytes;
  s.reserve(estimate_size(head.headers) + head.reason.size());
  const int status = head.status;
  const bool client_11 = options.client_version != "HTTP/1.0";
  s.append("HTTP/1.1 ");
  s.append(std::to_string(status));
  s.push_back(' ');
  s.append(head.reason.empty() ? std::string(reason_phrase(status)) : sanitize_line(head.reason, 512));
  s.append("\r\n");
  append_end_to_end(s, head.headers);

  if (status >= 100 && status < 200) {
    // Interim responses end at the blank line; 101 hands the connection over.
    if (status == 101 && options.keep_websocket) {
      append_field(s, "Connection", "Upgrade");
      append_field(s, "Upgrade", "websocket");
    }
    s.append("\r\n");
    out.body = BodyWriting::kNone;
    return out;
  }

  const bool head_request = options.request_method == "HEAD";
  if (head_request || status == 204 || status == 304) {
    // RFC 9110 §8.6: a server MAY send Content-Length in a response to HEAD or a 304, where it
    // describes the representation; it is kept. A 204 never has one.
    if (status != 204) {
      if (const std::string* cl = head.headers.find("Content-Length")) append_field(s, "Content-Length", *cl);
    }
    out.body = BodyWriting::kNone;
  } else {
    switch (head.framing) {
      case Framing::kContentLength:
        append_field(s, "Content-Length", std::to_string(head.content_length));
        out.body = head.content_length > 0 ? BodyWriting::kIdentity : BodyWriting::kNone;
        break;
      case Framing::kChunked:
      case Framing::kUntilClose:
        if (client_11) {
          append_field(s, "Transfer-Encoding", "chunked");
          out.body = BodyWriting::kChunked;
        } else {
          // RFC 9112 §6.3 item 8: an HTTP/1.0 client reads to the close.
          out.body = BodyWriting::kIdentity;
          out.close_after = true;
        }
        break;
      case Framing::kNone:
        append_field(s, "Content-Length", "0");
        out.body = BodyWriting::kNone;
        break;
    }
  }
  if (!options.keep_alive || out.close_after) {
    append_field(s, "Connection", "close");
    out.close_after = true;
  } else if (!client_11) {
    append_field(s, "Connection", "keep-alive");
  }
  s.append("\r\n");
  return out;
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  char hex[17];
  size_t n = data.size();
  int i = 16;
  hex[i] = '\0';
  do {
    hex[--i] = "0123456789abcdef"[n & 0xf];
    n >>= 4;
  } while (n != 0);
  out.reserve(out.size() + (16 - i) + data.size() + 4);
  out.append(hex + i, static_cast<size_t>(16 - i));
  out.append("\r\n");
  out.append(data);
  out.append("\r\n");
}

void append_last_chunk(std::string& out) { out.append("0\r\n\r\n"); }

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string error_response(int status, std::string_view reason_text, bool close) {
  std::string body = "authscope: ";
  body += sanitize_line(reason_text, 1024);
  body += "\n";
  std::string s;
  s.reserve(256 + body.size());
  s.append("HTTP/1.1 ");
  s.append(std::to_string(status));
  s.push_back(' ');
  s.append(reason_phrase(status));
  s.append("\r\n");
  append_field(s, "Content-Type", "text/plain; charset=utf-8");
  append_field(s, "Cache-Control", "no-store");
  if (status == 407) append_field(s, "Proxy-Authenticate", "Basic realm=\"authscope\"");
  append_field(s, "Content-Length", std::to_string(body.size()));
  if (close) append_field(s, "Connection", "close");
  s.append("\r\n");
  s.append(body);
  return s;
}

}  // namespace authscope::http
