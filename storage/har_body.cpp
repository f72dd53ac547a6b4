#include "storage/har_body.h"

#include "storage/har_codec.h"

namespace authscope::har {
namespace {

bool looks_encoded(const std::string& data, Coding coding) {
  if (coding == Coding::kGzip) return data.size() >= 2 && uint8_t(data[0]) == 0x1f && uint8_t(data[1]) == 0x8b;
  return decompress(data, coding, kMaxDecodedBody).has_value();
}

}  // namespace

HarText body_to_har_text(const Body& body, const Headers& headers) {
  HarText out;
  const std::string& data = *body.data;
  const std::string* encoding = headers.find("Content-Encoding");
  std::optional<std::string> decoded;
  if (encoding && !body.truncated) {  // a truncated stream cannot be decoded to its end
    if (auto coding = coding_from_header(*encoding)) decoded = decompress(data, *coding, kMaxDecodedBody);
  }
  const std::string& bytes = decoded ? *decoded : data;
  out.decoded = decoded.has_value();
  out.size = bytes.size();
  if (is_valid_utf8(bytes)) {
    out.text = bytes;
  } else {
    out.text = base64_encode(bytes);
    out.base64 = true;
  }
  return out;
}

Result<std::string> body_from_har_text(const std::string& text, bool base64, bool decoded, Headers& headers) {
  std::string bytes;
  if (base64) {
    auto raw = base64_decode(text);
    if (!raw) return Status::Parse("text is marked base64 but is not valid base64");
    bytes = std::move(*raw);
  } else {
    bytes = text;
  }
  const std::string* encoding = headers.find("Content-Encoding");
  if (!decoded || !encoding) return bytes;
  if (auto coding = coding_from_header(*encoding)) {
    if (looks_encoded(bytes, *coding)) return bytes;  // a tool that exported the wire bytes
    if (auto again = compress(bytes, *coding)) return std::move(*again);
    return Status::Invalid("cannot compress body");
  }
  if (encoding->empty() || iequals(*encoding, "identity")) return bytes;
  std::string original = *encoding;
  headers.remove("Content-Encoding");
  headers.add("X-Authscope-Decoded-Content-Encoding", std::move(original));
  return bytes;
}

}  // namespace authscope::har
