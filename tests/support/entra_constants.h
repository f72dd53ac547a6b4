// Fixed identities the fake Entra world uses, so tests and the Python client agree on them
// without passing them around. GUIDs are made up (except the well-known first-party client and
// resource ids, which are real and public: see shared/reference/entra-reference.json).
#pragma once

#include <string_view>

namespace authscope::testkit {

// The tenant a token gets when the path names `common`, `organizations` or `consumers`
// (the real service resolves these to the user's home tenant; ours is always this one).
inline constexpr std::string_view kHomeTenantId = "72f988bf-86f1-41af-91ab-2d7cd011db47";
// A second tenant that owns the "linked" subscription in cross-tenant ARM scenarios.
inline constexpr std::string_view kLinkedTenantId = "a1b2c3d4-1111-4222-8333-944455556666";
inline constexpr std::string_view kHomeSubscriptionId = "11111111-2222-4333-8444-555555555555";
inline constexpr std::string_view kLinkedSubscriptionId = "99999999-8888-4777-8666-555544443333";
// A subscription in the same home tenant whose linked scope lacks a role (linked-missing-role).
inline constexpr std::string_view kNoRoleSubscriptionId = "77777777-6666-4555-8444-333322221111";

inline constexpr std::string_view kUserOid = "6d0f2c5e-3b0a-4f5e-9d52-2a4c0b1e7f90";
inline constexpr std::string_view kUserUpn = "alex@contoso.example";
inline constexpr std::string_view kUserName = "Alex Wilber";
inline constexpr std::string_view kAppOid = "3c9a8e2d-5f41-4b7a-8e6d-1f0a2b3c4d5e";  // SP object id

// Real first-party public clients (public knowledge) and a made-up confidential app.
inline constexpr std::string_view kAzureCliClientId = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
inline constexpr std::string_view kAzurePowerShellClientId = "1950a258-227b-4e31-a9cf-717495945fc2";
inline constexpr std::string_view kTestAppClientId = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";
inline constexpr std::string_view kTestAppSecret = "fake-secret~not-a-real-one";

// Resource ids and audiences (v1 tokens carry the resource URI as aud).
inline constexpr std::string_view kArmResource = "https://management.azure.com/";
inline constexpr std::string_view kArmAppId = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
inline constexpr std::string_view kGraphResource = "https://graph.microsoft.com";
inline constexpr std::string_view kGraphAppId = "00000003-0000-0000-c000-000000000000";

inline constexpr std::string_view kLoginHost = "login.microsoftonline.com";
inline constexpr std::string_view kArmHost = "management.azure.com";
inline constexpr std::string_view kGraphHost = "graph.microsoft.com";

}  // namespace authscope::testkit
