#include "model/status.h"

namespace authscope {

std::string Status::ToString() const {
  const char* prefix = "";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalid: prefix = "invalid: "; break;
    case Code::kParse: prefix = "parse error: "; break;
    case Code::kIo: prefix = "I/O error: "; break;
    case Code::kTls: prefix = "TLS error: "; break;
    case Code::kNotFound: prefix = "not found: "; break;
    case Code::kUnsupported: prefix = "unsupported: "; break;
    case Code::kLimit: prefix = "limit exceeded: "; break;
  }
  return prefix + message_;
}

}  // namespace authscope
