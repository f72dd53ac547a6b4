// The packed form of one message's header fields, as the store keeps it (messages.headers).
//
// One blob per message instead of one row per field: a flow's ~20 header rows and their index
// entries were about half of the store writer's work and of the file (bench: gen-store, 30,000
// flows). The form keeps what the wire had: order, case, repeats and any bytes. Each field is
// its name and its value, each written as `<decimal byte length>:<bytes>`, with nothing between
// fields, so a blob reads in the sqlite3 shell ("4:Host20:management.azure.com") and needs no
// escaping.
#pragma once

#include <string>
#include <string_view>

#include "model/headers.h"

namespace authscope {

// Appends the packed form of `headers` to `out`.
void pack_header_fields(const Headers& headers, std::string& out);

// Appends the fields packed in `block` to `headers`. False (with `headers` holding the fields
// before the damage) when the block is not a well-formed packing.
bool unpack_header_fields(std::string_view block, Headers& headers);

}  // namespace authscope
