// Headers: an ordered multimap of header fields that keeps original case, order and repeats
// (what was on the wire), with case-insensitive lookup (RFC 9110 §5.1: field names are
// case-insensitive).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authscope {

struct HeaderField {
  std::string name;
  std::string value;
};

bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  void add(std::string name, std::string value) { fields_.push_back({std::move(name), std::move(value)}); }
  // First value of `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  // Every value of `name`, in wire order.
  std::vector<std::string> all(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  size_t count(std::string_view name) const;
  // Removes every field called `name`; returns how many were removed.
  size_t remove(std::string_view name);
  // Replaces every field called `name` by one field (appended if absent).
  void set(std::string_view name, std::string value);

  const std::vector<HeaderField>& fields() const { return fields_; }
  std::vector<HeaderField>& fields() { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }

 private:
  std::vector<HeaderField> fields_;
};

}  // namespace authscope
