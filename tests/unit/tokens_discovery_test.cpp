// find_tokens on every location it covers.
#include <catch2/catch.hpp>

#include <map>

#include "analyzers/http_text.h"

#include "analyzers/jwt.h"
#include "analyzers/redact.h"
#include "analyzers/token_discovery.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

const FoundToken* find(const std::vector<FoundToken>& tokens, const std::string& location) {
  for (const auto& t : tokens) {
    if (t.location == location) return &t;
  }
  return nullptr;
}

std::string locations(const std::vector<FoundToken>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += t.location + "(" + t.kind + ") ";
  return out;
}

}  // namespace

TEST_CASE("find_tokens: Authorization Bearer, PoP and auxiliary tokens", "[unit][tokens]") {
  SigningKey key("RS256", "k");
  std::string primary = key.mint(arm_user_claims_v1());
  auto aux_claims = arm_user_claims_v1();
  aux_claims["tid"] = kOtherTenant;
  std::string aux1 = key.mint(aux_claims);
  std::string aux2 = key.mint(graph_app_claims_v2());
  Flow f = make_flow("PUT", "https://management.azure.com/subscriptions/x/resourceGroups/y?api-version=1",
                     {{"Authorization", "Bearer " + primary},
                      {"x-ms-authorization-auxiliary", "Bearer " + aux1 + ", EncryptedBearer " + aux2}});
  auto tokens = find_tokens(f);
  INFO(locations(tokens));
  REQUIRE(tokens.size() == 3);
  CHECK(tokens[0].location == "request.header.Authorization");
  CHECK(tokens[0].kind == "access_token");
  CHECK(tokens[0].scheme == "Bearer");
  CHECK(tokens[0].raw == primary);
  CHECK(tokens[1].location == "request.header.x-ms-authorization-auxiliary[0]");
  CHECK(tokens[1].kind == "aux_token");
  CHECK(tokens[1].raw == aux1);
  CHECK(tokens[2].location == "request.header.x-ms-authorization-auxiliary[1]");
  CHECK(tokens[2].scheme == "EncryptedBearer");
  CHECK(tokens[2].raw == aux2);

  // MSAL AT-PoP: the SHR wraps the access token in its "at" claim.
  std::string shr = key.mint({{"at", primary}, {"ts", kIat}, {"m", "GET"}, {"u", "graph.microsoft.com"}});
  Flow pop = make_flow("GET", "https://graph.microsoft.com/v1.0/me", {{"Authorization", "PoP " + shr}});
  auto pt = find_tokens(pop);
  REQUIRE(pt.size() == 2);
  CHECK(pt[0].kind == "pop_token");
  CHECK(pt[0].scheme == "PoP");
  CHECK(pt[1].location == "request.header.Authorization.at");
  CHECK(pt[1].raw == primary);

  Flow basic = make_flow("GET", "https://example.test/", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  auto bt = find_tokens(basic);
  REQUIRE(bt.size() == 1);
  CHECK(bt[0].kind == "basic_credentials");
  CHECK(is_secret_kind(bt[0].kind));
}

TEST_CASE("find_tokens: form bodies of token requests", "[unit][tokens]") {
  SigningKey key("RS256", "k");
  std::string assertion = key.mint({{"aud", "https://login.microsoftonline.com/t/oauth2/v2.0/token"}, {"iss", "app"}});
  Flow f = make_form_post("https://login.microsoftonline.com/common/oauth2/v2.0/token",
                          "grant_type=authorization_code&code=0.AXoA-code%2Bvalue&code_verifier=dBjftJeZ4CVP"
                          "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
                          "&client_assertion=" + assertion + "&refresh_token=0.rt&id_token_hint=" + assertion +
                          "&assertion=saml&client_secret=s3cr3t&password=hunter2");
  auto t = find_tokens(f);
  INFO(locations(t));
  REQUIRE(find(t, "request.form.code"));
  CHECK(find(t, "request.form.code")->raw == "0.AXoA-code+value");
  CHECK(find(t, "request.form.code")->kind == "authorization_code");
  CHECK(find(t, "request.form.code_verifier")->kind == "code_verifier");
  CHECK(find(t, "request.form.client_assertion")->raw == assertion);
  CHECK(find(t, "request.form.refresh_token")->kind == "refresh_token");
  CHECK(find(t, "request.form.id_token_hint")->kind == "id_token_hint");
  CHECK(find(t, "request.form.assertion")->kind == "assertion");
  CHECK(find(t, "request.form.client_secret")->kind == "client_secret");
  CHECK(find(t, "request.form.password")->kind == "password");
  CHECK(find(t, "request.form.client_assertion_type") == nullptr);
  CHECK(find(t, "request.form.grant_type") == nullptr);
}

TEST_CASE("find_tokens: JSON token responses, redirects and form_post", "[unit][tokens]") {
  SigningKey key("RS256", "k");
  std::string at = key.mint(arm_user_claims_v1());
  std::string idt = key.mint({{"aud", kAzureCli}, {"nonce", "n"}});
  Flow f = make_form_post("https://login.microsoftonline.com/common/oauth2/v2.0/token", "grant_type=refresh_token");
  set_response(f, 200, {{"Content-Type", "application/json; charset=utf-8"}},
               nlohmann::json{{"token_type", "Bearer"}, {"access_token", at}, {"id_token", idt},
                              {"refresh_token", "0.AXoA-rt"}, {"expires_in", 3599}}
                   .dump());
  auto t = find_tokens(f);
  INFO(locations(t));
  CHECK(find(t, "response.json.access_token")->raw == at);
  CHECK(find(t, "response.json.id_token")->kind == "id_token");
  CHECK(find(t, "response.json.refresh_token")->raw == "0.AXoA-rt");

  Flow redirect = make_flow("GET", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=x");
  set_response(redirect, 302,
               {{"Location", "http://localhost:8400/?code=0.AXcode&state=s1&session_state=abc#id_token=" + idt}}, "");
  auto r = find_tokens(redirect);
  INFO(locations(r));
  REQUIRE(r.size() == 2);
  CHECK(r[0].location == "response.header.Location.query.code");
  CHECK(r[0].raw == "0.AXcode");
  CHECK(r[1].location == "response.header.Location.fragment.id_token");

  Flow callback = make_flow("GET", "http://localhost:8400/callback#access_token=" + at + "&token_type=Bearer");
  auto c = find_tokens(callback);
  REQUIRE(c.size() == 1);
  CHECK(c[0].location == "request.target.fragment.access_token");
  CHECK(c[0].kind == "access_token");
  Flow query = make_flow("GET", "http://localhost:8400/callback?code=abc&state=s");
  CHECK(find_tokens(query).at(0).location == "request.target.query.code");

  Flow post = make_flow("POST", "https://login.microsoftonline.com/common/login");
  set_response(post, 200, {{"Content-Type", "text/html; charset=utf-8"}},
               "<html><body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"https://app/cb\">"
               "<input type=\"hidden\" name=\"code\" value=\"0.AXformpost\" />"
               "<input type=\"hidden\" name=\"id_token\" value=\"" + idt + "\" />"
               "<input type=\"hidden\" name=\"state\" value=\"s\" /></form></body></html>");
  auto p = find_tokens(post);
  INFO(locations(p));
  REQUIRE(p.size() == 2);
  CHECK(p[0].location == "response.form_post.code");
  CHECK(p[0].raw == "0.AXformpost");
  CHECK(p[1].raw == idt);
}

TEST_CASE("find_tokens: redacted values are found and decode", "[unit][tokens]") {
  SigningKey key("RS256", "k");
  std::string at = key.mint(arm_user_claims_v1());
  Flow f = make_flow("GET", "https://management.azure.com/subscriptions?api-version=1", {{"Authorization", "Bearer " + at}});
  redact_secrets(f);
  auto t = find_tokens(f);
  REQUIRE(t.size() == 1);
  CHECK(t[0].redacted);
  auto d = decode_token(t[0].raw);
  REQUIRE(d.ok());
  CHECK(d->redacted);
  CHECK(d->fingerprint == token_fingerprint(at));
  CHECK(d->claims == decode_token(at)->claims);

  // Garbage never throws and never yields phantom tokens.
  Flow junk = make_flow("POST", "https://x.test/?&&=&code", {{"Authorization", ""}, {"x-ms-authorization-auxiliary", ",,;"}},
                        std::string("\x1f\x8b garbage", 10));
  junk.request.headers.add("Content-Type", "application/json");
  set_response(junk, 200, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, "not gzip");
  CHECK(find_tokens(junk).empty());
}

TEST_CASE("unescaped_json_string_members reads top-level string members like the parsed document", "[unit][tokens]") {
  auto members = [](std::string_view text) {
    std::map<std::string, std::string> out;
    auto m = unescaped_json_string_members(text);
    if (!m) return std::optional<std::map<std::string, std::string>>();
    for (const auto& [k, v] : *m) out[std::string(k)] = std::string(v);
    return std::optional<std::map<std::string, std::string>>(out);
  };
  const std::string body =
      R"({"token_type":"Bearer","expires_in":3599,"nested":{"access_token":"inner"},"list":["a","b"],)"
      R"("access_token":"first","id_token":null,"access_token":"last","refresh_token":"0.AX"} )";
  auto m = members(body);
  REQUIRE(m);
  // Nested and array strings are not members; a repeated name keeps its last value; non-strings are skipped.
  CHECK(*m == std::map<std::string, std::string>{{"token_type", "Bearer"}, {"access_token", "last"}, {"refresh_token", "0.AX"}});
  auto doc = parse_json(body);
  REQUIRE(doc);
  for (const auto& [k, v] : *m) CHECK(json_string(*doc, k) == v);
  CHECK_FALSE(json_string(*doc, "id_token"));
  // Escapes, arrays at top level, trailing bytes, cut text, control characters: left to the parser.
  CHECK_FALSE(members(R"({"acc\u0065ss_token":"x"})"));
  CHECK_FALSE(members(R"(["access_token"])"));
  CHECK_FALSE(members(R"({"a":"b"} trailing)"));
  CHECK_FALSE(members(R"({"a":"b")"));
  CHECK_FALSE(members("{\"a\":\"b\x01\"}"));
}
