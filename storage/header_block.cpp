// Packed header fields (see header_block.h).
#include "storage/header_block.h"

#include <charconv>

namespace authscope {
namespace {

void append_item(std::string_view bytes, std::string& out) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, bytes.size()).ptr;
  out.append(digits, end);
  out += ':';
  out.append(bytes);
}

// Reads one `<length>:<bytes>` item at the front of `block`, consuming it. A length has no
// sign, no leading zeros beyond "0" itself, and cannot run past the block.
bool take_item(std::string_view& block, std::string_view& item) {
  size_t length = 0;
  auto [digits_end, ec] = std::from_chars(block.data(), block.data() + block.size(), length);
  if (ec != std::errc() || digits_end == block.data()) return false;
  const size_t digits = static_cast<size_t>(digits_end - block.data());
  if (digits > 1 && block[0] == '0') return false;
  if (digits >= block.size() || block[digits] != ':') return false;
  if (length > block.size() - digits - 1) return false;
  item = block.substr(digits + 1, length);
  block.remove_prefix(digits + 1 + length);
  return true;
}

}  // namespace

void pack_header_fields(const Headers& headers, std::string& out) {
  for (const HeaderField& field : headers.fields()) {
    append_item(field.name, out);
    append_item(field.value, out);
  }
}

bool unpack_header_fields(std::string_view block, Headers& headers) {
  while (!block.empty()) {
    std::string_view name, value;
    if (!take_item(block, name) || !take_item(block, value)) return false;
    headers.add(std::string(name), std::string(value));
  }
  return true;
}

}  // namespace authscope
