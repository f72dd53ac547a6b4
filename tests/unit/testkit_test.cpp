// The testkit itself: its CA verifies with OpenSSL, its tokens verify with its JWKS, and the fake
// Entra/ARM/Graph server answers every endpoint over real TLS on loopback.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "tests/support/entra_constants.h"
#include "tests/support/fake_entra_server.h"
#include "tests/support/http_client.h"
#include "tests/support/process_helpers.h"
#include "tests/support/test_pki.h"
#include "tests/support/token_signer.h"

using namespace authscope;
using namespace authscope::testkit;
using nlohmann::json;

namespace {

X509* load_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// Verifies leaf against ca with OpenSSL's own chain builder; "ok" or the error string.
std::string verify_with_openssl(const std::string& ca_pem, const std::string& leaf_pem, const std::string& name) {
  X509* ca = load_cert(ca_pem);
  X509* leaf = load_cert(leaf_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (name.find(':') != std::string::npos || (name[0] >= '0' && name[0] <= '9')) X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  else X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  int ok = X509_verify_cert(ctx);
  std::string result = ok == 1 ? "ok" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
  return result;
}

// One fake server over TLS with its PKI in a temp dir.
struct World {
  TempHome home{"testkit"};
  PkiPaths pki;
  std::unique_ptr<FakeEntraServer> server;

  explicit World(FakeEntraOptions options = {}) {
    auto generated = TestPki::generate();
    REQUIRE(generated.ok());
    auto written = generated->write(home.file("pki"));
    REQUIRE(written.ok());
    pki = written.value();
    options.cert_file = pki.server_cert;
    options.key_file = pki.server_key;
    auto started = FakeEntraServer::start(options);
    REQUIRE(started.ok());
    server = std::move(started.value());
  }

  ClientTarget target(const std::string& host = std::string(kLoginHost)) const {
    ClientTarget t;
    t.host = host;
    t.port = 443;
    t.connect_port = server->port();
    t.ca_file = pki.ca_cert;
    return t;
  }

  ClientResponse get(const std::string& host, const std::string& path, std::vector<HeaderField> headers = {}) const {
    ClientRequest req;
    req.target = path;
    req.headers = std::move(headers);
    auto resp = http_exchange(target(host), req);
    INFO(resp.status().ToString());
    REQUIRE(resp.ok());
    return resp.value();
  }

  ClientResponse send(const std::string& host, const std::string& method, const std::string& path, std::string body,
                      std::vector<HeaderField> headers = {}) const {
    ClientRequest req;
    req.method = method;
    req.target = path;
    req.body = std::move(body);
    req.headers = std::move(headers);
    auto resp = http_exchange(target(host), req);
    INFO(resp.status().ToString());
    REQUIRE(resp.ok());
    return resp.value();
  }

  ClientResponse post_form(const std::string& path, const std::vector<std::pair<std::string, std::string>>& form) const {
    return send(std::string(kLoginHost), "POST", path, build_form(form),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
};

json body_json(const ClientResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  INFO(r.body);
  REQUIRE(!j.is_discarded());
  return j;
}

// Follows one authorize request and returns the redirect's parameters (query or fragment).
std::string location_param(const ClientResponse& r, const std::string& key) {
  const std::string* loc = r.headers.find("Location");
  REQUIRE(loc != nullptr);
  size_t q = loc->find_first_of("?#");
  REQUIRE(q != std::string::npos);
  return form_value(loc->substr(q + 1), key);
}

std::string arm_token(const FakeEntraServer& server, const std::string& tenant) {
  TokenSpec spec;
  spec.tenant_id = tenant;
  spec.audience = std::string(kArmResource);
  spec.scopes = {"user_impersonation"};
  return server.signer().mint_jwt(v1_access_token_claims(spec));
}

std::string vnet_body(const std::string& subnet_sub) {
  return json{{"location", "westeurope"},
              {"properties",
               {{"ipConfigurations",
                 {{{"name", "ipconfig1"},
                   {"properties",
                    {{"subnet",
                      {{"id", "/subscriptions/" + subnet_sub +
                                  "/resourceGroups/hub-rg/providers/Microsoft.Network/virtualNetworks/hub-vnet/subnets/default"}}}}}}}}}}}
      .dump();
}

}  // namespace

TEST_CASE("TestPki: server certificate chains to the CA and names every host", "[unit][testkit]") {
  auto pki = TestPki::generate();
  REQUIRE(pki.ok());
  for (const char* name : {"login.microsoftonline.com", "management.azure.com", "graph.microsoft.com", "localhost", "127.0.0.1"}) {
    INFO(name);
    CHECK(verify_with_openssl(pki->ca_cert_pem(), pki->server().cert_pem, name) == "ok");
  }
  // Same CA, wrong name: the chain is fine, the host name is not.
  CHECK(verify_with_openssl(pki->ca_cert_pem(), pki->wrong().cert_pem, "unrelated.example.test") == "ok");
  CHECK(verify_with_openssl(pki->ca_cert_pem(), pki->wrong().cert_pem, "login.microsoftonline.com") ==
        std::string("hostname mismatch"));
  CHECK(verify_with_openssl(pki->ca_cert_pem(), pki->server().cert_pem, "evil.example.com") == std::string("hostname mismatch"));
  // Another CA does not vouch for it.
  auto other = TestPki::generate();
  REQUIRE(other.ok());
  CHECK(verify_with_openssl(other->ca_cert_pem(), pki->server().cert_pem, "localhost") != "ok");

  // The leaf carries EKU serverAuth, SKI/AKI and is not a CA.
  X509* leaf = load_cert(pki->server().cert_pem);
  REQUIRE(leaf != nullptr);
  CHECK((X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER) != 0);
  CHECK(X509_get0_subject_key_id(leaf) != nullptr);
  CHECK(X509_get0_authority_key_id(leaf) != nullptr);
  CHECK(X509_check_ca(leaf) == 0);
  X509_free(leaf);
}

TEST_CASE("TestPki: write, load and load_or_create round-trip with private keys at 0600", "[unit][testkit]") {
  TempHome home("testkit-pki");
  auto pki = TestPki::generate();
  REQUIRE(pki.ok());
  auto paths = pki->write(home.file("pki"));
  REQUIRE(paths.ok());
  struct stat st {};
  REQUIRE(::stat(paths->server_key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(paths->ca_key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = TestPki::load(home.file("pki"));
  REQUIRE(loaded.ok());
  CHECK(loaded->ca_cert_pem() == pki->ca_cert_pem());
  CHECK(loaded->server().key_pem == pki->server().key_pem);
  auto again = TestPki::load_or_create(home.file("pki"));
  REQUIRE(again.ok());
  CHECK(again->server().cert_pem == pki->server().cert_pem);  // existing files are reused
  auto fresh = TestPki::load_or_create(home.file("fresh"));
  REQUIRE(fresh.ok());
  CHECK(read_text_file(pki_paths(home.file("fresh")).ca_cert) == fresh->ca_cert_pem());
  auto issued = pki->issue({"one.example.test"});
  REQUIRE(issued.ok());
  CHECK(verify_with_openssl(pki->ca_cert_pem(), issued->cert_pem, "one.example.test") == "ok");
  CHECK(!TestPki::load(home.file("missing")).ok());
}

TEST_CASE("TokenSigner: minted RS256 tokens verify with the JWKS and tampering is caught", "[unit][testkit]") {
  auto signer = TokenSigner::generate("kid-1");
  REQUIRE(signer.ok());
  TokenSpec spec;
  spec.scopes = {"user_impersonation"};
  std::string token = signer->mint_jwt(v1_access_token_claims(spec), {{"x5t", "kid-1"}});
  auto claims = verify_rs256(token, signer->jwks());
  INFO(claims.status().ToString());
  REQUIRE(claims.ok());
  CHECK((*claims)["aud"] == std::string(kArmResource));
  CHECK((*claims)["tid"] == std::string(kHomeTenantId));
  CHECK((*claims)["iss"] == "https://sts.windows.net/" + std::string(kHomeTenantId) + "/");
  CHECK((*claims)["scp"] == "user_impersonation");
  CHECK((*claims)["ver"] == "1.0");
  CHECK((*claims)["exp"].get<int64_t>() - (*claims)["iat"].get<int64_t>() == 3600);
  auto header = jwt_header_unverified(token);
  REQUIRE(header.ok());
  CHECK((*header)["alg"] == "RS256");
  CHECK((*header)["kid"] == "kid-1");
  CHECK((*header)["x5t"] == "kid-1");

  // Flip one claim: same signature, different payload.
  size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  json changed = *claims;
  changed["tid"] = std::string(kLinkedTenantId);
  std::string forged = token.substr(0, dot1 + 1) + b64url(changed.dump()) + token.substr(dot2);
  CHECK(!verify_rs256(forged, signer->jwks()).ok());
  // Another key with the same kid does not verify it either.
  auto other = TokenSigner::generate("kid-1");
  REQUIRE(other.ok());
  CHECK(!verify_rs256(token, other->jwks()).ok());
  // The PEM round-trips to a signer whose tokens the original JWKS accepts.
  auto reloaded = TokenSigner::from_private_key_pem(signer->private_key_pem(), "kid-1");
  REQUIRE(reloaded.ok());
  CHECK(verify_rs256(reloaded->mint_jwt({{"a", 1}}), signer->jwks()).ok());
  CHECK(signer->jwks()["keys"][0]["e"] == "AQAB");
}

TEST_CASE("Token claims: v2 access, app-only and ID token shapes", "[unit][testkit]") {
  TokenSpec spec;
  spec.audience = "api://5e3ce6c0";
  spec.scopes = {"access_as_user", "Files.Read"};
  json v2 = v2_access_token_claims(spec);
  CHECK(v2["ver"] == "2.0");
  CHECK(v2["azp"] == std::string(kAzureCliClientId));
  CHECK(v2["scp"] == "access_as_user Files.Read");
  CHECK(!v2.contains("appid"));
  CHECK(v2["iss"] == "https://login.microsoftonline.com/" + std::string(kHomeTenantId) + "/v2.0");

  TokenSpec app;
  app.app_only = true;
  app.client_id = std::string(kTestAppClientId);
  app.roles = {"Directory.ReadWrite.All"};
  app.scopes = {"ignored"};
  json a = v1_access_token_claims(app);
  CHECK(a["idtyp"] == "app");
  CHECK(!a.contains("scp"));
  CHECK(!a.contains("upn"));
  CHECK(a["roles"] == json::array({"Directory.ReadWrite.All"}));
  CHECK(a["appidacr"] == "1");

  TokenSpec id;
  id.nonce = "n-123";
  id.client_id = std::string(kTestAppClientId);
  json idt = id_token_claims(id);
  CHECK(idt["aud"] == std::string(kTestAppClientId));
  CHECK(idt["nonce"] == "n-123");
  CHECK(!id_token_claims(TokenSpec{}).contains("nonce"));
  // RFC 7636 Appendix B test vector.
  CHECK(pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK(random_b64url(32).size() == 43);
  CHECK(random_guid().size() == 36);
}

TEST_CASE("FakeEntraServer: discovery endpoints over TLS", "[unit][testkit]") {
  World w;
  auto cfg = w.get(std::string(kLoginHost), "/organizations/v2.0/.well-known/openid-configuration");
  CHECK(cfg.status == 200);
  json c = body_json(cfg);
  CHECK(c["authorization_endpoint"] == "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize");
  CHECK(c["token_endpoint"] == "https://login.microsoftonline.com/organizations/oauth2/v2.0/token");
  CHECK(c["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0");
  auto v1 = body_json(w.get(std::string(kLoginHost), "/" + std::string(kLinkedTenantId) + "/.well-known/openid-configuration"));
  CHECK(v1["issuer"] == "https://sts.windows.net/" + std::string(kLinkedTenantId) + "/");
  CHECK(v1["token_endpoint"] == "https://login.microsoftonline.com/" + std::string(kLinkedTenantId) + "/oauth2/token");

  json keys = body_json(w.get(std::string(kLoginHost), "/common/discovery/v2.0/keys"));
  CHECK(keys == w.server->signer().jwks());
  CHECK(body_json(w.get(std::string(kLoginHost), "/common/discovery/keys")) == keys);
  json instance = body_json(w.get(std::string(kLoginHost), "/common/discovery/instance?api-version=1.1&authorization_endpoint=x"));
  CHECK(instance["tenant_discovery_endpoint"] == "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration");
  CHECK(instance["metadata"][0]["aliases"].size() == 4);

  auto recorded = w.server->requests();
  REQUIRE(recorded.size() == 5);
  CHECK(recorded[0].host == "login.microsoftonline.com");
  CHECK(recorded[0].method == "GET");
  CHECK(recorded[0].path == "/organizations/v2.0/.well-known/openid-configuration");
  CHECK(recorded[4].query == "api-version=1.1&authorization_endpoint=x");
  CHECK(recorded[4].status == 200);
}

TEST_CASE("FakeEntraServer: auth code + PKCE S256 sign-in, nonce in the ID token, refresh", "[unit][testkit]") {
  World w;
  std::string verifier = random_b64url(32);
  std::string auth = "/common/oauth2/v2.0/authorize?" +
                     build_form({{"client_id", std::string(kAzureCliClientId)},
                                 {"response_type", "code"},
                                 {"redirect_uri", "http://localhost:8400"},
                                 {"scope", "https://management.azure.com//.default openid profile offline_access"},
                                 {"state", "st-1"},
                                 {"nonce", "nonce-1"},
                                 {"code_challenge", pkce_s256(verifier)},
                                 {"code_challenge_method", "S256"}});
  auto redirect = w.get(std::string(kLoginHost), auth);
  REQUIRE(redirect.status == 302);
  CHECK(redirect.headers.find("Location")->rfind("http://localhost:8400?code=", 0) == 0);
  CHECK(location_param(redirect, "state") == "st-1");
  std::string code = location_param(redirect, "code");
  REQUIRE(!code.empty());
  auto codes = w.server->issued_codes();
  REQUIRE(codes.size() == 1);
  CHECK(codes[0].code_challenge_method == "S256");
  CHECK(codes[0].nonce == "nonce-1");
  CHECK(codes[0].tenant_id == std::string(kHomeTenantId));

  auto tok = w.post_form("/common/oauth2/v2.0/token",
                         {{"client_id", std::string(kAzureCliClientId)},
                          {"grant_type", "authorization_code"},
                          {"code", code},
                          {"redirect_uri", "http://localhost:8400"},
                          {"code_verifier", verifier},
                          {"scope", "https://management.azure.com//.default openid profile offline_access"},
                          {"client_info", "1"}});
  REQUIRE(tok.status == 200);
  json t = body_json(tok);
  CHECK(t["token_type"] == "Bearer");
  CHECK(t["scope"] == "https://management.azure.com/user_impersonation openid profile");
  CHECK(t["expires_in"].get<int>() > 3000);
  CHECK(t.contains("client_info"));
  REQUIRE(t.contains("refresh_token"));
  json jwks = body_json(w.get(std::string(kLoginHost), "/common/discovery/v2.0/keys"));
  auto access = verify_rs256(t["access_token"].get<std::string>(), jwks);
  REQUIRE(access.ok());
  CHECK((*access)["aud"] == "https://management.azure.com/");
  CHECK((*access)["tid"] == std::string(kHomeTenantId));
  CHECK((*access)["appid"] == std::string(kAzureCliClientId));
  CHECK((*access)["scp"] == "user_impersonation");
  auto id = verify_rs256(t["id_token"].get<std::string>(), jwks);
  REQUIRE(id.ok());
  CHECK((*id)["nonce"] == "nonce-1");
  CHECK((*id)["aud"] == std::string(kAzureCliClientId));

  // The code is single use (Entra AADSTS54005).
  auto again = w.post_form("/common/oauth2/v2.0/token", {{"client_id", std::string(kAzureCliClientId)},
                                                         {"grant_type", "authorization_code"},
                                                         {"code", code},
                                                         {"code_verifier", verifier}});
  CHECK(again.status == 400);
  CHECK(body_json(again)["error_codes"][0] == 54005);

  // Refresh for another tenant and resource (refresh tokens are not tied to either).
  auto refreshed = w.post_form("/" + std::string(kLinkedTenantId) + "/oauth2/v2.0/token",
                               {{"client_id", std::string(kAzureCliClientId)},
                                {"grant_type", "refresh_token"},
                                {"refresh_token", t["refresh_token"].get<std::string>()},
                                {"scope", "https://graph.microsoft.com/User.Read offline_access"}});
  REQUIRE(refreshed.status == 200);
  auto graph = jwt_claims_unverified(body_json(refreshed)["access_token"].get<std::string>());
  REQUIRE(graph.ok());
  CHECK((*graph)["aud"] == "https://graph.microsoft.com");
  CHECK((*graph)["tid"] == std::string(kLinkedTenantId));
  // Graph access tokens carry a header nonce, as real ones do; ARM tokens do not.
  CHECK(jwt_header_unverified(body_json(refreshed)["access_token"].get<std::string>())->contains("nonce"));
  CHECK(!jwt_header_unverified(t["access_token"].get<std::string>())->contains("nonce"));
  CHECK(w.post_form("/common/oauth2/v2.0/token", {{"grant_type", "refresh_token"}, {"refresh_token", "nope"}}).status == 400);
}

TEST_CASE("FakeEntraServer: PKCE mismatch, missing verifier and downgrade give invalid_grant", "[unit][testkit]") {
  World w;
  auto start = [&](const std::string& challenge, const std::string& method) {
    std::vector<std::pair<std::string, std::string>> q = {{"client_id", "app"}, {"response_type", "code"},
                                                          {"redirect_uri", "http://localhost"}, {"scope", "openid"},
                                                          {"state", "s"}};
    if (!challenge.empty()) q.push_back({"code_challenge", challenge});
    if (!method.empty()) q.push_back({"code_challenge_method", method});
    return location_param(w.get(std::string(kLoginHost), "/common/oauth2/v2.0/authorize?" + build_form(q)), "code");
  };
  auto redeem = [&](const std::string& code, const std::string& verifier) {
    std::vector<std::pair<std::string, std::string>> f = {{"client_id", "app"}, {"grant_type", "authorization_code"},
                                                          {"code", code}};
    if (!verifier.empty()) f.push_back({"code_verifier", verifier});
    return w.post_form("/common/oauth2/v2.0/token", f);
  };
  std::string verifier = random_b64url(32);

  auto mismatch = redeem(start(pkce_s256(verifier), "S256"), random_b64url(32));
  CHECK(mismatch.status == 400);
  json m = body_json(mismatch);
  CHECK(m["error"] == "invalid_grant");
  CHECK(m["error_description"].get<std::string>().rfind("AADSTS501481:", 0) == 0);

  CHECK(body_json(redeem(start(pkce_s256(verifier), "S256"), ""))["error"] == "invalid_grant");
  CHECK(redeem(start(pkce_s256(verifier), "S256"), verifier).status == 200);
  // plain, and no method at all (RFC 7636 §4.3: defaults to plain).
  CHECK(redeem(start(verifier, "plain"), verifier).status == 200);
  CHECK(redeem(start(verifier, ""), verifier).status == 200);
  CHECK(redeem(start(verifier, "plain"), pkce_s256(verifier)).status == 400);
  // No PKCE at all is accepted (that is what the pkce-missing rule is for) …
  CHECK(redeem(start("", ""), "").status == 200);
  // … but a verifier without a challenge is a downgrade and refused.
  CHECK(redeem(start("", ""), verifier).status == 400);
}

TEST_CASE("FakeEntraServer: implicit, form_post, v1 and other grant types", "[unit][testkit]") {
  World w;
  auto implicit = w.get(std::string(kLoginHost),
                        "/common/oauth2/v2.0/authorize?" +
                            build_form({{"client_id", "spa"}, {"response_type", "id_token token"},
                                        {"redirect_uri", "https://app.example/cb"},
                                        {"scope", "openid https://graph.microsoft.com/User.Read"},
                                        {"nonce", "nn"}, {"state", "ss"}}));
  REQUIRE(implicit.status == 302);
  const std::string* loc = implicit.headers.find("Location");
  REQUIRE(loc != nullptr);
  CHECK(loc->rfind("https://app.example/cb#", 0) == 0);
  auto id = jwt_claims_unverified(location_param(implicit, "id_token"));
  REQUIRE(id.ok());
  CHECK((*id)["nonce"] == "nn");
  CHECK(!location_param(implicit, "access_token").empty());

  auto posted = w.get(std::string(kLoginHost),
                      "/common/oauth2/v2.0/authorize?" +
                          build_form({{"client_id", "web"}, {"response_type", "code id_token"},
                                      {"redirect_uri", "https://app.example/cb"}, {"scope", "openid"},
                                      {"response_mode", "form_post"}, {"nonce", "n2"}}));
  CHECK(posted.status == 200);
  CHECK(posted.body.find("name=\"code\"") != std::string::npos);
  CHECK(posted.body.find("name=\"id_token\"") != std::string::npos);

  // v1 authorize + token with resource=.
  auto v1 = w.get(std::string(kLoginHost), "/" + std::string(kLinkedTenantId) + "/oauth2/authorize?" +
                                               build_form({{"client_id", std::string(kAzurePowerShellClientId)},
                                                           {"response_type", "code"},
                                                           {"redirect_uri", "urn:ietf:wg:oauth:2.0:oob"},
                                                           {"resource", "https://management.core.windows.net/"}}));
  REQUIRE(v1.status == 302);
  auto v1tok = w.post_form("/" + std::string(kLinkedTenantId) + "/oauth2/token",
                           {{"client_id", std::string(kAzurePowerShellClientId)},
                            {"grant_type", "authorization_code"},
                            {"code", location_param(v1, "code")},
                            {"resource", "https://management.core.windows.net/"}});
  REQUIRE(v1tok.status == 200);
  json v1j = body_json(v1tok);
  CHECK(v1j["resource"] == "https://management.core.windows.net/");
  CHECK(v1j["expires_in"].is_string());
  auto v1claims = jwt_claims_unverified(v1j["access_token"].get<std::string>());
  CHECK((*v1claims)["aud"] == "https://management.core.windows.net/");
  CHECK((*v1claims)["tid"] == std::string(kLinkedTenantId));

  // client_credentials: app-only token, roles from options, no refresh token.
  auto cc = w.post_form("/" + std::string(kHomeTenantId) + "/oauth2/v2.0/token",
                        {{"client_id", std::string(kTestAppClientId)}, {"client_secret", std::string(kTestAppSecret)},
                         {"grant_type", "client_credentials"}, {"scope", "https://management.azure.com/.default"}});
  REQUIRE(cc.status == 200);
  json ccj = body_json(cc);
  CHECK(!ccj.contains("refresh_token"));
  auto ccc = jwt_claims_unverified(ccj["access_token"].get<std::string>());
  CHECK((*ccc)["idtyp"] == "app");
  CHECK((*ccc)["aud"] == "https://management.azure.com/");
  CHECK(w.post_form("/common/oauth2/v2.0/token", {{"client_id", "x"}, {"grant_type", "client_credentials"},
                                                  {"scope", "https://graph.microsoft.com/.default"}})
            .status == 401);
  CHECK(w.post_form("/common/oauth2/v2.0/token", {{"client_id", "x"}, {"client_secret", "s"}, {"grant_type", "client_credentials"},
                                                  {"scope", "User.Read"}})
            .status == 400);

  // ROPC.
  auto ropc = w.post_form("/organizations/oauth2/v2.0/token",
                          {{"client_id", std::string(kAzureCliClientId)}, {"grant_type", "password"},
                           {"username", "bob@contoso.example"}, {"password", "hunter2"},
                           {"scope", "https://graph.microsoft.com/.default openid"}});
  REQUIRE(ropc.status == 200);
  CHECK((*jwt_claims_unverified(body_json(ropc)["access_token"].get<std::string>()))["upn"] == "bob@contoso.example");

  // Device code.
  auto dc = w.post_form("/common/oauth2/v2.0/devicecode", {{"client_id", std::string(kAzureCliClientId)},
                                                           {"scope", "https://management.azure.com//.default offline_access"}});
  REQUIRE(dc.status == 200);
  json dcj = body_json(dc);
  CHECK(dcj["verification_uri"] == "https://microsoft.com/devicelogin");
  auto dct = w.post_form("/common/oauth2/v2.0/token", {{"client_id", std::string(kAzureCliClientId)},
                                                       {"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                                       {"device_code", dcj["device_code"].get<std::string>()}});
  CHECK(dct.status == 200);

  // On-behalf-of with a token the server issued.
  auto obo = w.post_form("/common/oauth2/v2.0/token",
                         {{"client_id", std::string(kTestAppClientId)}, {"client_secret", "s"},
                          {"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                          {"assertion", body_json(ropc)["access_token"].get<std::string>()},
                          {"requested_token_use", "on_behalf_of"},
                          {"scope", "https://graph.microsoft.com/User.Read"}});
  CHECK(obo.status == 200);
  CHECK(w.post_form("/common/oauth2/v2.0/token", {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                                                  {"assertion", "a.b.c"}, {"requested_token_use", "on_behalf_of"}})
            .status == 400);
  CHECK(body_json(w.post_form("/common/oauth2/v2.0/token", {{"grant_type", "magic"}}))["error"] == "unsupported_grant_type");
}

TEST_CASE("FakeEntraServer: ARM reads, writes and LinkedAuthorizationFailed", "[unit][testkit]") {
  World w;
  const std::string arm(kArmHost);
  const std::string home_sub(kHomeSubscriptionId);
  std::string home_token = arm_token(*w.server, std::string(kHomeTenantId));
  std::string linked_token = arm_token(*w.server, std::string(kLinkedTenantId));
  std::vector<HeaderField> auth = {{"Authorization", "Bearer " + home_token}, {"Content-Type", "application/json"}};
  std::string nic = "/subscriptions/" + home_sub +
                    "/resourceGroups/app-rg/providers/Microsoft.Network/networkInterfaces/nic1?api-version=2023-09-01";

  auto rg = w.get(arm, "/subscriptions/" + home_sub + "/resourceGroups/app-rg?api-version=2021-04-01", auth);
  CHECK(rg.status == 200);
  CHECK(body_json(rg)["name"] == "app-rg");
  CHECK(rg.headers.has("x-ms-request-id"));
  CHECK(w.get(arm, "/subscriptions/" + home_sub + "/resourceGroups/app-rg?api-version=2021-04-01").status == 401);
  CHECK(w.get(arm, "/subscriptions/" + home_sub + "/resourceGroups/app-rg", auth).status == 400);
  TokenSpec graph_spec;
  graph_spec.audience = std::string(kGraphResource);
  auto wrong_aud = w.get(arm, "/subscriptions/" + home_sub + "?api-version=2020-01-01",
                         {{"Authorization", "Bearer " + w.server->signer().mint_jwt(v1_access_token_claims(graph_spec))}});
  CHECK(wrong_aud.status == 401);
  CHECK(wrong_aud.body.find("wrong audience") != std::string::npos);

  // Same-tenant write: created, then updated.
  CHECK(w.send(arm, "PUT", nic, vnet_body(home_sub), auth).status == 201);
  CHECK(w.send(arm, "PUT", nic, vnet_body(home_sub), auth).status == 200);

  // Cross-tenant write without the auxiliary header.
  auto denied = w.send(arm, "PUT", nic, vnet_body(std::string(kLinkedSubscriptionId)), auth);
  CHECK(denied.status == 403);
  json d = body_json(denied);
  CHECK(d["error"]["code"] == "LinkedAuthorizationFailed");
  std::string msg = d["error"]["message"];
  CHECK(msg.find("has permission to perform action 'Microsoft.Network/networkInterfaces/write'") != std::string::npos);
  CHECK(msg.find("however, the current tenant '" + std::string(kHomeTenantId) +
                 "' is not authorized to access linked subscription '" + std::string(kLinkedSubscriptionId) + "'.") !=
        std::string::npos);

  // With an auxiliary token for the linked tenant: accepted.
  auto with_aux = auth;
  with_aux.push_back({"x-ms-authorization-auxiliary", "Bearer " + linked_token});
  CHECK(w.send(arm, "PUT", nic, vnet_body(std::string(kLinkedSubscriptionId)), with_aux).status == 200);
  // An auxiliary token for the wrong tenant does not help.
  auto wrong_aux = auth;
  wrong_aux.push_back({"x-ms-authorization-auxiliary", "Bearer " + home_token});
  CHECK(w.send(arm, "PUT", nic, vnet_body(std::string(kLinkedSubscriptionId)), wrong_aux).status == 403);
  // A forged auxiliary token is a 401.
  auto forged_aux = auth;
  forged_aux.push_back({"x-ms-authorization-auxiliary", "Bearer " + linked_token.substr(0, linked_token.size() - 4) + "AAAA"});
  CHECK(w.send(arm, "PUT", nic, vnet_body(std::string(kLinkedSubscriptionId)), forged_aux).status == 401);

  // Missing role on the linked scope: LinkedAuthorizationFailed whatever auxiliary token is sent.
  auto no_role = w.send(arm, "PUT", nic, vnet_body(std::string(kNoRoleSubscriptionId)), with_aux);
  CHECK(no_role.status == 403);
  json nr = body_json(no_role);
  CHECK(nr["error"]["code"] == "LinkedAuthorizationFailed");
  std::string nr_msg = nr["error"]["message"];
  CHECK(nr_msg.find("does not have permission to perform action(s) 'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s)") != std::string::npos);
  CHECK(nr_msg.find("not authorized to access linked subscription") == std::string::npos);

  // The primary token must be from the subscription's own tenant.
  auto wrong_tenant = w.get(arm, "/subscriptions/" + std::string(kLinkedSubscriptionId) + "?api-version=2020-01-01", auth);
  CHECK(wrong_tenant.status == 401);
  CHECK(body_json(wrong_tenant)["error"]["code"] == "InvalidAuthenticationTokenTenant");
  CHECK(w.get(arm, "/subscriptions/" + std::string(kLinkedSubscriptionId) + "?api-version=2020-01-01",
              {{"Authorization", "Bearer " + linked_token}}).status == 200);
  CHECK(w.send(arm, "DELETE", nic, "", auth).status == 200);
  CHECK(w.send(arm, "POST", "/subscriptions/" + home_sub + "/providers/Microsoft.Compute/register?api-version=2021-04-01", "", auth).status == 200);

  // Expired primary token.
  TokenSpec old;
  old.iat = 1000;
  auto expired = w.get(arm, "/subscriptions/" + home_sub + "?api-version=2020-01-01",
                       {{"Authorization", "Bearer " + w.server->signer().mint_jwt(v1_access_token_claims(old))}});
  CHECK(expired.status == 401);
  CHECK(body_json(expired)["error"]["code"] == "ExpiredAuthenticationToken");
}

TEST_CASE("FakeEntraServer: Graph /v1.0/me", "[unit][testkit]") {
  World w;
  TokenSpec spec;
  spec.audience = std::string(kGraphResource);
  spec.scopes = {"User.Read"};
  auto me = w.get(std::string(kGraphHost), "/v1.0/me",
                  {{"Authorization", "Bearer " + w.server->signer().mint_jwt(v1_access_token_claims(spec))}});
  CHECK(me.status == 200);
  CHECK(body_json(me)["userPrincipalName"] == std::string(kUserUpn));
  CHECK(w.get(std::string(kGraphHost), "/v1.0/me").status == 401);
  CHECK(w.get(std::string(kGraphHost), "/v1.0/me", {{"Authorization", "Bearer " + arm_token(*w.server, std::string(kHomeTenantId))}}).status == 401);
}

TEST_CASE("FakeEntraServer: plumbing endpoints and keep-alive", "[unit][testkit]") {
  World w;
  auto conn = HttpClientConnection::open(w.target("anything.example"));
  // The certificate does not name anything.example: verification must refuse it.
  CHECK(!conn.ok());
  conn = HttpClientConnection::open(w.target("localhost"));
  REQUIRE(conn.ok());
  CHECK((*conn)->tls_version().rfind("TLSv1.", 0) == 0);
  ClientRequest echo;
  echo.method = "POST";
  echo.target = "/echo?x=1";
  echo.headers = {{"X-Test", "yes"}, {"Content-Type", "text/plain"}};
  echo.body = "hello";
  auto e = (*conn)->exchange(echo);
  REQUIRE(e.ok());
  json ej = body_json(*e);
  CHECK(ej["method"] == "POST");
  CHECK(ej["query"] == "x=1");
  CHECK(ej["body"] == "hello");
  CHECK(ej["body_sha256"] == sha256_hex_of("hello"));
  bool saw_header = false;
  for (const auto& h : ej["headers"])
    if (h[0] == "X-Test" && h[1] == "yes") saw_header = true;
  CHECK(saw_header);

  ClientRequest bytes;
  bytes.target = "/bytes/100000";
  auto b = (*conn)->exchange(bytes);
  INFO(b.status().ToString());
  REQUIRE(b.ok());
  CHECK(b->body.size() == 100000);
  CHECK(b->body.substr(0, 3) == "abc");
  CHECK(*b->headers.find("Content-Length") == "100000");

  ClientRequest chunked;
  chunked.target = "/chunked/10000?chunk=333";
  auto c = (*conn)->exchange(chunked);
  REQUIRE(c.ok());
  CHECK(c->body == b->body.substr(0, 10000));
  CHECK(*c->headers.find("Transfer-Encoding") == "chunked");

  ClientRequest head;
  head.method = "HEAD";
  head.target = "/bytes/5000";
  auto h = (*conn)->exchange(head);
  REQUIRE(h.ok());
  CHECK(h->body.empty());
  CHECK(*h->headers.find("Content-Length") == "5000");

  ClientRequest no_content;
  no_content.target = "/status/204";
  auto nc = (*conn)->exchange(no_content);
  REQUIRE(nc.ok());
  CHECK(nc->status == 204);
  ClientRequest not_modified;
  not_modified.target = "/status/304";
  CHECK((*conn)->exchange(not_modified)->status == 304);

  ClientRequest slow;
  slow.target = "/slow?ms=120";
  auto t0 = std::chrono::steady_clock::now();
  CHECK((*conn)->exchange(slow)->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(120));

  ClientRequest until_close;
  until_close.target = "/close/7777";
  auto uc = (*conn)->exchange(until_close);
  REQUIRE(uc.ok());
  CHECK(uc->body.size() == 7777);
  CHECK(uc->closed);

  // Every request above except the last went over one connection.
  auto recorded = w.server->requests();
  REQUIRE(recorded.size() == 8);
  for (const auto& r : recorded) CHECK(r.connection == recorded[0].connection);
  CHECK(recorded[0].body == "hello");
  CHECK(w.server->connections_accepted() == 2);  // the refused-name handshake was a connection too
}

TEST_CASE("FakeEntraServer: Expect 100-continue upload and WebSocket echo", "[unit][testkit]") {
  World w;
  auto conn = HttpClientConnection::open(w.target("localhost"));
  REQUIRE(conn.ok());
  std::string payload(300000, 'z');
  REQUIRE((*conn)->write_raw("PUT /upload HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: " +
                             std::to_string(payload.size()) + "\r\n\r\n").ok());
  auto interim = (*conn)->read_some(4096);
  REQUIRE(interim.ok());
  CHECK(*interim == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE((*conn)->write_raw(payload).ok());
  std::string response;
  for (int i = 0; i < 100 && response.find("}") == std::string::npos; ++i) {
    auto more = (*conn)->read_some(4096);
    REQUIRE(more.ok());
    if (more->empty()) break;
    response += *more;
  }
  CHECK(response.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(response.find("\"bytes\":300000") != std::string::npos);
  CHECK(response.find(sha256_hex_of(payload)) != std::string::npos);

  // Chunked upload through the client helper.
  ClientRequest up;
  up.method = "POST";
  up.target = "/upload";
  up.headers = {{"Transfer-Encoding", "chunked"}};
  up.body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  auto u = (*conn)->exchange(up);
  INFO(u.status().ToString());
  REQUIRE(u.ok());
  CHECK(body_json(*u)["bytes"] == 11);
  CHECK(body_json(*u)["sha256"] == sha256_hex_of("hello world"));

  auto ws = HttpClientConnection::open(w.target("localhost"));
  REQUIRE(ws.ok());
  ClientRequest upgrade;
  upgrade.target = "/ws";
  upgrade.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}, {"Sec-WebSocket-Version", "13"}};
  auto up101 = (*ws)->exchange(upgrade);
  REQUIRE(up101.ok());
  CHECK(up101->status == 101);
  // RFC 6455 §1.3's worked example.
  CHECK(*up101->headers.find("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  std::string frame = {static_cast<char>(0x81), static_cast<char>(0x85), 1, 2, 3, 4};
  std::string text = "hello";
  for (size_t i = 0; i < text.size(); ++i) frame += static_cast<char>(text[i] ^ (i % 4 + 1));
  REQUIRE((*ws)->write_raw(frame).ok());
  auto echoed = (*ws)->read_some(64);
  REQUIRE(echoed.ok());
  CHECK(*echoed == std::string("\x81\x05hello", 7));
}

TEST_CASE("FakeEntraServer: curl with --resolve and --cacert", "[unit][testkit]") {
  if (!have_executable("curl")) {
    WARN("curl not installed: skipping");
    return;
  }
  World w;
  std::string port = std::to_string(w.server->port());
  auto r = run_curl({"--cacert", w.pki.ca_cert, "--resolve", "management.azure.com:443:127.0.0.1",
                     "--connect-to", "management.azure.com:443:127.0.0.1:" + port,
                     "https://management.azure.com/subscriptions/" + std::string(kHomeSubscriptionId) + "?api-version=2020-01-01",
                     "-H", "Authorization: Bearer " + arm_token(*w.server, std::string(kHomeTenantId))});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["subscriptionId"] == std::string(kHomeSubscriptionId));
  // The wrong certificate does not pass curl's host check.
  auto bad = run_curl({"--cacert", w.pki.ca_cert, "--connect-to", "unrelated.example.test:443:127.0.0.1:" + port,
                       "https://unrelated.example.test/echo"});
  CHECK(bad.exit_code == 60);
}

TEST_CASE("FakeEntraServer: plain HTTP mode and stop() leaves no thread", "[unit][testkit]") {
  size_t before = thread_count();
  {
    FakeEntraOptions options;
    options.tls = false;
    auto server = FakeEntraServer::start(options);
    REQUIRE(server.ok());
    ClientTarget t;
    t.host = "127.0.0.1";
    t.port = (*server)->port();
    t.tls = false;
    // An idle keep-alive connection and one blocked in a slow response must not stall stop().
    auto idle = HttpClientConnection::open(t);
    REQUIRE(idle.ok());
    ClientRequest echo;
    echo.target = "/echo";
    REQUIRE((*idle)->exchange(echo).ok());
    auto slow = HttpClientConnection::open(t);
    REQUIRE(slow.ok());
    REQUIRE((*slow)->write_raw("GET /slow?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK((*server)->live_threads() >= 3);
    CHECK(thread_count() >= before + 3);
    auto t0 = std::chrono::steady_clock::now();
    (*server)->stop();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    CHECK((*server)->live_threads() == 0);
    CHECK(thread_count() == before);
    (*server)->stop();  // idempotent
  }
  CHECK(thread_count() == before);
}

TEST_CASE("FakeEntraServer: max_connections refuses the excess cleanly", "[unit][testkit]") {
  FakeEntraOptions options;
  options.tls = false;
  options.max_connections = 2;
  auto server = FakeEntraServer::start(options);
  REQUIRE(server.ok());
  ClientTarget t;
  t.host = "127.0.0.1";
  t.port = (*server)->port();
  t.tls = false;
  ClientRequest echo;
  echo.target = "/echo";
  auto a = HttpClientConnection::open(t);
  auto b = HttpClientConnection::open(t);
  REQUIRE((a.ok() && b.ok()));
  REQUIRE((*a)->exchange(echo).ok());
  REQUIRE((*b)->exchange(echo).ok());
  auto c = HttpClientConnection::open(t);
  REQUIRE(c.ok());
  auto refused = (*c)->exchange(echo);
  REQUIRE(refused.ok());
  CHECK(refused->status == 503);
}

TEST_CASE("ProcessRun, wait_for_file and the fake-entra binary", "[unit][testkit]") {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 7"}, std::chrono::seconds(10));
  CHECK(r.exit_code == 7);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  auto slow = run_command({"sleep", "10"}, std::chrono::milliseconds(100));
  CHECK(slow.timed_out);
  CHECK(slow.exit_code == 128 + SIGKILL);

  std::string binary = fake_entra_binary();
  if (!have_executable(binary)) {
    WARN("fake-entra not built at " << binary << ": skipping the process part");
    return;
  }
  TempHome home("testkit-proc");
  ProcessOptions po;
  po.argv = {binary, "--listen", "127.0.0.1:0", "--ready-file", home.file("ready"), "--pki-dir", home.file("pki"),
             "--linked-sub", "12345678-aaaa-4bbb-8ccc-123456789012=" + std::string(kLinkedTenantId)};
  auto proc = ProcessRun::start(po);
  REQUIRE(proc.ok());
  REQUIRE(wait_for_file(home.file("ready"), std::chrono::seconds(20)));
  uint16_t port = port_from_ready_file(home.file("ready"));
  REQUIRE(port != 0);
  CHECK(read_text_file(home.file("pki/jwks.json")).find("\"RS256\"") != std::string::npos);
  ClientTarget t;
  t.host = std::string(kLoginHost);
  t.connect_port = port;
  t.ca_file = pki_paths(home.file("pki")).ca_cert;
  ClientRequest req;
  req.target = "/common/discovery/v2.0/keys";
  auto keys = http_exchange(t, req);
  REQUIRE(keys.ok());
  CHECK(json::parse(keys->body) == json::parse(read_text_file(home.file("pki/jwks.json"))));
  (*proc)->interrupt();
  auto code = (*proc)->wait(std::chrono::seconds(10));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK((*proc)->stdout_text().find("stopped on SIGINT after 1 requests") != std::string::npos);
}

TEST_CASE("entra_client.py drives every scenario against the fake server", "[unit][testkit]") {
  if (!have_executable("/usr/bin/python3") ||
      run_command({"/usr/bin/python3", "-c", "import requests"}, std::chrono::seconds(20)).exit_code != 0) {
    WARN("/usr/bin/python3 with requests not available: skipping");
    return;
  }
  World w;
  std::string direct = "127.0.0.1:" + std::to_string(w.server->port());
  auto list = run_command({"/usr/bin/python3", entra_client_script(), "list"}, std::chrono::seconds(20));
  REQUIRE(list.exit_code == 0);
  std::vector<std::string> scenarios;
  for (size_t pos = 0; pos < list.out.size();) {
    size_t nl = list.out.find('\n', pos);
    scenarios.push_back(list.out.substr(pos, nl - pos));
    pos = nl == std::string::npos ? list.out.size() : nl + 1;
  }
  CHECK(scenarios.size() == 12);
  for (const auto& name : scenarios) {
    INFO(name);
    w.server->clear_requests();
    auto r = run_command({"/usr/bin/python3", entra_client_script(), "--direct", direct, "--ca", w.pki.ca_cert,
                          "scenario", name},
                         std::chrono::seconds(60));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    json out = json::parse(r.out);
    CHECK(out["ok"] == true);
    auto seen = w.server->requests();
    REQUIRE(!seen.empty());
    auto any = [&](auto pred) { return std::any_of(seen.begin(), seen.end(), pred); };
    auto authorize_has = [&](const std::string& key) {
      return any([&](const RecordedRequest& q) {
        return q.path.find("/authorize") != std::string::npos && !form_value(q.query, key).empty();
      });
    };
    if (name == "clean-pkce-signin") {
      CHECK(authorize_has("code_challenge"));
      CHECK(authorize_has("state"));
      CHECK(authorize_has("nonce"));
    } else if (name == "no-pkce-signin") {
      CHECK(!authorize_has("code_challenge"));
      CHECK(any([](const RecordedRequest& q) { return q.path.find("/token") != std::string::npos && form_value(q.body, "code_verifier").empty() && form_value(q.body, "grant_type") == "authorization_code"; }));
    } else if (name == "plain-pkce") {
      CHECK(any([](const RecordedRequest& q) { return form_value(q.query, "code_challenge_method") == "plain"; }));
    } else if (name == "ropc") {
      CHECK(any([](const RecordedRequest& q) { return form_value(q.body, "grant_type") == "password"; }));
    } else if (name == "implicit") {
      CHECK(any([](const RecordedRequest& q) { return form_value(q.query, "response_type") == "id_token token"; }));
    } else if (name == "nonce-reuse") {
      std::vector<std::string> nonces;
      for (const auto& q : seen)
        if (q.path.find("/authorize") != std::string::npos) nonces.push_back(form_value(q.query, "nonce"));
      REQUIRE(nonces.size() == 2);
      CHECK(nonces[0] == nonces[1]);
    } else if (name == "cross-tenant-missing-aux" || name == "cross-tenant-with-aux") {
      bool with = name == "cross-tenant-with-aux";
      CHECK(any([&](const RecordedRequest& q) {
        return q.method == "PUT" && q.headers.has("x-ms-authorization-auxiliary") == with && q.status == (with ? 201 : 403);
      }));
      // Tokens were obtained for both tenants either way.
      CHECK(any([](const RecordedRequest& q) { return q.path.rfind("/" + std::string(kLinkedTenantId) + "/oauth2", 0) == 0; }));
    } else if (name == "linked-missing-role") {
      CHECK(any([](const RecordedRequest& q) { return q.method == "PUT" && q.status == 403; }));
    } else if (name == "overbroad-scope") {
      CHECK(any([](const RecordedRequest& q) { return form_value(q.query, "scope").find("Directory.ReadWrite.All") != std::string::npos; }));
    }
  }
}

TEST_CASE("start_fake_entra_process + run_entra_client: a scenario against the fake-entra binary", "[unit][testkit]") {
  if (!have_executable(fake_entra_binary()) || !have_executable("/usr/bin/python3")) {
    WARN("fake-entra or /usr/bin/python3 missing: skipping");
    return;
  }
  TempHome home("testkit-e2e");
  auto fake = start_fake_entra_process(home.path(), {"--log"});
  INFO(fake.status().ToString());
  REQUIRE(fake.ok());
  auto r = run_entra_client({"--direct", "127.0.0.1:" + std::to_string(fake->port), "--ca", fake->pki.ca_cert,
                             "scenario", "cross-tenant-missing-aux"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["steps"].back()["status"] == 403);
  fake->process->terminate();
  auto code = fake->process->wait(std::chrono::seconds(10));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(fake->process->stdout_text().find("PUT /subscriptions/") != std::string::npos);
  CHECK(fake->process->stdout_text().find("stopped on SIGTERM") != std::string::npos);
}

TEST_CASE("FakeEntraServer: fault endpoints fail the exchange without hanging", "[unit][testkit]") {
  World w;
  ClientRequest req;
  auto t0 = std::chrono::steady_clock::now();
  req.target = "/reset";
  auto reset = http_exchange(w.target("localhost"), req);
  CHECK(!reset.ok());
  req.target = "/hang?ms=100";
  auto hang = http_exchange(w.target("localhost"), req);
  CHECK(!hang.ok());
  req.target = "/malformed";
  auto malformed = http_exchange(w.target("localhost"), req);
  CHECK(!malformed.ok());
  req.target = "/truncate/1000";
  auto truncated = http_exchange(w.target("localhost"), req);
  CHECK(!truncated.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
  auto seen = w.server->requests();
  REQUIRE(seen.size() == 4);
  CHECK(seen[0].status == -1);
  CHECK(seen[3].path == "/truncate/1000");
}

TEST_CASE("FakeEntraServer: serving the wrong certificate fails host-name verification", "[unit][testkit]") {
  TempHome home("testkit-wrong");
  auto pki = TestPki::generate();
  REQUIRE(pki.ok());
  auto paths = pki->write(home.file("pki"));
  REQUIRE(paths.ok());
  FakeEntraOptions o;
  o.cert_file = paths->wrong_cert;
  o.key_file = paths->wrong_key;
  auto server = FakeEntraServer::start(o);
  REQUIRE(server.ok());
  ClientTarget t;
  t.host = std::string(kLoginHost);
  t.connect_port = (*server)->port();
  t.ca_file = paths->ca_cert;
  auto refused = HttpClientConnection::open(t);
  REQUIRE(!refused.ok());
  CHECK(refused.status().message().find("hostname mismatch") != std::string::npos);
  t.host = "unrelated.example.test";
  CHECK(HttpClientConnection::open(t).ok());
}

TEST_CASE("FakeEntraServer: head and body limits answer 431 and 413", "[unit][testkit]") {
  FakeEntraOptions options;
  options.tls = false;
  options.max_head_bytes = 4096;
  options.max_buffered_body = 1000;
  auto server = FakeEntraServer::start(options);
  REQUIRE(server.ok());
  ClientTarget t;
  t.host = "127.0.0.1";
  t.port = (*server)->port();
  t.tls = false;
  ClientRequest big_head;
  big_head.target = "/echo";
  big_head.headers = {{"X-Big", std::string(8000, 'h')}};
  auto r431 = http_exchange(t, big_head);
  REQUIRE(r431.ok());
  CHECK(r431->status == 431);
  ClientRequest big_body;
  big_body.method = "POST";
  big_body.target = "/echo";
  big_body.body = std::string(2000, 'b');
  auto r413 = http_exchange(t, big_body);
  REQUIRE(r413.ok());
  CHECK(r413->status == 413);
  // /upload streams, so the buffered-body limit does not apply to it.
  ClientRequest upload;
  upload.method = "POST";
  upload.target = "/upload";
  upload.body = std::string(5000, 'u');
  auto up = http_exchange(t, upload);
  REQUIRE(up.ok());
  CHECK(json::parse(up->body)["bytes"] == 5000);
}

TEST_CASE("FakeEntraServer: max_recorded 0 keeps no record but still counts", "[unit][testkit]") {
  FakeEntraOptions options;
  options.tls = false;
  options.max_recorded = 0;
  auto server = FakeEntraServer::start(options);
  REQUIRE(server.ok());
  ClientTarget t;
  t.host = "127.0.0.1";
  t.port = (*server)->port();
  t.tls = false;
  auto conn = HttpClientConnection::open(t);
  REQUIRE(conn.ok());
  ClientRequest req;
  req.target = "/bytes/10";
  for (int i = 0; i < 5; ++i) REQUIRE((*conn)->exchange(req).ok());
  CHECK((*server)->requests().empty());
  CHECK((*server)->requests_served() == 5);
}
