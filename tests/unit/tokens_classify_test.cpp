// Flow classification over a corpus of realistic requests, asserted flow by flow; plus the
// known-apps loader and the http_text helpers it stands on.
#include <catch2/catch.hpp>

#include "analyzers/classify.h"
#include "analyzers/http_text.h"
#include "analyzers/known_apps.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

struct Expect {
  std::string kind, grant, version, authority, authority_kind, cloud;
};

void check_class(const Flow& f, const Expect& e) {
  FlowClass c = classify(f, builtin_known_apps());
  INFO(f.request.method << " " << f.url());
  CHECK(c.kind == e.kind);
  CHECK(c.grant == e.grant);
  CHECK(c.endpoint_version == e.version);
  CHECK(c.authority == e.authority);
  CHECK(c.authority_kind == e.authority_kind);
  CHECK(c.cloud == e.cloud);
}

const std::string kLogin = "https://login.microsoftonline.com/";

}  // namespace

TEST_CASE("http_text helpers", "[unit][tokens]") {
  CHECK(url_decode("a%20b+c%2Bd%zz%4") == "a b c+d%zz%4");
  CHECK(url_decode("a+b", false) == "a+b");
  CHECK(url_encode("a b:c=d/é") == "a%20b%3Ac%3Dd%2F%C3%A9");
  auto pairs = parse_form("grant_type=authorization_code&code=0.AX%3D%3D&&scope=openid+profile&flag");
  REQUIRE(pairs.size() == 4);
  CHECK(pairs[1] == std::pair<std::string, std::string>{"code", "0.AX=="});
  CHECK(*form_value(pairs, "scope") == "openid profile");
  CHECK(*form_value(pairs, "flag") == "");
  CHECK_FALSE(form_value(pairs, "Scope"));
  std::string many;
  for (int i = 0; i < 5000; ++i) many += "a=1&";
  CHECK(parse_form(many).size() == kMaxFormPairs);

  UrlParts u = split_url("https://User@Login.MicrosoftOnline.com:8443/common/oauth2/v2.0/authorize?a=1&b=2#frag=x?y");
  CHECK(u.scheme == "https");
  CHECK(u.host == "login.microsoftonline.com");
  CHECK(u.port == 8443);
  CHECK(u.path == "/common/oauth2/v2.0/authorize");
  CHECK(u.query == "a=1&b=2");
  CHECK(u.fragment == "frag=x?y");
  UrlParts o = split_url("/p/a%2Fb?x");
  CHECK(o.host.empty());
  CHECK(path_segments(o.path) == std::vector<std::string>{"p", "a/b"});
  CHECK(split_url("[::1]:8080").host == "::1");
  CHECK(split_url("[::1]:8080").port == 8080);
  CHECK(split_url("example.com:443").port == 443);

  Headers h;
  h.add("content-type", "Application/JSON; charset=utf-8");
  CHECK(content_type_is(h, "application/json"));
  CHECK_FALSE(content_type_is(h, "application/x-www-form-urlencoded"));
  Headers p;
  p.add("Content-Type", "application/problem+json");
  CHECK(content_type_is(p, "application/json"));

  CHECK(json_depth_exceeds("[[[[\"[[[[[[\"]]]]", 4) == false);
  CHECK(json_depth_exceeds("[[[[[1]]]]]", 4));
  // Escapes inside strings: an escaped quote does not end one, an escaped backslash before the
  // closing quote does not hide it.
  CHECK_FALSE(json_depth_exceeds(R"([[[["a\"[[[[[[",1]]]])", 4));
  CHECK(json_depth_exceeds(R"([[[["a\\",[1]]]]])", 4));
  CHECK_FALSE(json_depth_exceeds(R"([[[["a\\",1]]]])", 4));
  CHECK(json_depth_exceeds(R"([[[[["unterminated \")", 4));        // exceeded before the string
  CHECK_FALSE(json_depth_exceeds(R"([["unterminated \"[[[[[[)", 4));  // its brackets are string bytes
  CHECK_FALSE(parse_json("{\"a\":"));
  CHECK(parse_json("{\"a\":[1,2]}")->at("a").size() == 2);
}

TEST_CASE("gzip and deflate bodies are decoded, unknown encodings refused", "[unit][tokens]") {
  // "hello" gzip-compressed (RFC 1952) and zlib-compressed (RFC 1950), produced offline.
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd,
                              0xc9, 0xc9, 0x07, 0x00, 0x86, 0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00};
  const unsigned char zl[] = {0x78, 0x9c, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x06, 0x2c, 0x02, 0x15};
  std::string gzs(reinterpret_cast<const char*>(gz), sizeof gz);
  std::string zls(reinterpret_cast<const char*>(zl), sizeof zl);
  CHECK(*decode_content(gzs, "gzip", 1024) == "hello");
  CHECK(*decode_content(zls, "deflate", 1024) == "hello");
  CHECK(*decode_content("plain", "", 1024) == "plain");
  CHECK_FALSE(decode_content("xx", "br", 1024).ok());
  CHECK_FALSE(decode_content("not gzip at all", "gzip", 1024).ok());
  CHECK(decode_content(gzs, "gzip", 3).status().code() == Status::Code::kLimit);
}

TEST_CASE("known-apps loads from the rules directory and rejects bad documents", "[unit][tokens]") {
  auto file = load_known_apps_file(std::string(AUTHSCOPE_SOURCE_DIR) + "/rules/known-apps.json");
  REQUIRE(file.ok());
  CHECK(file->clients.size() == builtin_known_apps().clients.size());
  CHECK(*file->client_name("04B07795-8DDB-461A-BBEE-02F9E1BF7B46") == "Microsoft Azure CLI");
  const KnownApps& apps = builtin_known_apps();
  CHECK(apps.resource_for_audience("https://management.azure.com")->app_id == kArmAppId);
  CHECK(apps.resource_for_audience("797F4846-BA00-4FD7-BA43-DAC1F8F63013")->app_id == kArmAppId);
  CHECK(apps.resource_for_audience("https://myvault.vault.azure.net")->name == "Azure Key Vault");
  CHECK(apps.resource_for_audience("https://unknown.example") == nullptr);
  CHECK(apps.host_role("login.microsoftonline.us") == "login");
  CHECK(apps.host_cloud("login.microsoftonline.us") == "usgov");
  CHECK(apps.host_cloud("westus2.login.microsoft.com") == "public");
  CHECK(apps.host_role("contoso.b2clogin.com") == "login-b2c");
  CHECK(apps.host_role("b2clogin.com") == "");  // a suffix needs a label in front
  CHECK(apps.audience_matches_host("https://management.core.windows.net/", "management.azure.com"));
  CHECK(apps.audience_matches_host(kArmAppId, "management.azure.com"));
  CHECK(apps.audience_matches_host("https://graph.microsoft.com", "graph.microsoft.com"));
  CHECK_FALSE(apps.audience_matches_host("https://graph.microsoft.com", "management.azure.com"));
  CHECK_FALSE(apps.audience_matches_host("https://management.azure.com/", "graph.microsoft.com"));

  struct Bad {
    nlohmann::json doc;
    std::string message;
  };
  std::vector<Bad> bad = {
      {nlohmann::json::array(), "/: expected an object"},
      {{{"kind", "rules"}}, "/kind: expected \"known-apps\""},
      {{{"clients", {{"x", 1}}}}, "/clients/x: expected a string"},
      {{{"hosts", {{{"role", "login"}}}}}, "/hosts/0: expected exactly one of \"host\" or \"suffix\""},
      {{{"hosts", {{{"host", "a"}, {"role", "login"}, {"colour", "red"}}}}}, "/hosts/0/colour: unknown key"},
      {{{"resources", {{{"name", "x"}}}}}, "/resources/0/app_id: missing"},
      {{{"resources", {{{"app_id", "x"}, {"audiences", "y"}}}}}, "/resources/0/audiences: expected an array of strings"},
      {{{"surprise", 1}}, "/surprise: unknown key"},
  };
  for (const auto& b : bad) {
    auto r = load_known_apps(b.doc);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == b.message);
  }
}

TEST_CASE("classification corpus: Entra login endpoints, grants and authorities", "[unit][tokens]") {
  const std::string form = "application/x-www-form-urlencoded";
  check_class(make_flow("GET", kLogin + "common/oauth2/v2.0/authorize?client_id=x&response_type=code"),
              {"authorize", "", "v2", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + "contoso.onmicrosoft.com/oauth2/authorize?resource=x"),
              {"authorize", "", "v1", "contoso.onmicrosoft.com", "domain", "public"});
  check_class(make_form_post(kLogin + "organizations/oauth2/v2.0/token", "grant_type=authorization_code&code=c"),
              {"token", "authorization_code", "v2", "organizations", "organizations", "public"});
  check_class(make_form_post(kLogin + kTenant + "/oauth2/token", "grant_type=refresh_token&refresh_token=r"),
              {"token", "refresh_token", "v1", kTenant, "tenant-id", "public"});
  check_class(make_form_post(kLogin + kTenant + "/oauth2/v2.0/token",
                             "client_id=a&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type=client_credentials"),
              {"token", "client_credentials", "v2", kTenant, "tenant-id", "public"});
  check_class(make_form_post(kLogin + "consumers/oauth2/v2.0/token", "grant_type=password&username=u&password=p"),
              {"token", "password", "v2", "consumers", "consumers", "public"});
  check_class(make_form_post(kLogin + "common/oauth2/v2.0/token",
                             "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d"),
              {"token", "device_code", "v2", "common", "common", "public"});
  check_class(make_form_post(kLogin + "common/oauth2/v2.0/token",
                             "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x"),
              {"token", "token-exchange", "v2", "common", "common", "public"});
  check_class(make_form_post(kLogin + "common/oauth2/token",
                             "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml1_1-bearer&assertion=PHNhbWw%2B"),
              {"token", "saml-bearer", "v1", "common", "common", "public"});
  check_class(make_form_post(kLogin + "common/oauth2/v2.0/token",
                             "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer&assertion=x"),
              {"token", "saml-bearer", "v2", "common", "common", "public"});
  Flow obo = make_form_post(kLogin + kTenant + "/oauth2/v2.0/token",
                            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a"
                            "&requested_token_use=on_behalf_of&scope=x");
  check_class(obo, {"token", "jwt-bearer", "v2", kTenant, "tenant-id", "public"});
  CHECK(classify(obo, builtin_known_apps()).on_behalf_of);
  check_class(make_form_post(kLogin + "common/oauth2/v2.0/devicecode", "client_id=x&scope=openid"),
              {"device-code", "", "v2", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + "common/oauth2/devicecode?api-version=1.0"),
              {"device-code", "", "v1", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + kTenant + "/v2.0/.well-known/openid-configuration"),
              {"openid-configuration", "", "v2", kTenant, "tenant-id", "public"});
  check_class(make_flow("GET", kLogin + "common/.well-known/openid-configuration"),
              {"openid-configuration", "", "v1", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + "common/discovery/v2.0/keys"), {"jwks", "", "v2", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + kTenant + "/discovery/keys?appid=abc"),
              {"jwks", "", "v1", kTenant, "tenant-id", "public"});
  check_class(make_flow("GET", kLogin + "common/discovery/instance?api-version=1.1&authorization_endpoint=x"),
              {"instance-discovery", "", "", "common", "common", "public"});
  check_class(make_flow("GET", kLogin + "common/oauth2/v2.0/logout?post_logout_redirect_uri=x"),
              {"logout", "", "v2", "common", "common", "public"});
  // Sovereign clouds and aliases.
  check_class(make_form_post("https://login.microsoftonline.us/" + std::string(kTenant) + "/oauth2/v2.0/token",
                             "grant_type=client_credentials"),
              {"token", "client_credentials", "v2", kTenant, "tenant-id", "usgov"});
  check_class(make_flow("GET", "https://login.chinacloudapi.cn/common/oauth2/v2.0/authorize?x=1"),
              {"authorize", "", "v2", "common", "common", "china"});
  check_class(make_flow("GET", "https://login.partner.microsoftonline.cn/common/oauth2/authorize?x=1"),
              {"authorize", "", "v1", "common", "common", "china"});
  check_class(make_form_post("https://login.windows.net/common/oauth2/token", "grant_type=refresh_token"),
              {"token", "refresh_token", "v1", "common", "common", "public"});
  check_class(make_flow("GET", "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/oauth2/v2.0/authorize?x"),
              {"authorize", "", "v2", "contoso.onmicrosoft.com", "domain", "public"});
  // Other traffic on a login host, and unknown hosts.
  check_class(make_flow("GET", kLogin + "common/userrealm/ada@contoso.example?api-version=2.0"),
              {"other", "", "", "", "", "public"});
  check_class(make_flow("GET", "https://example.test/index.html"), {"other", "", "", "", "", ""});
  // A generic OAuth endpoint on an unknown host is still a token request (AD FS style).
  check_class(make_form_post("https://adfs.contoso.test/adfs/oauth2/token", "grant_type=password"),
              {"token", "password", "v1", "adfs", "other", ""});
  Flow tunnel;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.host = "login.microsoftonline.com";
  check_class(tunnel, {"tunnel", "", "", "", "", "public"});
}

TEST_CASE("classification corpus: ARM reads and writes, Graph", "[unit][tokens]") {
  const KnownApps& apps = builtin_known_apps();
  const std::string sub = "/subscriptions/6A1B2C3D-0000-4000-8000-00000000AAAA";
  const std::string arm = "https://management.azure.com";

  FlowClass list = classify(make_flow("GET", arm + "/subscriptions?api-version=2022-12-01"), apps);
  CHECK(list.kind == "arm");
  CHECK_FALSE(list.arm_write);
  CHECK(list.api_version == "2022-12-01");
  CHECK(list.cloud == "public");

  FlowClass vm = classify(make_flow("PUT", arm + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1?api-version=2024-03-01"), apps);
  CHECK(vm.kind == "arm");
  CHECK(vm.arm_write);
  CHECK(vm.subscription == "6a1b2c3d-0000-4000-8000-00000000aaaa");
  CHECK(vm.resource_group == "rg1");
  CHECK(vm.resource_provider == "Microsoft.Compute");
  CHECK(vm.resource_type == "virtualMachines");

  FlowClass subnet = classify(make_flow("GET", arm + sub + "/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s?api-version=1"), apps);
  CHECK_FALSE(subnet.arm_write);
  CHECK(subnet.resource_type == "virtualNetworks/subnets");

  FlowClass del = classify(make_flow("DELETE", arm + sub + "/resourceGroups/rg1?api-version=1"), apps);
  CHECK(del.arm_write);
  CHECK(del.resource_group == "rg1");
  CHECK(del.resource_provider.empty());

  FlowClass start = classify(make_flow("POST", arm + sub + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/start?api-version=1"), apps);
  CHECK(start.arm_write);
  CHECK(start.resource_type == "virtualMachines");

  FlowClass keys = classify(make_flow("POST", arm + sub + "/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sa/listKeys?api-version=1"), apps);
  CHECK_FALSE(keys.arm_write);

  FlowClass role = classify(make_flow("PUT", arm + sub + "/providers/Microsoft.Authorization/roleAssignments/1111?api-version=2022-04-01"), apps);
  CHECK(role.arm_write);
  CHECK(role.resource_provider == "Microsoft.Authorization");
  CHECK(role.resource_type == "roleAssignments");

  FlowClass arg = classify(make_flow("POST", arm + "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"), apps);
  CHECK_FALSE(arg.arm_write);

  FlowClass gov = classify(make_flow("PATCH", "https://management.usgovcloudapi.net" + sub + "/resourceGroups/x?api-version=1"), apps);
  CHECK(gov.kind == "arm");
  CHECK(gov.cloud == "usgov");
  CHECK(gov.arm_write);

  FlowClass graph = classify(make_flow("GET", "https://graph.microsoft.com/v1.0/me"), apps);
  CHECK(graph.kind == "graph");
  CHECK(graph.cloud == "public");
  CHECK(classify(make_flow("GET", "https://microsoftgraph.chinacloudapi.cn/v1.0/users"), apps).cloud == "china");
  CHECK(classify(make_flow("GET", "https://graph.windows.net/contoso/users?api-version=1.6"), apps).host_role == "aad-graph");
}
