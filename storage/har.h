// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) out of and into a FlowStore.
//
// Export writes what browsers' HAR viewers expect, plus an `_authscope` object per entry with
// what HAR cannot say (flow kind, exact microsecond times, the raw request target, absent vs
// empty bodies, truncation, TLS details, the flow error), so export → import gives back the
// same flows. Bodies compressed with gzip/deflate are exported decoded (as browsers do) and
// compressed again on import, because a Flow keeps bodies as they were on the wire.
//
// Import accepts exports from Chrome, Firefox and Fiddler: optional fields missing,
// base64 bodies, postData.params without text, HTTP/2 pseudo-headers, `_` extensions.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>

#include "model/status.h"
#include "storage/flow_store.h"

namespace authscope {

// Streams every flow of `store` in id order as one HAR document (one flow in memory at a time).
Status export_har(FlowStore& store, std::ostream& out);

struct HarImportOptions {
  // Keep the flow ids recorded in `_authscope.id` when the store is empty and every entry has
  // one (strictly increasing), so an exported capture comes back with the ids its findings
  // name. Otherwise the store assigns new ids.
  bool keep_ids = true;
};

// Imports every entry as a flow and flushes the store. Validate-then-write: the whole input is
// parsed and converted once without writing (a non-seekable stream is first spooled to a
// private temporary file), so a file that is not HAR (not JSON, no log.entries, an entry of
// the wrong shape) gives a one-line error naming what is wrong and imports nothing. Memory
// holds one entry at a time (nlohmann's parser callback discards each entry once converted).
// Returns the number of flows imported.
Result<size_t> import_har(std::istream& in, FlowStore& store, const HarImportOptions& options = {});
Result<size_t> import_har_file(const std::string& path, FlowStore& store, const HarImportOptions& options = {});

}  // namespace authscope
