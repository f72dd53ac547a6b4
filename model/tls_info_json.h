// TlsInfo as JSON: one field naming shared by the store's tls column, HAR's _authscope.tls
// extension and `authscope flows/show --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "model/flow.h"

namespace authscope {

nlohmann::ordered_json tls_info_to_json(const TlsInfo& tls);
TlsInfo tls_info_from_json(const nlohmann::json& j);  // missing or mistyped keys stay empty

}  // namespace authscope
