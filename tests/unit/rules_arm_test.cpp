// aux-header-missing / aux-header-invalid over Terraform- and az-shaped ARM traffic, and the
// nearby traffic that must stay silent (single-tenant writes, missing-role LinkedAuthorizationFailed).
#include <catch2/catch.hpp>

#include "flow_builders.h"

using namespace authscope;
using namespace authscope::test;

namespace {

const std::string kSub = "/subscriptions/aaaaaaaa-1111-2222-3333-444444444444";
const std::string kLinkedSub = "bbbbbbbb-5555-6666-7777-888888888888";
const std::string kVmPath = kSub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-03-01";
const std::string kNicPath = kSub + "/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1?api-version=2023-09-01";

// az / Terraform obtaining an ARM token for `tenant` (refresh token grant, v2 endpoint).
Flow arm_token_for(int64_t id, const std::string& tenant, const std::string& token) {
  return make_token_request(id, {{"client_id", kAzureCli}, {"grant_type", "refresh_token"},
                                 {"refresh_token", "0.AAA-rt"},
                                 {"scope", "https://management.azure.com//.default offline_access openid profile"}},
                            token_response(token), tenant);
}

}  // namespace

TEST_CASE("a single-tenant ARM write needs no auxiliary header", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  auto fs = run_rules({arm_token_for(1, kTenantA, a), make_arm_call(2, "PUT", kVmPath, a, 201),
                       make_arm_call(3, "GET", kVmPath, a, 200)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("aux-header-missing: LinkedAuthorizationFailed naming a linked subscription", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  const std::string b = make_jwt(arm_claims(kTenantB));
  std::vector<Flow> flows = {arm_token_for(1, kTenantA, a), arm_token_for(2, kTenantB, b),
                             make_arm_call(3, "PUT", kNicPath, a, 403, laf_cross_tenant_body(kTenantA, kLinkedSub))};
  auto fs = run_rules(flows);
  auto m = of_rule(fs, "aux-header-missing");
  REQUIRE(m.size() == 1);
  const Finding& f = *m[0];
  CHECK(f.flows == std::vector<int64_t>{3});
  CHECK(f.severity == Severity::kHigh);
  // Names the linked subscription, the primary tenant, the held aux token and how to send it.
  CHECK(f.message.find(kLinkedSub) != std::string::npos);
  CHECK(f.message.find(std::string("primary token is for tenant ") + kTenantA) != std::string::npos);
  CHECK(f.message.find(std::string("already holds an ARM token for tenant ") + kTenantB) != std::string::npos);
  CHECK(f.message.find("x-ms-authorization-auxiliary: Bearer <token>") != std::string::npos);
  CHECK(f.message.find("auxiliary_tenant_ids") != std::string::npos);
  CHECK(f.message.find("az rest --headers") != std::string::npos);
  CHECK(f.message.find("terraform-provider-azurerm/3.116.0") != std::string::npos);
  CHECK(f.message.find("Microsoft Azure CLI") != std::string::npos);
  CHECK(f.evidence["linked_subscription"] == kLinkedSub);
  CHECK(f.evidence["primary_tenant"] == kTenantA);
  REQUIRE(f.evidence["held_aux_tokens"].size() == 1);
  CHECK(f.evidence["held_aux_tokens"][0]["tenant"] == kTenantB);
  CHECK(f.evidence["held_aux_tokens"][0]["flow"] == 2);
  CHECK(rule_ids(fs) == std::set<std::string>{"aux-header-missing"});
}

TEST_CASE("aux-header-missing without a held token tells the client to get one", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  auto fs = run_rules({make_arm_call(1, "PUT", kNicPath, a, 403, laf_cross_tenant_body(kTenantA, kLinkedSub),
                                     std::nullopt, "terraform-provider-azapi/1.15.0 Terraform/1.9.5")});
  auto m = of_rule(fs, "aux-header-missing");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->message.find("obtained no ARM token for another tenant") != std::string::npos);
  CHECK(m[0]->message.find("terraform-provider-azapi/1.15.0 (Terraform/1.9.5)") == std::string::npos);
  CHECK(m[0]->message.find("terraform-provider-azapi/1.15.0") != std::string::npos);
}

TEST_CASE("LinkedAuthorizationFailed for a missing role is not aux-header-missing", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  const std::string b = make_jwt(arm_claims(kTenantB));
  auto fs = run_rules({arm_token_for(1, kTenantA, a), arm_token_for(2, kTenantB, b),
                       make_arm_call(3, "PUT", kVmPath, a, 403, laf_missing_role_body())});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("with the auxiliary header the cross-tenant write is clean", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  const std::string b = make_jwt(arm_claims(kTenantB));
  auto fs = run_rules({arm_token_for(1, kTenantA, a), arm_token_for(2, kTenantB, b),
                       make_arm_call(3, "PUT", kNicPath, a, 201, "{}", "Bearer " + b)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("aux-header-missing: a two-tenant client's failing write carrying only one token", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  const std::string b = make_jwt(arm_claims(kTenantB));
  const std::string iatt = R"({"error":{"code":"InvalidAuthenticationTokenTenant","message":"The access token is from the wrong issuer"}})";
  auto fs = run_rules({arm_token_for(1, kTenantA, a), arm_token_for(2, kTenantB, b),
                       make_arm_call(3, "PUT", kVmPath, a, 401, iatt)});
  auto m = of_rule(fs, "aux-header-missing");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->message.find("more than one tenant") != std::string::npos);
  CHECK(m[0]->evidence["error_code"] == "InvalidAuthenticationTokenTenant");

  // Successful writes, plain RBAC denials and reads from the same client are not reported.
  const std::string denied = R"({"error":{"code":"AuthorizationFailed","message":"does not have authorization"}})";
  fs = run_rules({arm_token_for(1, kTenantA, a), arm_token_for(2, kTenantB, b),
                  make_arm_call(3, "PUT", kVmPath, a, 201), make_arm_call(4, "PUT", kVmPath, a, 403, denied),
                  make_arm_call(5, "GET", kVmPath, b, 404, R"({"error":{"code":"ResourceNotFound"}})")});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("aux-header-invalid: format, count, audience, expiry, primary tenant only", "[unit][rules][aux]") {
  const std::string a = make_jwt(arm_claims(kTenantA));
  const std::string b = make_jwt(arm_claims(kTenantB));
  const std::string b2 = make_jwt(arm_claims(kTenantB, kAzureCli, kT0 + 7200));
  auto problems_of = [&](const std::string& aux) {
    auto fs = run_rules({make_arm_call(10, "PUT", kNicPath, a, 201, "{}", aux)});
    auto m = of_rule(fs, "aux-header-invalid");
    INFO(dump_findings(fs));
    REQUIRE(m.size() == 1);
    CHECK(m[0]->flows == std::vector<int64_t>{10});
    return m[0]->message;
  };
  CHECK(problems_of(b).find("has no scheme") != std::string::npos);
  CHECK(problems_of("Basic " + b).find("uses scheme \"Basic\"") != std::string::npos);
  CHECK(problems_of("Bearer " + b + ",Bearer " + b2).find("separated by \", \"") != std::string::npos);
  CHECK(problems_of("Bearer " + b + "; Bearer " + b2).find("2019") != std::string::npos);
  const std::string c = make_jwt(arm_claims("cccccccc-0000-0000-0000-000000000000"));
  const std::string d = make_jwt(arm_claims("dddddddd-0000-0000-0000-000000000000"));
  CHECK(problems_of("Bearer " + b + ", Bearer " + b2 + ", Bearer " + c + ", Bearer " + d).find("carries 4 tokens") !=
        std::string::npos);
  const std::string graph_b = make_jwt(graph_claims(kTenantB, kAzureCli, "User.Read"));
  CHECK(problems_of("Bearer " + graph_b).find("not Azure Resource Manager") != std::string::npos);
  const std::string expired_b = make_jwt(arm_claims(kTenantB, kAzureCli, kT0 + 5));
  CHECK(problems_of("Bearer " + expired_b).find("expired") != std::string::npos);
  const std::string other_a = make_jwt(arm_claims(kTenantA, kAzureCli, kT0 + 7000));
  CHECK(problems_of("Bearer " + other_a).find("only the primary token's tenant") != std::string::npos);

  // Valid forms: up to three, Bearer and EncryptedBearer, ", " separated; the ARM alias
  // audience counts as ARM.
  const std::string alias_c = make_jwt(arm_claims("cccccccc-0000-0000-0000-000000000000", kAzureCli, kT0 + 3600,
                                                  "https://management.core.windows.net/"));
  auto fs = run_rules({make_arm_call(10, "PUT", kNicPath, a, 201, "{}",
                                     "Bearer " + b + ", EncryptedBearer opaque-encrypted-token, Bearer " + alias_c)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}
