// Redaction: no secret survives anywhere in a flow, claims and S256 survive, markers are stable,
// and redacting twice changes nothing.
#include <catch2/catch.hpp>

#include <zlib.h>

#include "analyzers/http_text.h"
#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/redact.h"
#include "analyzers/token_discovery.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

// Every byte of a flow a store or export could write.
std::string serialize(const Flow& f) {
  std::string out = f.request.method + " " + f.request.target + "\n";
  for (const auto& h : f.request.headers.fields()) out += h.name + ": " + h.value + "\n";
  out += f.request.body.data.value_or("") + "\n";
  if (f.response) {
    for (const auto& h : f.response->headers.fields()) out += h.name + ": " + h.value + "\n";
    out += f.response->body.data.value_or("") + "\n";
  }
  return out;
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string signature_of(const std::string& jwt) { return jwt.substr(jwt.rfind('.') + 1); }

std::string fmt_percent(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string{'%', kHex[c >> 4], kHex[c & 15]};
}

struct Secrets {
  SigningKey key{"RS256", "k1"};
  std::string access = key.mint(arm_user_claims_v1());
  std::string aux = key.mint(graph_app_claims_v2());
  std::string id_token = key.mint({{"aud", kAzureCli}, {"nonce", "nonce-1"}, {"sub", "s"}});
  std::string assertion = key.mint({{"iss", "app"}, {"aud", "login"}, {"jti", "j1"}});
  std::string code = "0.AXoAcodeVALUE-abcdefghijklmnop";
  std::string refresh = "0.AXoArefreshTOKEN-0123456789abcdef.AgABAAEAAAD--DLA3VO7Qrdd";
  std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  std::string secret = "Q~8Q8~clientSECRETvalue1234567890";
  std::string password = "correct horse battery staple";
  std::string estsauth = "0.ARoAv4j5cvESTSAUTHsessionCookieValue";
  std::string device_code = "DAQABAAEAAADeviceCodeValue0123456789";
};

}  // namespace

TEST_CASE("markers and helpers", "[unit][tokens]") {
  Secrets s;
  // RFC 7636 Appendix B: verifier -> challenge.
  CHECK(*verifier_s256(s.verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK(verifier_marker(s.verifier) == "authscope-redacted:s256=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK(*verifier_s256(verifier_marker(s.verifier)) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK_FALSE(verifier_s256(secret_marker(s.verifier)));
  CHECK(secret_marker(s.code) == "authscope-redacted:sha256=" + sha256_hex(s.code).substr(0, 16));
  CHECK(code_fingerprint(s.code) == code_fingerprint(secret_marker(s.code)));
  CHECK(code_fingerprint(s.code) != code_fingerprint(s.refresh));

  std::string red = redact_token(s.access);
  CHECK(red.find(signature_of(s.access)) == std::string::npos);
  CHECK(red.rfind(s.access.substr(0, s.access.rfind('.')) + ".authscope-redacted:sha256=", 0) == 0);
  CHECK(redact_token(red) == red);
  CHECK(token_fingerprint(red) == token_fingerprint(s.access));
  CHECK(is_redacted(red));
  CHECK_FALSE(is_redacted(s.access));

  std::string jwe = base64url_encode(R"({"alg":"RSA-OAEP","enc":"A256GCM"})") + ".AAAA.BBBB.CCCC.DDDD";
  std::string rjwe = redact_token(jwe);
  CHECK(rjwe.find("CCCC") == std::string::npos);
  auto dj = decode_token(rjwe);
  REQUIRE(dj.ok());
  CHECK(dj->format == TokenFormat::kJwe);
  CHECK(dj->redacted);
  CHECK(dj->fingerprint == token_fingerprint(jwe));
}

TEST_CASE("redaction removes every secret from a sign-in and keeps claims and S256", "[unit][tokens]") {
  Secrets s;
  std::vector<Flow> flows;

  // 1. Authorization redirect with code and id_token (hybrid), browser cookies.
  Flow authz = make_flow("GET", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=" +
                                    std::string(kAzureCli) + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                         {{"Cookie", "ESTSAUTH=" + s.estsauth + "; buid=0.buid-value; x-ms-gateway-slice=estsfd"}});
  set_response(authz, 302,
               {{"Location", "http://localhost:8400/?code=" + s.code + "&state=st#id_token=" + s.id_token},
                {"Set-Cookie", "ESTSAUTHPERSISTENT=" + s.estsauth + "; path=/; secure; HttpOnly"}},
               "");
  flows.push_back(authz);

  // 2. The client's callback request carrying the code in its URL.
  flows.push_back(make_flow("GET", "http://localhost:8400/?code=" + s.code + "&state=st",
                            {{"Referer", "https://login.microsoftonline.com/?code=" + s.code}}));

  // 3. Code redemption with PKCE verifier, client assertion and secret; JSON token response.
  Flow token = make_form_post("https://login.microsoftonline.com/common/oauth2/v2.0/token",
                              "client_id=" + std::string(kAzureCli) + "&grant_type=authorization_code&code=" + s.code +
                                  "&code_verifier=" + s.verifier + "&client_assertion=" + s.assertion +
                                  "&client_secret=" + url_encode(s.secret) + "&redirect_uri=http%3A%2F%2Flocalhost%3A8400%2F");
  set_response(token, 200, {{"Content-Type", "application/json; charset=utf-8"}},
               "{\"token_type\":\"Bearer\",\"scope\":\"https://management.core.windows.net//user_impersonation\","
               "\"expires_in\":4493,\"access_token\":\"" + s.access + "\",\"refresh_token\":\"" + s.refresh +
               "\",\"id_token\":\"" + s.id_token + "\",\"client_info\":\"eyJ1aWQiOiJ4In0\"}");
  flows.push_back(token);

  // 4. ROPC with a password, gzip-compressed token response.
  Flow ropc = make_form_post("https://login.microsoftonline.com/common/oauth2/token",
                             "grant_type=password&username=ada%40contoso.example&password=" + url_encode(s.password));
  set_response(ropc, 200, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}},
               gzip("{\"access_token\":\"" + s.access + "\",\"refresh_token\":\"" + s.refresh + "\"}"));
  flows.push_back(ropc);

  // 5. ARM call with auxiliary tokens; 6. device code start; 7. form_post page.
  flows.push_back(make_flow("PUT", "https://management.azure.com/subscriptions/x?api-version=1",
                            {{"Authorization", "Bearer " + s.access},
                             {"x-ms-authorization-auxiliary", "Bearer " + s.aux + ", Bearer " + s.access}}));
  Flow dc = make_form_post("https://login.microsoftonline.com/common/oauth2/v2.0/devicecode", "client_id=x&scope=openid");
  set_response(dc, 200, {{"Content-Type", "application/json"}},
               "{\"user_code\":\"ABCD\",\"device_code\":\"" + s.device_code + "\",\"expires_in\":900}");
  flows.push_back(dc);
  Flow fp = make_flow("POST", "https://login.microsoftonline.com/common/login", {},
                      "login=ada&passwd=" + url_encode(s.password));
  fp.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  set_response(fp, 200, {{"Content-Type", "text/html"}},
               "<form><input type=\"hidden\" name=\"code\" value=\"" + s.code + "\" /><input type=\"hidden\" "
               "name=\"id_token\" value=\"" + s.id_token + "\" /><input type=\"hidden\" name=\"state\" value=\"st\"/></form>");
  flows.push_back(fp);

  std::vector<std::string> raw_secrets = {signature_of(s.access), signature_of(s.aux), signature_of(s.id_token),
                                          signature_of(s.assertion), s.code, s.refresh, s.verifier, s.secret,
                                          url_encode(s.secret), s.password, url_encode(s.password), s.estsauth,
                                          "0.buid-value", s.device_code};
  for (auto& f : flows) {
    Flow before = f;
    redact_secrets(f);
    std::string text = serialize(f);
    for (const auto& secret : raw_secrets) {
      INFO("flow " << f.request.method << " " << before.request.target << "\nredacted:\n" << text);
      CHECK(text.find(secret) == std::string::npos);
    }
    // Bodies and Content-Length agree.
    for (const Headers* h : {&f.request.headers, f.response ? &f.response->headers : nullptr}) {
      if (h == nullptr || !h->has("Content-Length")) continue;
      const Body& b = h == &f.request.headers ? f.request.body : f.response->body;
      CHECK(*h->find("Content-Length") == std::to_string(b.data.value_or("").size()));
    }
    // Idempotent.
    Flow again = f;
    redact_secrets(again);
    CHECK(serialize(again) == text);

    // Tokens are still found at the same locations with the same claims and fingerprints.
    auto found_before = find_tokens(before);
    auto found_after = find_tokens(f);
    REQUIRE(found_before.size() == found_after.size());
    for (size_t i = 0; i < found_before.size(); ++i) {
      CHECK(found_before[i].location == found_after[i].location);
      CHECK(found_after[i].redacted);
      auto a = decode_token(found_before[i].raw);
      auto b = decode_token(found_after[i].raw);
      if (!a.ok()) continue;
      REQUIRE(b.ok());
      CHECK(a->claims == b->claims);
      if (found_before[i].kind != "password" && found_before[i].kind != "code_verifier") {
        CHECK(a->fingerprint == b->fingerprint);
      }
    }
  }

  // Specific shapes the analyzers rely on.
  const Flow& t = flows[2];
  auto form = parse_form(*t.request.body.data);
  CHECK(*verifier_s256(*form_value(form, "code_verifier")) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  CHECK(code_fingerprint(*form_value(form, "code")) == code_fingerprint(s.code));
  CHECK(*form_value(form, "redirect_uri") == "http://localhost:8400/");
  CHECK(*form_value(form, "grant_type") == "authorization_code");
  auto body = parse_json(*t.response->body.data);
  REQUIRE(body);
  CHECK((*body)["expires_in"] == 4493);
  CHECK((*body)["scope"] == "https://management.core.windows.net//user_impersonation");
  CHECK((*body)["client_info"] == "eyJ1aWQiOiJ4In0");  // not a JWT, not a secret
  JwksIndex index;
  index.add_jwks(s.key.jwks());
  CHECK(index.verify(*decode_token((*body)["access_token"].get<std::string>())) == SignatureStatus::kRedacted);

  const Flow& r = flows[3];
  CHECK_FALSE(r.response->headers.has("Content-Encoding"));
  CHECK(parse_json(*r.response->body.data).has_value());
  CHECK(form_value(*r.request.body.data, "password") == "authscope-redacted:password");
  CHECK(r.request.body.wire_size != r.request.body.data->size());  // wire size kept as seen

  const Flow& arm = flows[4];
  const std::string aux_header = *arm.request.headers.find("x-ms-authorization-auxiliary");
  CHECK(aux_header.rfind("Bearer ", 0) == 0);
  CHECK(aux_header.find(", Bearer ") != std::string::npos);  // separator kept byte for byte

  const Flow& a = flows[0];
  CHECK(a.request.headers.find("Cookie")->find("ESTSAUTH=authscope-redacted:sha256=") == 0);
  CHECK(a.request.headers.find("Cookie")->find("; x-ms-gateway-slice=authscope-redacted:sha256=") != std::string::npos);
  CHECK(a.response->headers.find("Set-Cookie")->find("; path=/; secure; HttpOnly") != std::string::npos);
  CHECK(a.request.target.find("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") != std::string::npos);
}

TEST_CASE("redaction keeps non-secret JSON intact and handles odd bodies", "[unit][tokens]") {
  // ARM errors use "code" as a member name: it is not an authorization code.
  Flow arm = make_flow("PUT", "https://management.azure.com/subscriptions/x?api-version=1");
  std::string err = R"({"error":{"code":"LinkedAuthorizationFailed","message":"The client has permission ..."}})";
  set_response(arm, 403, {{"Content-Type", "application/json"}}, err);
  redact_secrets(arm);
  CHECK(*arm.response->body.data == err);

  // A body in an encoding authscope cannot read is replaced by a marker, not kept.
  Flow br = make_flow("GET", "https://login.microsoftonline.com/x");
  set_response(br, 200, {{"Content-Type", "application/json"}, {"Content-Encoding", "br"}}, "\x8b\x02\x80secret");
  redact_secrets(br);
  CHECK(br.response->body.data->rfind("authscope-redacted:sha256=", 0) == 0);
  CHECK(br.response->body.data->find("secret") == std::string::npos);
  CHECK_FALSE(br.response->headers.has("Content-Encoding"));

  // Escaped JSON strings ("\/") force a re-serialization, which still removes the secret.
  Flow esc = make_flow("GET", "https://login.microsoftonline.com/x");
  set_response(esc, 200, {{"Content-Type", "application/json"}},
               R"({"refresh_token":"0.AX\/rt-with-slash-0123456789","b":1})");
  redact_secrets(esc);
  CHECK(esc.response->body.data->find("rt-with-slash") == std::string::npos);
  CHECK(parse_json(*esc.response->body.data)->at("b") == 1);

  // JSON cut at the capture limit does not parse: credential members are still found by scanning.
  Flow cut = make_flow("POST", "https://login.microsoftonline.com/common/oauth2/v2.0/token");
  set_response(cut, 200, {{"Content-Type", "application/json"}},
               R"({"token_type":"Bearer","refresh_token" : "0.AXoA-cut-refresh-0123456789","access_token":"0.AXoA-partial-acc)");
  cut.response->body.truncated = true;
  redact_secrets(cut);
  CHECK(cut.response->body.data->find("cut-refresh") == std::string::npos);
  CHECK(cut.response->body.data->find("partial-acc") == std::string::npos);
  CHECK(cut.response->body.data->find("\"token_type\":\"Bearer\"") != std::string::npos);
  std::string cut_once = *cut.response->body.data;
  redact_secrets(cut);
  CHECK(*cut.response->body.data == cut_once);

  // JWTs in free text (logs, HTML) lose their signatures.
  SigningKey key("ES256", "e1");
  std::string jwt = key.mint({{"sub", "x"}});
  Flow text = make_flow("GET", "https://example.test/");
  set_response(text, 200, {{"Content-Type", "text/plain"}}, "token: " + jwt + ". end");
  redact_secrets(text);
  CHECK(text.response->body.data->find(signature_of(jwt)) == std::string::npos);
  CHECK(text.response->body.data->find(". end") != std::string::npos);
  std::string once = *text.response->body.data;
  redact_secrets(text);
  CHECK(*text.response->body.data == once);

  // Tunnels have nothing to redact; absent bodies stay absent.
  Flow tunnel;
  tunnel.kind = FlowKind::kTunnel;
  redact_secrets(tunnel);
  Flow nobody = make_flow("GET", "https://example.test/");
  redact_secrets(nobody);
  CHECK_FALSE(nobody.request.body.present());
}

TEST_CASE("repeated tokens redact the same way, also after the cache has turned over", "[unit][tokens]") {
  SigningKey key{"RS256", "k-cache"};
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) {  // more distinct tokens than the cache keeps
    tokens.push_back(i % 2 == 0 ? key.mint({{"aud", "https://management.azure.com/"}, {"oid", "o" + std::to_string(i)}})
                                : "0.AXoArefresh-" + std::to_string(i) + "-abcdefghijklmnop");
  }
  std::vector<std::string> first;
  for (const auto& t : tokens) first.push_back(redact_token(t));
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    // Each redacted form names its own token: claims (JWT) and fingerprint are t's own.
    CHECK(token_fingerprint(first[i]) == token_fingerprint(t));
    if (i % 2 == 0) {
      CHECK(first[i].rfind(t.substr(0, t.rfind('.')) + ".", 0) == 0);
      CHECK(first[i].find(signature_of(t)) == std::string::npos);
    } else {
      CHECK(first[i] == secret_marker(t));
    }
  }
  // Again, in reverse (recent ones hit, evicted ones are redacted afresh): identical results.
  for (size_t i = tokens.size(); i-- > 0;) CHECK(redact_token(tokens[i]) == first[i]);
  // A token longer than the cache takes is still redacted correctly, twice.
  std::string huge = "0.AXoA" + std::string(20000, 'x');
  CHECK(redact_token(huge) == secret_marker(huge));
  CHECK(redact_token(huge) == secret_marker(huge));
}

TEST_CASE("JSON bodies that are skipped unparsed hold no secret, the rest are parsed", "[unit][tokens]") {
  auto redacted_body = [](const std::string& body) {
    Flow f = make_flow("GET", "https://management.azure.com/subscriptions?api-version=2022-12-01");
    set_response(f, 200, {{"Content-Type", "application/json"}}, body);
    redact_secrets(f);
    return *f.response->body.data;
  };
  // An ARM listing: nothing named like a credential, no JWT: kept byte for byte.
  std::string arm = R"({"value":[{"id":"/subscriptions/0b1f6471","displayName":"prod","state":"Enabled"}]})";
  CHECK(redacted_body(arm) == arm);
  // Names spelled with escapes, credentials in any case, keys of storage accounts: all found.
  CHECK(redacted_body(R"({"acc\u0065ss_token":"0.AXoA-escaped-name-0123456789"})").find("escaped-name") ==
        std::string::npos);
  CHECK(redacted_body(R"({"login":{"PWD":"hunter2-upper"}})").find("hunter2") == std::string::npos);
  CHECK(redacted_body(R"({"Password":"Correct-Horse"})").find("Correct-Horse") == std::string::npos);
  CHECK(redacted_body(R"({"keys":[{"keyName":"key1","primaryKey":"c3RvcmFnZS1rZXk="}]})").find("c3RvcmFnZS1rZXk") ==
        std::string::npos);
  // Storage listKeys: the account keys are the "value" members of the "keys" list...
  const std::string list_keys =
      R"({"keys":[{"creationTime":"2026-01-02T03:04:05Z","keyName":"key1","value":"U3RvcmFnZUtleU9uZQ==","permissions":"FULL"},)"
      R"({"keyName":"key2","value":"U3RvcmFnZUtleVR3bw==","permissions":"FULL"}]})";
  const std::string list_keys_out = redacted_body(list_keys);
  CHECK(list_keys_out.find("U3RvcmFnZUtleU9uZQ") == std::string::npos);
  CHECK(list_keys_out.find("U3RvcmFnZUtleVR3bw") == std::string::npos);
  CHECK(list_keys_out.find(R"("keyName":"key1")") != std::string::npos);
  CHECK(list_keys_out.find(R"("permissions":"FULL")") != std::string::npos);
  // ... while "value" anywhere else is ordinary: app settings, tags, ARM listings stay as they are.
  const std::string settings = R"({"value":[{"name":"WEBSITE_RUN_FROM_PACKAGE","value":"1"}],"keys":{"value":"not-a-list"}})";
  CHECK(redacted_body(settings) == settings);
  // Cosmos DB, Cognitive Services, App Service publishing credentials, Event Hubs alias strings.
  for (const std::string& body :
       {std::string(R"({"primaryMasterKey":"cosmos-secret-1","primaryReadonlyMasterKey":"cosmos-secret-2"})"),
        std::string(R"({"key1":"cog-secret-1","key2":"cog-secret-2"})"),
        std::string(R"({"properties":{"publishingUserName":"$app","publishingPassword":"pub-secret-1"}})"),
        std::string(R"({"aliasPrimaryConnectionString":"Endpoint=sb://x/;SharedAccessKey=alias-secret-1"})")}) {
    INFO(body);
    const std::string out = redacted_body(body);
    CHECK(out.find("secret-1") == std::string::npos);
    CHECK(out.find("secret-2") == std::string::npos);
  }
  // A JWT under an innocent name loses its signature.
  SigningKey key("RS256", "k-json");
  std::string jwt = key.mint({{"aud", "api://x"}});
  CHECK(redacted_body(R"({"note":")" + jwt + R"("})").find(signature_of(jwt)) == std::string::npos);
}

TEST_CASE("the escape-free JSON scanner redacts exactly what the parsed-document walk does", "[unit][tokens]") {
  SigningKey key("RS256", "k-scan");
  std::string jwt = key.mint({{"aud", "https://graph.microsoft.com"}, {"scp", "User.Read"}});
  std::vector<std::string> docs = {
      R"({"token_type":"Bearer","access_token":")" + jwt + R"(","refresh_token":"0.AXoA-rt-1","expires_in":3599})",
      R"([{"access_token":"0.AXoA-in-array"},{"note":")" + jwt + R"("},17,null,true])",
      R"({"keys":{"primaryKey":"pk-1","nested":[{"client_secret":"cs-1"}]},"tokens":{"refresh_token":["rt-a","rt-b"]}})",
      R"({"error":{"code":"LinkedAuthorizationFailed","message":"x"},"password":"pw-1","Password":"pw-2"})",
      R"({"a":[[["deep"]]],"assertion":{"inner":"not-a-secret"},"id_token":[")" + jwt + R"(", "x"]})",
      R"({"keys":[{"keyName":"key1","value":"k-one"},{"value":"k-two","nested":{"value":"plain"}},"loose"],"value":"v"})",
      R"({"keys":{"value":"plain"},"list":[{"keys":[[{"value":"plain-too"}]]}],"x":{"keys":[{"value":"k-three"}]}})",
      // A secret echoed under an ordinary name is redacted there too; a longer string holding it is not.
      R"({ "refresh_token" : "rt-dup" ,
 "echo": ["rt-dup", "rt-dup-not"], "n": 1 })",
  };
  for (const std::string& doc : docs) {
    INFO(doc);
    auto redact_json_body = [](const std::string& body) {
      Flow f = make_flow("POST", "https://login.microsoftonline.com/common/oauth2/v2.0/token");
      set_response(f, 200, {{"Content-Type", "application/json"}}, body);
      redact_secrets(f);
      return *f.response->body.data;
    };
    // The same document once without any backslash (scanner) and once with an escaped slash
    // added (forces the parser): equal documents afterwards, apart from the added member.
    std::string scanned = redact_json_body(doc);
    std::string with_escape = doc.front() == '{' ? R"({"zz":"a\/b",)" + doc.substr(1) : R"([{"zz":"a\/b"},)" + doc.substr(1);
    auto a = nlohmann::ordered_json::parse(scanned);
    auto b = nlohmann::ordered_json::parse(redact_json_body(with_escape));
    if (b.is_object()) b.erase("zz"); else b.erase(0);
    CHECK(a == b);
    CHECK(scanned.find(signature_of(jwt)) == std::string::npos);
    // Key list items lose their "value"; "value" outside a key list item stays.
    for (const char* key : {"k-one", "k-two", "k-three"}) CHECK(scanned.find(key) == std::string::npos);
    CHECK(scanned.find("\"rt-dup\"") == std::string::npos);
    if (doc.find("rt-dup-not") != std::string::npos) {
      CHECK(scanned.find(R"(" ,
 "echo": [")") != std::string::npos);  // the text around the values is kept byte for byte
      CHECK(scanned.find(R"(, "rt-dup-not"], "n": 1 })") != std::string::npos);
    }
    for (const char* kept : {"\"plain\"", "\"plain-too\"", "\"loose\"", "\"v\""}) {
      if (doc.find(kept) != std::string::npos) CHECK(scanned.find(kept) != std::string::npos);
    }
  }
}

TEST_CASE("url_decode: escapes, plus, and malformed escapes kept as they are", "[unit][tokens]") {
  CHECK(url_decode("plain-value_1.2~") == "plain-value_1.2~");
  CHECK(url_decode("a%20b+c") == "a b c");
  CHECK(url_decode("a%20b+c", false) == "a b+c");
  CHECK(url_decode("%41%42%43") == "ABC");
  CHECK(url_decode("100%") == "100%");
  CHECK(url_decode("%4") == "%4");
  CHECK(url_decode("%zz%41") == "%zzA");
  CHECK(url_decode("x%2") == "x%2");
  CHECK(url_decode("%2B+") == "+ ");
  CHECK(url_decode("") == "");
  CHECK(url_decode("http%3A%2F%2Flocalhost%3A8400%2F") == "http://localhost:8400/");
}

TEST_CASE("a JWT under a name that is not a credential is still redacted in a form, others kept byte for byte",
          "[unit][tokens]") {
  Secrets s;
  // The unnamed value is skipped without decoding unless it can hold a JWT: both branches.
  const std::string body = "grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
                           "&weird=%7Bodd%7D&custom_param=" + s.access + "&tail=eyJnotajwt";
  Flow f = make_form_post("https://login.microsoftonline.com/t/oauth2/v2.0/token", body);
  redact_secrets(f);
  const std::string& out = *f.request.body.data;
  CHECK(out.find(s.access) == std::string::npos);
  CHECK(out.find("custom_param=") != std::string::npos);
  CHECK(out.find("authscope-redacted") != std::string::npos);
  CHECK(out.rfind("grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&weird=%7Bodd%7D&",
                  0) == 0);
  CHECK(out.size() >= std::string("&tail=eyJnotajwt").size());
  CHECK(out.substr(out.size() - std::string("&tail=eyJnotajwt").size()) == "&tail=eyJnotajwt");

  // A JWT whose letters were percent-encoded (legal, if odd) is still found.
  std::string spelled = "x=";
  for (unsigned char c : s.id_token) spelled += fmt_percent(c);
  Flow g = make_form_post("https://login.microsoftonline.com/t/oauth2/v2.0/token", spelled);
  redact_secrets(g);
  CHECK(g.request.body.data->find(signature_of(s.id_token)) == std::string::npos);
  CHECK(url_decode(*g.request.body.data).find(signature_of(s.id_token)) == std::string::npos);
}

TEST_CASE("credential-like header names are found in any letter case", "[unit][tokens]") {
  Secrets s;
  Flow f = make_flow("GET", "https://management.azure.com/subscriptions?api-version=1",
                     {{"X-Custom-TOKEN", "opaque-value-123"}, {"Ocp-Apim-Subscription-Key", "k-456"},
                      {"X-Ms-Client-Request-Id", "keep-me"}});
  redact_secrets(f);
  CHECK(*f.request.headers.find("X-Custom-TOKEN") != "opaque-value-123");
  CHECK(*f.request.headers.find("Ocp-Apim-Subscription-Key") != "k-456");
  CHECK(*f.request.headers.find("X-Ms-Client-Request-Id") == "keep-me");
}
