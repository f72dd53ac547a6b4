// Analysis over a store reading only what the analyzers read (issue 6 item 3): the findings must
// be exactly those of whole flows. Each corpus is written to a SQLite store and analyzed both
// ways (FlowReading::kWholeFlows vs kWhatAnalysisReads), and against the in-memory engine;
// read_token_response (the token endpoint reply read without a JSON document) is checked
// against json_body + json_string on edge cases and thousands of mutated replies.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "analyzers/auth_events.h"
#include "analyzers/findings_json.h"
#include "analyzers/http_text.h"
#include "cli/report_builder.h"
#include "cli/store_analysis.h"
#include "flow_builders.h"
#include "storage/har.h"
#include "storage_test_support.h"

using namespace authscope;
using namespace authscope::test;
using authscope::testing::TempDir;

namespace {

const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const std::string kRedirect = "https://app.contoso.example/cb";
const std::string kSub = "aaaaaaaa-0000-0000-0000-000000000001";

// ARM's async operation status: a 200 whose body names LinkedAuthorizationFailed.
std::string async_laf_body() {
  nlohmann::json j = {{"status", "Failed"},
                      {"error", nlohmann::json::parse(laf_cross_tenant_body(kTenantA, "bbbb"))["error"]}};
  return j.dump();
}

// gen-store-shaped traffic (bench/gen_store.cpp) with every body-dependent path of
// extract_events: sign-ins (authorize 302, token POST with JSON reply), ARM reads and writes,
// 403 LinkedAuthorizationFailed, a 200 async status naming it, errors, form_post responses to a
// client, the native client redirect, plain-http credentials, ROPC, a Graph sendMail the custom
// rule reads claims of, token replies only the SAX parser reads, tunnels.
std::vector<Flow> realistic_corpus(size_t sign_ins) {
  std::vector<Flow> v;
  int64_t id = 1;
  std::mt19937 rng(7);
  for (size_t s = 0; s < sign_ins; ++s) {
    const std::string tenant = s % 3 == 0 ? kTenantB : kTenantA;
    const std::string state = "st" + std::to_string(s), nonce = "no" + std::to_string(s);
    const std::string code = "0.AXcA-code-" + std::to_string(s);
    Params auth = {{"client_id", kAzureCli}, {"response_type", "code"}, {"redirect_uri", "http://localhost:8400"},
                   {"scope", "https://management.azure.com//.default openid"}, {"state", state}, {"nonce", nonce}};
    if (s % 5 != 0) {
      auth.push_back({"code_challenge", kChallenge});
      auth.push_back({"code_challenge_method", "S256"});
    }
    v.push_back(make_authorize(id++, auth, tenant, "http://localhost:8400/?code=" + code + "&state=" + state));
    Params redeem = {{"client_id", kAzureCli}, {"grant_type", "authorization_code"}, {"code", code},
                     {"redirect_uri", "http://localhost:8400"}};
    if (s % 5 != 0) redeem.push_back({"code_verifier", s % 7 == 1 ? "wrong-verifier-0123456789-0123456789-abc" : "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"});
    const std::string at = make_jwt(arm_claims(tenant, kAzureCli, kT0 + (s % 4 == 0 ? 10 : 7200)));
    const std::string idt = make_jwt(id_token_claims(tenant, kAzureCli, s % 6 == 2 ? "other" : nonce));
    nlohmann::json reply = token_response(at, idt, "https://management.azure.com/user_impersonation");
    Flow tok = make_token_request(id++, redeem, reply, tenant);
    if (s % 9 == 4) {
      // A reply with an escaped slash and a non-ASCII name: read by the SAX parser, not by hand.
      tok.response->body.data = "{\"token_type\":\"Bearer\",\"scope\":\"https:\\/\\/management.azure.com\\/user_impersonation\","
                                "\"access_token\":\"" + at + "\",\"id_token\":\"" + idt + "\",\"n\u00e4me\":1}";
    } else if (s % 9 == 5) {
      // A repeated member: the last value wins (a number: no string).
      tok.response->body.data = "{\"access_token\":\"" + at + "\",\"id_token\":\"" + idt + "\",\"id_token\":5, \"x\":1.5e3}";
    } else if (s % 9 == 6) {
      tok.response->body.data = "{\"access_token\":\"" + at + "\",\"id_token\":\"" + idt + "\",";  // truncated JSON
    }
    v.push_back(tok);
    for (int k = 0; k < 12; ++k) {
      const bool write = k % 4 == 3;
      const std::string path = "/subscriptions/" + kSub + "/resourceGroups/rg" + std::to_string(k) + "?api-version=2021-04-01";
      int status = write ? 201 : 200;
      std::string body = "{\"id\":\"" + path + "\",\"value\":[" + std::string(rng() % 300, ' ') + "]}";
      if (s % 4 == 1 && k == 5) {
        status = 403;
        body = laf_cross_tenant_body(tenant, "bbbb");
      } else if (s % 4 == 2 && k == 7) {
        status = 403;
        body = laf_missing_role_body();
      } else if (s % 8 == 3 && k == 3) {
        status = 409;
        body = R"({"error":{"code":"Conflict","message":"busy"}})";
      } else if (s % 5 == 3 && k == 9) {
        body = async_laf_body();
      }
      std::optional<std::string> aux;
      if (s % 10 == 7 && k == 2) aux = "Bearer " + make_jwt(arm_claims(kTenantB)) + ";Bearer x";
      v.push_back(make_arm_call(id++, write ? "PUT" : "GET", path, at, status, body, aux,
                                s % 2 ? "Terraform/1.9.5 terraform-provider-azurerm/3.116.0" : "AZURECLI/2.64.0"));
    }
  }
  // A form_post authorization response delivered to a web app (client side, POST body).
  Flow form_post = make_flow(id++, "POST", "app.contoso.example", "/signin-oidc");
  set_form_body(form_post, {{"code", "0.form-post-code"}, {"state", "fp-state"},
                            {"id_token", make_jwt(id_token_claims(kTenantA, kThirdPartyApp, "fp-nonce"))}});
  set_response(form_post, 302);
  v.push_back(form_post);
  // A form_post authorize request (response_mode=form_post as a POST body).
  Flow auth_post = make_flow(id++, "POST", kLogin, "/organizations/oauth2/v2.0/authorize");
  set_form_body(auth_post, {{"client_id", kThirdPartyApp}, {"response_type", "code id_token"}, {"response_mode", "form_post"},
                            {"redirect_uri", "https://app.contoso.example/signin-oidc"}, {"nonce", "fp-nonce"}});
  set_response(auth_post, 200, "<html>form</html>", "text/html");
  v.push_back(auth_post);
  // The native client redirect on the login host (POST body).
  Flow native = make_flow(id++, "POST", kLogin, "/common/oauth2/nativeclient");
  set_form_body(native, {{"code", "0.native"}, {"state", "native-state"}});
  set_response(native, 200, "ok", "text/plain");
  v.push_back(native);
  // ROPC, a client secret over plain http, a token in a URL.
  v.push_back(make_token_request(id++, {{"client_id", kThirdPartyApp}, {"grant_type", "password"}, {"username", "ada@contoso.example"},
                                        {"password", "P@ss"}},
                                 token_response(make_jwt(graph_app_claims(kTenantA, kThirdPartyApp, {"Mail.Send"}))), kTenantA));
  Flow clear = make_flow(id++, "POST", "api.contoso.example", "/token", "http");
  set_form_body(clear, {{"client_id", "x"}, {"client_secret", "plain-secret"}, {"grant_type", "client_credentials"}});
  set_response(clear, 200, token_response(make_jwt(arm_claims(kTenantA))).dump(), "application/json");
  v.push_back(clear);
  Flow clear_get = make_flow(id++, "GET", "api.contoso.example", "/data", "http");
  set_response(clear_get, 200, "{\"refresh_token\":\"0.leaked-in-body\"}", "application/json");
  v.push_back(clear_get);
  Flow url = make_flow(id++, "GET", "api.contoso.example", "/x?access_token=" + make_jwt(arm_claims(kTenantA)));
  set_response(url, 200, "{}", "application/json");
  v.push_back(url);
  // Graph sendMail with a Mail.Send token: the custom rule (enabled in custom_pack) reads claims.
  const std::string mail = make_jwt(graph_claims(kTenantA, kThirdPartyApp, "Mail.Send User.Read"));
  v.push_back(make_arm_call(id++, "POST", "/v1.0/me/sendMail", mail, 202, "", std::nullopt, "python-requests/2.31.0", kGraph));
  // A token GET with a form body (classify reads the grant of any token request).
  Flow token_get = make_flow(id++, "GET", kLogin, "/organizations/oauth2/v2.0/token");
  set_form_body(token_get, {{"grant_type", "client_credentials"}});
  set_response(token_get, 405, "{\"error\":\"invalid_request\"}", "application/json");
  v.push_back(token_get);
  Flow tunnel;
  tunnel.id = id++;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.scheme = "tunnel";
  tunnel.host = "example.org";
  tunnel.port = 443;
  tunnel.bytes_from_client = 1234;
  v.push_back(tunnel);
  return v;
}

// rules/ with the example custom rule enabled (its claims condition and {claim:upn}).
std::shared_ptr<const RulePack> custom_pack(const TempDir& dir) {
  namespace fs = std::filesystem;
  const fs::path src = fs::path(AUTHSCOPE_SOURCE_DIR) / "rules";
  fs::copy(src, dir.path() + "/rules", fs::copy_options::recursive);
  const std::string custom = dir.path() + "/rules/custom/example-graph-mail-send.json";
  std::ifstream in(custom);
  nlohmann::json j = nlohmann::json::parse(in);
  j["rules"][0]["enabled"] = true;
  std::ofstream(custom) << j.dump(2);
  auto pack = load_rule_pack(dir.path() + "/rules");
  REQUIRE(pack.ok());
  return pack.value();
}

std::unique_ptr<FlowStore> store_of(const std::string& path, const std::vector<Flow>& flows) {
  auto store = open_sqlite_store(path);
  REQUIRE(store.ok());
  for (const Flow& f : flows) store.value()->enqueue(f);
  REQUIRE(store.value()->flush().ok());
  return std::move(store).value();
}

std::string findings_json(FlowStore& store, std::shared_ptr<const RulePack> pack, cli::FlowReading reading) {
  auto r = cli::analyze_store(store, pack, 0, reading);
  REQUIRE(r.ok());
  return findings_document(r.value().flow_count, r.value().findings).dump(2);
}

// How many body payloads a pass delivers.
size_t bodies_delivered(FlowStore& store, const FlowReadOptions& options) {
  size_t n = 0;
  REQUIRE(store.for_each_reading(options, [&](const Flow& f) {
    n += f.request.body.data ? 1 : 0;
    n += f.response && f.response->body.data ? 1 : 0;
    return true;
  }).ok());
  return n;
}

std::optional<TokenResponseStrings> reference_token_response(const Body& body, const Headers& headers) {
  auto j = json_body(body, headers);
  if (!j || !j->is_object()) return std::nullopt;
  return TokenResponseStrings{json_string(*j, "access_token"), json_string(*j, "id_token"), json_string(*j, "scope")};
}

}  // namespace

TEST_CASE("a store analyzed without unread bodies gives the findings of whole flows", "[unit][scale][store]") {
  TempDir dir;
  const auto flows = realistic_corpus(60);
  auto store = store_of(dir.file("flows.db"), flows);
  for (auto pack : {repo_pack(), custom_pack(dir)}) {
    const std::string whole = findings_json(*store, pack, cli::FlowReading::kWholeFlows);
    const std::string partial = findings_json(*store, pack, cli::FlowReading::kWhatAnalysisReads);
    CHECK(partial == whole);
    // ... and both are the in-memory engine's findings over the flows as built.
    CHECK(whole == findings_document(flows.size(), analyze(flows, pack)).dump(2));
    // The corpus exercises the body-dependent rules (else the comparison proves little).
    const auto fs = analyze(flows, pack);
    for (const char* rule : {"pkce-missing", "aux-header-missing", "ropc-grant", "cleartext-credentials", "token-in-url"}) {
      INFO(rule);
      CHECK(!of_rule(fs, rule).empty());
    }
    if (pack != repo_pack()) CHECK(of_rule(fs, "example-graph-mail-send").size() == 1);
  }
  // The point of the mode: most bodies (ARM reads with a 2xx) are never copied out of SQLite.
  const size_t all = bodies_delivered(*store, FlowReadOptions{});
  const size_t needed = bodies_delivered(*store, cli::analysis_read_options(*repo_pack()));
  CHECK(all > 1000);
  CHECK(needed < all);
}

TEST_CASE("HAR captures analyze the same through either reading", "[unit][scale][store]") {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("flows.db"));
  REQUIRE(store.ok());
  for (const char* name : {"chrome-entra-signin.har", "firefox-ropc.har", "fiddler-tunnel.har"}) {
    auto n = import_har_file(std::string(AUTHSCOPE_SOURCE_DIR) + "/tests/fixtures/har/" + name, *store.value());
    REQUIRE(n.ok());
    CHECK(n.value() > 0);
  }
  REQUIRE(store.value()->flush().ok());
  const std::string whole = findings_json(*store.value(), repo_pack(), cli::FlowReading::kWholeFlows);
  CHECK(findings_json(*store.value(), repo_pack(), cli::FlowReading::kWhatAnalysisReads) == whole);
  CHECK(nlohmann::json::parse(whole)["findings"].size() > 0);
}

TEST_CASE("for_each_reading keeps sizes of bodies it does not read and skips TLS and tokens on request",
          "[unit][scale][store]") {
  TempDir dir;
  Flow f = authscope::testing::make_rich_flow();
  f.id = 1;
  FlowAnnotations a;
  a.flow_class = "token";
  TokenRecord t;
  t.location = "response.json.access_token";
  t.kind = "access_token";
  t.format = "opaque";
  a.tokens.push_back(t);
  f.annotations = a;
  auto store = store_of(dir.file("flows.db"), {f});
  auto whole = store->load(1);
  REQUIRE(whole.ok());
  REQUIRE(whole.value().has_value());
  const Flow& w = *whole.value();
  REQUIRE(w.request.body.data.has_value());
  REQUIRE(w.response.has_value());
  REQUIRE(w.tls.has_value());
  REQUIRE(w.annotations.has_value());
  REQUIRE(!w.annotations->tokens.empty());

  FlowReadOptions options;
  int chooser_calls = 0;
  options.choose_bodies = [&](const Flow& head) {
    ++chooser_calls;
    // The chooser sees the request line and headers, but no body data yet.
    CHECK(head.request.method == w.request.method);
    CHECK(head.request.headers.fields().size() == w.request.headers.fields().size());
    CHECK(!head.request.body.data);
    return BodyChoice{false, true};
  };
  options.tls = false;
  options.token_records = false;
  int seen = 0;
  REQUIRE(store->for_each_reading(options, [&](const Flow& p) {
    ++seen;
    CHECK(!p.request.body.data);
    CHECK(p.request.body.wire_size == w.request.body.wire_size);
    CHECK(p.request.body.truncated == w.request.body.truncated);
    REQUIRE(p.response.has_value());
    CHECK(p.response->body.data == w.response->body.data);
    CHECK(!p.tls);
    REQUIRE(p.annotations.has_value());
    CHECK(p.annotations->flow_class == "token");
    CHECK(p.annotations->tokens.empty());
    return true;
  }).ok());
  CHECK(seen == 1);
  CHECK(chooser_calls == 1);
  // Default options: the whole flow, as for_each delivers it.
  REQUIRE(store->for_each_reading(FlowReadOptions{}, [&](const Flow& p) {
    CHECK(p.request.body.data == w.request.body.data);
    CHECK(p.tls.has_value());
    CHECK(p.annotations->tokens.size() == w.annotations->tokens.size());
    return true;
  }).ok());
}

TEST_CASE("read_token_response reads exactly what json_body and json_string read", "[unit][scale][tokens]") {
  Headers json;
  json.add("Content-Type", "application/json");
  const std::string at = make_jwt(arm_claims(kTenantA));
  const std::string base = token_response(at, make_jwt(id_token_claims(kTenantA, kAzureCli, "n")), "a b").dump();
  std::vector<std::string> cases = {
      base,
      "{}",
      "[]",
      "[{\"access_token\":\"x\"}]",
      " \r\n {\"access_token\":\"a\"} \n",
      "{\"access_token\":\"a\",\"access_token\":\"b\"}",
      "{\"access_token\":\"a\",\"access_token\":null}",
      "{\"access_token\":\"a\",\"access_token\":{\"access_token\":\"c\"}}",
      "{\"access_token\":[\"a\"],\"scope\":\"s\"}",
      "{\"nested\":{\"access_token\":\"inner\"},\"id_token\":\"i\"}",
      "{\"access_token\":\"a\\u0062\"}",
      "{\"access_token\":\"caf\xc3\xa9\"}",
      "{\"access_token\":\"bad\xff\"}",
      "{\"access_token\":\"a\",}",
      "{\"access_token\":\"a\"} x",
      "{\"access_token\":\"a\"}{}",
      "{\"n\":01,\"access_token\":\"a\"}",
      "{\"n\":-0.5,\"access_token\":\"a\"}",
      "{\"n\":1e999,\"access_token\":\"a\"}",
      "{\"n\":1E2,\"access_token\":\"a\"}",
      "{\"n\":-,\"access_token\":\"a\"}",
      "{\"n\":1.,\"access_token\":\"a\"}",
      "{\"n\":tru,\"access_token\":\"a\"}",
      "{\"n\":true,\"m\":false,\"o\":null,\"access_token\":\"a\"}",
      "{\"access_token\":\"tab\there\"}",
      "{\"access_token\" : \"spaced\" , \"scope\" : \"\" }",
      std::string(70, '[') + std::string(70, ']'),
      "{\"a\":" + std::string(63, '[') + std::string(63, ']') + ",\"access_token\":\"deep\"}",
      "",
      "   ",
      "not json",
  };
  // Mutations of a realistic reply: replaced, deleted and inserted bytes, truncation.
  std::mt19937 rng(20261126);
  const std::string alphabet = std::string("{}[],:\"\\ 0123456789-+.eEtrufalsn\t\n\x01\x7f") + "\xc3\xa9\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s = base;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(pos, 1); break;
        case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        default: s.resize(pos); break;
      }
    }
    cases.push_back(std::move(s));
  }
  size_t objects = 0;
  for (const std::string& text : cases) {
    Body body;
    body.data = text;
    const auto expected = reference_token_response(body, json);
    const auto got = read_token_response(body, json);
    INFO(text);
    REQUIRE(got.has_value() == expected.has_value());
    if (expected) {
      ++objects;
      CHECK(got->access_token == expected->access_token);
      CHECK(got->id_token == expected->id_token);
      CHECK(got->scope == expected->scope);
    }
  }
  CHECK(objects > 1000);  // the mutations keep many replies valid, so values are compared too
  // Absent body, and a body JSON reading rejects for its encoding.
  CHECK(!read_token_response(Body{}, json));
  Headers gz = json;
  gz.add("Content-Encoding", "gzip");
  Body not_gzip;
  not_gzip.data = base;
  CHECK(read_token_response(not_gzip, gz).has_value() == reference_token_response(not_gzip, gz).has_value());
}

TEST_CASE("the report reads the same data through the partial reading", "[unit][scale][report]") {
  TempDir dir;
  const auto flows = realistic_corpus(40);
  auto store = store_of(dir.file("flows.db"), flows);
  cli::ReportBuildOptions options;
  options.max_token_rows = 25;  // collected from the first flows, then only analysis bodies
  auto data = cli::build_report_data(*store, repo_pack(), options);
  REQUIRE(data.ok());
  const ReportData& d = data.value();
  CHECK(d.flow_count == flows.size());
  CHECK(d.tokens.size() == 25);
  CHECK(findings_document(flows.size(), d.findings).dump() ==
        findings_document(flows.size(), analyze(flows, repo_pack())).dump());
  REQUIRE(d.flows.size() == flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    INFO(flows[i].id);
    // Sizes come from the stored rows even for bodies never read; token labels keep their grant.
    CHECK(d.flows[i].request_bytes == (flows[i].kind == FlowKind::kTunnel ? flows[i].bytes_from_client
                                                                          : flows[i].request.body.wire_size));
    if (flows[i].request.target.find("/oauth2/v2.0/token") != std::string::npos) {
      CHECK(d.flows[i].class_label.find("token: ") == 0);
    }
  }
}
