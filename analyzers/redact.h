// Secrets at rest: rewrite a flow so the store and exports hold no usable credential, while
// keeping what the analyzers need (token headers and claims, S256 of code verifiers, token
// fingerprints). Analysis of a redacted flow gives the same findings as of the raw one.
#pragma once

#include "model/flow.h"

namespace authscope {

// Replaces in place: JWT signatures (header and claims kept), Authorization and
// x-ms-authorization-auxiliary credentials, client secrets and assertions, passwords, refresh
// tokens, authorization codes, code_verifier values, session cookies (ESTSAUTH* and others),
// in headers, form and JSON bodies and URLs. Each value becomes a marker with a fingerprint.
void redact_secrets(Flow& flow);

}  // namespace authscope
