// FlowAnnotator: the records the store keeps about each flow (class, tokens, signature status),
// computed from the raw flow; equal to a fresh classify()/decode of the same flow; verification
// cached by token and redone when new keys arrive; bounded cache.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "analyzers/classify.h"
#include "analyzers/flow_annotator.h"
#include "analyzers/known_apps.h"
#include "analyzers/redact.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

const std::string kLogin = "https://login.microsoftonline.com/";

Flow jwks_flow(const SigningKey& key) {
  Flow f = make_flow("GET", kLogin + "common/discovery/v2.0/keys");
  set_response(f, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
  return f;
}

Flow arm_get(const std::string& token) {
  Flow f = make_flow("GET", "https://management.azure.com/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
                            "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-03-01",
                     {{"Authorization", "Bearer " + token}});
  set_response(f, 200, {{"Content-Type", "application/json"}}, R"({"name":"vm1"})");
  return f;
}

// Realistic flows of every class (v1/v2, each grant, ARM read/write, Graph, discovery, tunnel).
std::vector<Flow> corpus(const std::string& at, const std::string& id_token) {
  const std::string tenant = kTenant;
  std::vector<Flow> flows;
  flows.push_back(make_flow("GET", kLogin + "common/oauth2/v2.0/authorize?client_id=x&response_type=code&state=s"));
  flows.push_back(make_flow("GET", kLogin + "contoso.onmicrosoft.com/oauth2/authorize?resource=x"));
  Flow code = make_form_post(kLogin + "organizations/oauth2/v2.0/token",
                             "grant_type=authorization_code&code=0.AAA-code&code_verifier=abc&client_id=x");
  set_response(code, 200, {{"Content-Type", "application/json"}},
               nlohmann::json{{"access_token", at}, {"id_token", id_token}, {"refresh_token", "0.AXoA-rt"}}.dump());
  flows.push_back(code);
  flows.push_back(make_form_post(kLogin + tenant + "/oauth2/token", "grant_type=refresh_token&refresh_token=r"));
  flows.push_back(make_form_post(kLogin + tenant + "/oauth2/v2.0/token",
                                 "client_id=a&client_secret=s3cret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                                 "&grant_type=client_credentials"));
  flows.push_back(make_form_post(kLogin + "consumers/oauth2/v2.0/token", "grant_type=password&username=u&password=p"));
  flows.push_back(make_form_post(kLogin + "common/oauth2/v2.0/token",
                                 "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d"));
  flows.push_back(make_form_post(kLogin + tenant + "/oauth2/v2.0/token",
                                 "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + at +
                                     "&requested_token_use=on_behalf_of&scope=x"));
  flows.push_back(make_form_post(kLogin + "common/oauth2/v2.0/token",
                                 "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x"));
  flows.push_back(make_form_post(kLogin + "common/oauth2/token",
                                 "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer&assertion=PHNh"));
  flows.push_back(make_form_post(kLogin + "common/oauth2/v2.0/devicecode", "client_id=x&scope=openid"));
  flows.push_back(make_flow("GET", kLogin + tenant + "/v2.0/.well-known/openid-configuration"));
  flows.push_back(make_flow("GET", kLogin + "common/discovery/instance?api-version=1.1"));
  flows.push_back(make_flow("GET", kLogin + "common/oauth2/v2.0/logout"));
  flows.push_back(arm_get(at));
  flows.push_back(make_flow("PUT", "https://management.azure.com/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"
                                   "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
                                   "?api-version=2023-09-01",
                            {{"Authorization", "Bearer " + at}, {"x-ms-authorization-auxiliary", "Bearer " + at}}));
  flows.push_back(make_flow("GET", "https://graph.microsoft.com/v1.0/me", {{"Authorization", "Bearer " + at}}));
  flows.push_back(make_flow("GET", "https://example.com/?access_token=not.a.jwt"));
  flows.push_back(make_flow("GET", "https://management.azure.com/x", {{"Authorization", "Bearer eyJ.broken"}}));
  Flow tunnel;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.host = "login.microsoftonline.com";
  tunnel.port = 443;
  flows.push_back(tunnel);
  return flows;
}

}  // namespace

TEST_CASE("stored class equals classify() of the raw flow, for a corpus", "[unit][tokens]") {
  SigningKey key("RS256", "k1");
  std::string at = key.mint(arm_user_claims_v1());
  std::string id_token = key.mint({{"aud", "x"}, {"iss", kLogin + std::string(kTenant) + "/v2.0"}, {"nonce", "n"}});
  FlowAnnotator annotator(builtin_known_apps());
  annotator.observe(jwks_flow(key));
  JwksIndex keys;
  keys.add_jwks(key.jwks());
  std::set<std::string> labels;
  for (const Flow& f : corpus(at, id_token)) {
    INFO(f.request.method << " " << f.url());
    FlowClass expected = classify(f, builtin_known_apps());
    FlowAnnotations a = annotator.annotate(f);
    CHECK(a.flow_class == flow_class_label(expected));
    // The stored detail brings the whole classification back.
    CHECK(flow_class_from_stored(a.flow_class, a.class_detail) == expected);
    // Cached and uncached annotation agree.
    CHECK(a == annotate_flow(f, builtin_known_apps(), keys));
    labels.insert(a.flow_class);
  }
  for (const char* want : {"authorize", "token:authorization_code", "token:refresh_token", "token:client_credentials",
                           "token:password", "token:device_code", "token:jwt-bearer", "token:token-exchange",
                           "token:saml-bearer", "device-code", "openid-configuration", "instance-discovery", "logout",
                           "arm:read", "arm:write", "graph", "other", "tunnel"}) {
    INFO(want);
    CHECK(labels.count(want) == 1);
  }
  FlowAnnotations arm = annotator.annotate(corpus(at, id_token)[15]);
  auto detail = nlohmann::json::parse(arm.class_detail);
  CHECK(detail["subscription"] == "0b1f6471-1bf0-4dda-aec3-cb9272f09590");
  CHECK(detail["resource_provider"] == "Microsoft.Network");
  CHECK(detail["resource_type"] == "virtualNetworks/subnets");
  CHECK(detail["arm_write"] == true);
}

TEST_CASE("stored class details are JSON for any bytes a path can hold", "[unit][tokens]") {
  FlowClass c;
  c.kind = "arm";
  c.arm_write = true;
  c.resource_group = std::string("a\"b\\c\x01d\x7f");
  c.subscription = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
  auto ascii = nlohmann::json::parse(flow_class_detail(c));
  CHECK(ascii["resource_group"] == c.resource_group);
  CHECK(flow_class_from_stored(flow_class_label(c), flow_class_detail(c)) == c);
  c.resource_type = "caf\xc3\xa9";  // UTF-8 é
  CHECK(flow_class_from_stored(flow_class_label(c), flow_class_detail(c)) == c);
  c.resource_type = "bad\xff";  // not UTF-8: replaced, never thrown
  auto repaired = nlohmann::json::parse(flow_class_detail(c));
  CHECK(repaired["resource_type"] == "bad\xef\xbf\xbd");
  CHECK(flow_class_label(c) == "arm:write");
  CHECK(flow_class_from_stored("token:password", "not json").grant == "password");
  CHECK(flow_class_from_stored("", "{}").kind == "other");
}

TEST_CASE("token records: formats, fingerprints, header and claims but never a signature or secret",
          "[unit][tokens]") {
  SigningKey key("ES256", "ec-1");
  std::string at = key.mint(arm_user_claims_v1());
  std::string id_token = key.mint({{"aud", "x"}, {"nonce", "n"}});
  FlowAnnotator annotator(builtin_known_apps());
  annotator.observe(jwks_flow(key));
  FlowAnnotations a = annotator.annotate(corpus(at, id_token)[2]);  // code redemption
  REQUIRE(a.tokens.size() == 5);
  CHECK(a.tokens[0].location == "request.form.code");
  CHECK(a.tokens[0].format == "opaque");
  CHECK(a.tokens[0].fingerprint == token_fingerprint("0.AAA-code"));
  CHECK(a.tokens[1].kind == "code_verifier");
  CHECK(a.tokens[1].format == "secret");
  CHECK(a.tokens[1].fingerprint.empty());
  const TokenRecord& access = a.tokens[2];
  CHECK(access.location == "response.json.access_token");
  CHECK(access.format == "jws");
  CHECK(access.signature == "verified");
  CHECK(access.fingerprint == token_fingerprint(at));
  CHECK(nlohmann::json::parse(access.claims_json) == arm_user_claims_v1());
  CHECK(nlohmann::json::parse(access.header_json)["kid"] == "ec-1");
  const std::string signature = at.substr(at.rfind('.') + 1);
  for (const TokenRecord& t : a.tokens) {
    CHECK(t.header_json.find(signature) == std::string::npos);
    CHECK(t.claims_json.find(signature) == std::string::npos);
  }
  // Secrets never reach a record in any form.
  FlowAnnotations secret = annotator.annotate(corpus(at, id_token)[4]);
  bool saw_secret = false;
  for (const TokenRecord& t : secret.tokens) {
    if (t.kind != "client_secret") continue;
    saw_secret = true;
    CHECK(t.format == "secret");
    CHECK(t.fingerprint.empty());
    CHECK(t.claims_json.empty());
  }
  CHECK(saw_secret);
  // Malformed: the reason is kept.
  FlowAnnotations broken = annotator.annotate(corpus(at, id_token)[18]);
  REQUIRE(broken.tokens.size() == 1);
  CHECK(broken.tokens[0].format == "malformed");
  CHECK_FALSE(broken.tokens[0].error.empty());
}

TEST_CASE("annotator verifies before redaction, caches by token, re-verifies when keys arrive",
          "[unit][tokens]") {
  SigningKey key("RS256", "k1");
  SigningKey other("RS256", "k1");  // same kid, another key: a forged token
  std::string at = key.mint(arm_user_claims_v1());
  FlowAnnotator annotator(builtin_known_apps());

  // Before any JWKS: nothing to verify with.
  CHECK(annotator.annotate(arm_get(at)).tokens.at(0).signature == "unverified");
  // The JWKS passes through the annotator like any flow; the cached verdict is redone.
  annotator.annotate(jwks_flow(key));
  CHECK(annotator.stats().keys == 1);
  Flow raw = arm_get(at);
  FlowAnnotations a = annotator.annotate(raw);
  CHECK(a.tokens.at(0).signature == "verified");
  CHECK_FALSE(a.tokens.at(0).redacted);

  // The same flow after redaction: the signature is gone, so a fresh look says "redacted" ...
  Flow redacted = raw;
  redact_secrets(redacted);
  CHECK(annotator.annotate(redacted).tokens.at(0).signature == "redacted");
  CHECK(annotator.annotate(redacted).tokens.at(0).fingerprint == a.tokens.at(0).fingerprint);

  // Tampered claims with the original signature: bad-signature. A token signed by another key
  // under the same kid: bad-signature too.
  std::string tampered = base64url_encode(R"({"alg":"RS256","kid":"k1","typ":"JWT"})") + "." +
                         base64url_encode(R"({"aud":"https://management.core.windows.net/","oid":"evil"})") + "." +
                         at.substr(at.rfind('.') + 1);
  CHECK(annotator.annotate(arm_get(tampered)).tokens.at(0).signature == "bad-signature");
  CHECK(annotator.annotate(arm_get(other.mint(arm_user_claims_v1()))).tokens.at(0).signature == "bad-signature");

  // 1000 requests with one bearer token: decoded and verified once.
  auto before = annotator.stats();
  for (int i = 0; i < 1000; ++i) annotator.annotate(raw);
  auto after = annotator.stats();
  CHECK(after.cache_misses == before.cache_misses);
  CHECK(after.cache_hits - before.cache_hits == 1000);
  CHECK(after.flows - before.flows == 1000);
}

TEST_CASE("the annotator's cache is bounded in entries and bytes", "[unit][tokens]") {
  SigningKey key("RS256", "k1");
  FlowAnnotator small(builtin_known_apps(), 3, size_t{1} << 20);
  for (int i = 0; i < 20; ++i) {
    nlohmann::json claims = arm_user_claims_v1();
    claims["uti"] = "u" + std::to_string(i);
    small.annotate(arm_get(key.mint(claims)));
  }
  CHECK(small.stats().cache_entries == 3);
  CHECK(small.stats().cache_misses == 20);
  // A byte bound smaller than one token: nothing is cached, everything still works.
  FlowAnnotator tiny(builtin_known_apps(), 100, 64);
  std::string at = key.mint(arm_user_claims_v1());
  tiny.annotate(jwks_flow(key));
  CHECK(tiny.annotate(arm_get(at)).tokens.at(0).signature == "verified");
  CHECK(tiny.annotate(arm_get(at)).tokens.at(0).signature == "verified");
  CHECK(tiny.stats().cache_entries == 0);
  CHECK(tiny.stats().cache_hits == 0);
}

// Cost per flow on the writer thread for the proxy benchmark's shape (one ARM client, one bearer
// token, many requests). Prints the numbers when AUTHSCOPE_PRINT_COST is set; asserts only a
// generous bound (Debug builds and shared CI machines are slow).
TEST_CASE("annotating a flow with a repeated token costs a few microseconds", "[unit][tokens]") {
  SigningKey key("RS256", "k1");
  std::string at = key.mint(arm_user_claims_v1());
  FlowAnnotator annotator(builtin_known_apps());
  annotator.annotate(jwks_flow(key));
  Flow flow = arm_get(at);
  constexpr int kFlows = 20000;
  auto t0 = std::chrono::steady_clock::now();
  size_t tokens = 0;
  for (int i = 0; i < kFlows; ++i) tokens += annotator.annotate(flow).tokens.size();
  auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < kFlows; ++i) {
    Flow copy = flow;
    redact_secrets(copy);
  }
  auto t2 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) annotate_flow(flow, builtin_known_apps(), JwksIndex());
  auto t3 = std::chrono::steady_clock::now();
  auto us = [](auto d, int n) { return std::chrono::duration<double, std::micro>(d).count() / n; };
  double annotate_us = us(t1 - t0, kFlows);
  if (std::getenv("AUTHSCOPE_PRINT_COST")) {
    std::printf("annotate (cached token): %.2f us/flow; redact_secrets: %.2f us/flow; uncached decode: %.2f us/flow\n",
                annotate_us, us(t2 - t1, kFlows), us(t3 - t2, 200));
  }
  CHECK(tokens == kFlows);
  CHECK(annotator.stats().cache_misses == 1);
  CHECK(annotate_us < 200.0);
}
