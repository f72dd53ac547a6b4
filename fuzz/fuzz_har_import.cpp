// libFuzzer: the HAR importer (JSON streaming, entry validation, URL/time/base64 parsing,
// gzip re-encoding). Invariants: no crash or sanitizer report on any input; a failed import
// writes nothing (validate-then-write); a successful one writes exactly the count it returns,
// every flow with a host and an HTTP method, and a one-line error otherwise.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "storage/flow_store.h"
#include "storage/har.h"

using namespace authscope;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace {

// Counts what the importer writes; SQLite itself is not what is being fuzzed.
class CountingStore final : public FlowStore {
 public:
  int64_t enqueue(Flow flow) override {
    FUZZ_CHECK(!flow.host.empty());
    FUZZ_CHECK(!flow.request.method.empty());
    ++enqueued;
    return flow.id != 0 ? flow.id : enqueued;
  }
  Status flush() override { return Status::Ok(); }
  Result<std::vector<FlowSummary>> list() override { return std::vector<FlowSummary>(); }
  Result<std::optional<Flow>> load(int64_t) override { return std::optional<Flow>(); }
  Status for_each(const std::function<bool(const Flow&)>&) override { return Status::Ok(); }
  Result<int64_t> count() override { return enqueued; }
  Status replace_findings(const std::vector<Finding>&) override { return Status::Ok(); }
  Result<std::vector<Finding>> load_findings() override { return std::vector<Finding>(); }

  int64_t enqueued = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  CountingStore store;
  auto result = import_har(in, store);
  if (result.ok()) {
    FUZZ_CHECK(static_cast<int64_t>(*result) == store.enqueued);
  } else {
    FUZZ_CHECK(store.enqueued == 0);
    FUZZ_CHECK(!result.status().message().empty());
    FUZZ_CHECK(result.status().message().find('\n') == std::string::npos);
  }
  return 0;
}
