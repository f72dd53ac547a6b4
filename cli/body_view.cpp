#include "cli/body_view.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace authscope::cli {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// One inflate pass with the given window bits (31: gzip, 15: zlib, -15: raw deflate).
bool inflate_with(const std::string& data, int window_bits, size_t max_out, std::string& out, std::string& error) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    error = "zlib init failed";
    return false;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[32 * 1024];
  int rc = Z_OK;
  out.clear();
  // Bounded: each turn either consumes input, produces output, or ends.
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_out) {
      inflateEnd(&zs);
      error = fmt::format("decoded body exceeds {} bytes", max_out);
      return false;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended early (truncated capture)
  }
  inflateEnd(&zs);
  if (rc == Z_STREAM_END) return true;
  if (rc == Z_BUF_ERROR && !out.empty()) {
    error = "compressed data ends early (decoded what was captured)";
    return true;
  }
  error = zs.msg != nullptr ? zs.msg : "invalid compressed data";
  return false;
}

}  // namespace

std::string inflate_body(const std::string& data, const std::string& encoding, std::string& error, size_t max_out) {
  std::string out;
  std::string enc = lower(trim(encoding));
  if (enc == "gzip" || enc == "x-gzip") {
    if (inflate_with(data, 15 + 16, max_out, out, error)) return out;
    return "";
  }
  // RFC 9110 §8.4.1.2: "deflate" is a zlib stream, but some servers send raw deflate; try both.
  std::string first_error;
  if (inflate_with(data, 15, max_out, out, first_error)) {
    error = first_error;
    return out;
  }
  if (inflate_with(data, -15, max_out, out, error)) return out;
  error = first_error;
  return "";
}

bool is_printable_text(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

BodyView view_body(const Body& body, const Headers& headers) {
  BodyView v;
  if (!body.present()) return v;
  v.present = true;
  const std::string& data = *body.data;
  if (const std::string* enc = headers.find("Content-Encoding")) v.encoding = lower(trim(*enc));
  std::string content = data;
  if (!data.empty() && (v.encoding == "gzip" || v.encoding == "x-gzip" || v.encoding == "deflate")) {
    std::string error;
    std::string inflated = inflate_body(data, v.encoding, error);
    if (!inflated.empty() || error.empty()) {
      content = std::move(inflated);
      v.decoded = true;
      if (!error.empty()) v.note = error;
    } else {
      v.note = fmt::format("{} body could not be decoded: {}", v.encoding, error);
    }
  }
  if (is_printable_text(content)) {
    v.text = std::move(content);
  } else {
    v.binary = true;
    std::string type = headers.find("Content-Type") ? *headers.find("Content-Type") : "unknown type";
    v.text = fmt::format("<binary body: {} bytes, {}>", content.size(), type);
  }
  if (body.truncated) {
    std::string t = fmt::format("truncated at capture limit ({} of {} bytes recorded)", data.size(), body.wire_size);
    v.note = v.note.empty() ? t : v.note + "; " + t;
  }
  return v;
}

}  // namespace authscope::cli
