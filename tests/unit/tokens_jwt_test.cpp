// Token decoding, verification and interpretation: RFC 7515 test vectors, minted Entra-shaped
// tokens, tampering, and a table of malformed inputs with their exact reasons.
#include <catch2/catch.hpp>

#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/token_info.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

// RFC 7515 Appendix A.2 (RS256) and A.3 (ES256): public test vectors, typed from the RFC.
const char* kA2Token =
    "eyJhbGciOiJSUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdb"
    "F9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383"
    "LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWy"
    "wlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const char* kA2Modulus =
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"
    "HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"
    "D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"
    "SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"
    "MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
    "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const char* kA3Token =
    "eyJhbGciOiJFUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

nlohmann::json a2_jwks() { return {{"keys", {{{"kty", "RSA"}, {"n", kA2Modulus}, {"e", "AQAB"}}}}}; }
nlohmann::json a3_jwks() {
  return {{"keys",
           {{{"kty", "EC"},
             {"crv", "P-256"},
             {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
             {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}}}}};
}

SignatureStatus verify_with(const JwksIndex& index, const std::string& token) {
  auto d = decode_token(token);
  REQUIRE(d.ok());
  return index.verify(*d);
}

// Replaces the claims segment with other claims, keeping header and signature.
std::string with_claims(const std::string& token, const nlohmann::json& claims) {
  size_t a = token.find('.'), b = token.rfind('.');
  return token.substr(0, a + 1) + base64url_encode(claims.dump()) + token.substr(b);
}

}  // namespace

TEST_CASE("base64url is strict", "[unit][tokens]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(*base64url_decode("Zm9vYg") == "foob");
  CHECK(*base64url_decode("-_8") == "\xfb\xff");
  CHECK_FALSE(base64url_decode("Zm9v=").ok());   // padding
  CHECK_FALSE(base64url_decode("Zm+v").ok());    // '+' is base64, not base64url
  CHECK_FALSE(base64url_decode("Z").ok());       // 1 mod 4
  CHECK_FALSE(base64url_decode("Zh").ok());      // non-zero unused bits ("Zg" is canonical)
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("RFC 7515 A.2 (RS256) and A.3 (ES256) examples verify", "[unit][tokens]") {
  JwksIndex rsa;
  REQUIRE(rsa.add_jwks(a2_jwks()) == 1);
  auto a2 = decode_token(kA2Token);
  REQUIRE(a2.ok());
  CHECK(a2->format == TokenFormat::kJws);
  CHECK(a2->alg() == "RS256");
  CHECK(a2->claims["iss"] == "joe");
  CHECK(a2->claims["exp"] == 1300819380);
  CHECK(a2->claims["http://example.com/is_root"] == true);
  CHECK(rsa.verify(*a2) == SignatureStatus::kVerified);

  JwksIndex ec;
  REQUIRE(ec.add_jwks(a3_jwks()) == 1);
  auto a3 = decode_token(kA3Token);
  REQUIRE(a3.ok());
  CHECK(a3->signature.size() == 64);
  CHECK(ec.verify(*a3) == SignatureStatus::kVerified);

  // Cross-checks: each vector fails against the other key set (no kid: "unknown-key" because
  // no key of the right type exists), and a flipped signature bit is a bad signature.
  CHECK(ec.verify(*a2) == SignatureStatus::kUnknownKey);
  CHECK(rsa.verify(*a3) == SignatureStatus::kUnknownKey);
  std::string bad = kA3Token;
  bad[bad.size() - 5] = bad[bad.size() - 5] == 'A' ? 'B' : 'A';
  CHECK(verify_with(ec, bad) == SignatureStatus::kBadSignature);
  // Tampered claims under the original signature.
  CHECK(verify_with(rsa, with_claims(kA2Token, {{"iss", "mallory"}})) == SignatureStatus::kBadSignature);
}

TEST_CASE("minted Entra tokens verify for every supported alg, tampering is caught", "[unit][tokens]") {
  for (const char* alg : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}) {
    DYNAMIC_SECTION(alg) {
      SigningKey key(alg, std::string("kid-") + alg);
      JwksIndex index;
      REQUIRE(index.add_jwks(key.jwks()) == 1);
      std::string token = key.mint(arm_user_claims_v1());
      CHECK(verify_with(index, token) == SignatureStatus::kVerified);
      auto claims = arm_user_claims_v1();
      claims["scp"] = "user_impersonation Directory.ReadWrite.All";
      CHECK(verify_with(index, with_claims(token, claims)) == SignatureStatus::kBadSignature);
      // The same token is unknown-key to an index holding only another kid.
      SigningKey other(alg, "another-kid");
      JwksIndex other_index;
      other_index.add_jwks(other.jwks());
      CHECK(verify_with(other_index, token) == SignatureStatus::kUnknownKey);
    }
  }
}

TEST_CASE("signature statuses for alg none, Graph nonce, unsupported alg, no keys, redacted", "[unit][tokens]") {
  SigningKey key("RS256", "k1");
  JwksIndex index;
  index.add_jwks(key.jwks());
  JwksIndex empty;

  std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                     base64url_encode(arm_user_claims_v1().dump()) + ".";
  CHECK(verify_with(index, none) == SignatureStatus::kAlgNone);

  std::string graph = key.mint(graph_app_claims_v2(), {{"nonce", "AQABAAAAAAD--DLA3VO7QrddgJg7WevrTQ"}});
  CHECK(verify_with(index, graph) == SignatureStatus::kNotVerifiable);

  std::string hs = base64url_encode(R"({"alg":"HS256","kid":"k1"})") + "." +
                   base64url_encode(R"({"sub":"x"})") + "." + base64url_encode("0123456789abcdef0123456789abcdef");
  CHECK(verify_with(index, hs) == SignatureStatus::kUnsupportedAlg);

  CHECK(verify_with(empty, key.mint(arm_user_claims_v1())) == SignatureStatus::kUnverified);

  // A kid naming an RSA key but "alg":"ES256": no published key can have made it.
  std::string confused = base64url_encode(R"({"alg":"ES256","kid":"k1"})") + "." +
                         base64url_encode(R"({"sub":"x"})") + "." + base64url_encode(std::string(64, 'x'));
  CHECK(verify_with(index, confused) == SignatureStatus::kBadSignature);

  std::string sig_redacted = key.mint(arm_user_claims_v1());
  sig_redacted = sig_redacted.substr(0, sig_redacted.rfind('.')) + ".authscope-redacted:sha256=0123456789abcdef";
  auto d = decode_token(sig_redacted);
  REQUIRE(d.ok());
  CHECK(d->redacted);
  CHECK(d->fingerprint == "0123456789abcdef");
  CHECK(d->claims["upn"] == "ada@contoso.example");
  CHECK(index.verify(*d) == SignatureStatus::kRedacted);
  CHECK(std::string(to_string(SignatureStatus::kBadSignature)) == "bad-signature");
}

TEST_CASE("JWKS from captured flows: discovery keys and jwks_uri of an openid-configuration", "[unit][tokens]") {
  SigningKey key("RS256", "entra-key-1");
  std::string token = key.mint(arm_user_claims_v1());

  JwksIndex index;
  Flow config = make_flow("GET", std::string("https://login.microsoftonline.com/") + kTenant +
                                     "/v2.0/.well-known/openid-configuration");
  set_response(config, 200, {{"Content-Type", "application/json; charset=utf-8"}},
               nlohmann::json{{"issuer", "x"}, {"jwks_uri", "https://keys.example.test/tenant/keys"}}.dump());
  index.add_from_flow(config);
  CHECK(index.jwks_uris().count("https://keys.example.test/tenant/keys") == 1);
  CHECK(index.empty());

  Flow custom = make_flow("GET", "https://keys.example.test/tenant/keys");
  set_response(custom, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
  index.add_from_flow(custom);
  CHECK(index.size() == 1);
  CHECK(verify_with(index, token) == SignatureStatus::kVerified);

  // The standard path is recognised without a configuration; the same key twice is kept once.
  JwksIndex plain;
  Flow keys = make_flow("GET", "https://login.microsoftonline.com/common/discovery/v2.0/keys");
  set_response(keys, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
  plain.add_from_flow(keys);
  plain.add_from_flow(keys);
  CHECK(plain.size() == 1);
  // A "keys" document from an unrelated path is not trusted as a signing key set.
  JwksIndex other;
  Flow random = make_flow("GET", "https://evil.example.test/whatever");
  set_response(random, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
  other.add_from_flow(random);
  CHECK(other.empty());
  // Malformed keys are skipped, never fatal.
  CHECK(other.add_jwks(nlohmann::json{{"keys", {{{"kty", "RSA"}, {"n", "!!"}, {"e", "AQAB"}},
                                                 {{"kty", "EC"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}},
                                                 {{"kty", "oct"}, {"k", "AAAA"}},
                                                 42}}}) == 0);
}

TEST_CASE("malformed inputs give exact reasons", "[unit][tokens]") {
  const std::string h = base64url_encode(R"({"alg":"RS256"})");
  const std::string c = base64url_encode(R"({"sub":"x"})");
  std::string deep = "{\"a\":";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  struct Case {
    std::string input;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"", "empty token"},
      {"eyJhbGciOiJSUzI1NiJ9 .x.y", "token contains whitespace, control or non-ASCII characters"},
      {std::string(kMaxTokenBytes + 1, 'a'), "token is longer than 65536 bytes"},
      {h + "." + c, "a JWT has 3 (JWS) or 5 (JWE) segments, this has 2"},
      {h + "." + c + ".a.b.c.d", "a JWT has 3 (JWS) or 5 (JWE) segments, this has 6"},
      {h + "." + c + ".a.b.c.d.e.f", "a JWT has 3 (JWS) or 5 (JWE) segments, this has more than 7"},
      {h + "." + c + ".sig.x", "a JWT has 3 (JWS) or 5 (JWE) segments, this has 4"},
      {"eyJ!bad." + c + ".AAAA", "segment 1 is not base64url"},
      {base64url_encode("{\"alg\":") + "." + c + ".AAAA", "header is not JSON"},
      {base64url_encode(R"({"typ":"JWT"})") + "." + c + ".AAAA", "header has no \"alg\" string"},
      {h + ".@@@.AAAA", "segment 2 is not base64url"},
      {h + "." + "." + "AAAA", "segment 2 is empty"},
      {h + "." + base64url_encode("not json") + ".AAAA", "claims are not JSON"},
      {h + "." + base64url_encode("[1,2]") + ".AAAA", "claims are not a JSON object"},
      {h + "." + base64url_encode(deep) + ".AAAA", "claims JSON is nested deeper than 32"},
      {h + "." + c + ".A", "segment 3 is not base64url"},
      {base64url_encode(R"({"alg":"RSA-OAEP"})") + ".a.b.c.d", "JWE header has no \"enc\""},
      {base64url_encode(R"({"alg":"RSA-OAEP","enc":"A256GCM"})") + ".AAAA.AAAA..AAAA",
       "segment 4 (ciphertext) is empty"},
      {base64url_encode(R"({"alg":"RSA-OAEP","enc":"A256GCM"})") + ".AAAA.A.AAAA.AAAA", "segment 3 is not base64url"},
  };
  for (const auto& tc : cases) {
    INFO("input: " << tc.input.substr(0, 80));
    auto r = decode_token(tc.input);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == tc.reason);
  }
}

TEST_CASE("JWE is recognised, opaque tokens are fingerprinted", "[unit][tokens]") {
  std::string jwe = base64url_encode(R"({"alg":"RSA-OAEP","enc":"A256GCM","kid":"enc1"})") +
                    ".AAAA.BBBB.CCCC.DDDD";
  auto d = decode_token(jwe);
  REQUIRE(d.ok());
  CHECK(d->format == TokenFormat::kJwe);
  CHECK(d->header["enc"] == "A256GCM");
  CHECK(d->claims.empty());

  // Entra refresh tokens and codes are opaque and may contain dots.
  std::string rt = "0.AXoAv4j5cvGGr0GRqy180BHbR7d1t0Q8xKVOuPBwEXAMPLEAAA.AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs_wUA9P";
  auto o = decode_token(rt);
  REQUIRE(o.ok());
  CHECK(o->format == TokenFormat::kOpaque);
  CHECK(o->fingerprint == sha256_hex(rt).substr(0, 16));
  CHECK_FALSE(o->redacted);
  auto m = decode_token("authscope-redacted:sha256=00112233aabbccdd");
  REQUIRE(m.ok());
  CHECK(m->redacted);
  CHECK(m->fingerprint == "00112233aabbccdd");
  CHECK(looks_like_jwt(kA2Token));
  CHECK_FALSE(looks_like_jwt(rt));
}

TEST_CASE("interpret: Entra v1 user token and v2 app token", "[unit][tokens]") {
  SigningKey key("RS256", "k");
  const KnownApps& apps = builtin_known_apps();
  REQUIRE_FALSE(apps.clients.empty());

  auto v1 = decode_token(key.mint(arm_user_claims_v1()));
  REQUIRE(v1.ok());
  TokenInfo a = interpret(*v1, apps);
  CHECK(a.version == "v1");
  CHECK(a.tenant == kTenant);
  CHECK(a.subject == "b0b1c2d3-0000-4000-8000-000000000001");
  CHECK(a.user == "ada@contoso.example");
  CHECK(a.client_id == kAzureCli);
  CHECK(a.client_name == "Microsoft Azure CLI");
  CHECK(a.audience == "https://management.core.windows.net/");
  CHECK(a.resource_app_id == kArmAppId);
  CHECK(a.audience_name.find("Azure Resource Manager") != std::string::npos);
  CHECK(a.scopes == std::vector<std::string>{"user_impersonation"});
  CHECK(a.wids.size() == 1);
  CHECK(a.amr == std::vector<std::string>{"pwd", "mfa"});
  CHECK(a.acr == "1");
  CHECK(a.idtyp == "user");
  CHECK_FALSE(a.idtyp_inferred);
  CHECK(a.exp == kIat + 4493);
  CHECK(a.token_use == "access_token");
  CHECK(a.appidacr == "0");

  auto claims = graph_app_claims_v2();
  auto v2 = decode_token(key.mint(claims, {{"nonce", "abc"}}));
  REQUIRE(v2.ok());
  TokenInfo b = interpret(*v2, apps);
  CHECK(b.version == "v2");
  CHECK(b.client_id == "11111111-2222-4333-8444-555555555555");
  CHECK(b.client_name.empty());
  CHECK(b.audience_name == "Microsoft Graph");
  CHECK(b.roles.size() == 2);
  CHECK(b.scopes.empty());
  CHECK(b.idtyp == "app");
  CHECK(b.idtyp_inferred);
  CHECK(b.header_nonce);

  // An ID token: aud is the client, nonce echoed, no scp/roles; tenant from the issuer.
  nlohmann::json id = {{"aud", kAzureCli},
                       {"iss", std::string("https://login.microsoftonline.com/") + kTenant + "/v2.0"},
                       {"nonce", "n-0S6_WzA2Mj"}, {"preferred_username", "ada@contoso.example"},
                       {"exp", kIat + 3600}, {"iat", kIat}, {"sub", "s"}};
  TokenInfo c = interpret(*decode_token(key.mint(id)), apps);
  CHECK(c.token_use == "id_token");
  CHECK(c.tenant == kTenant);
  CHECK(c.nonce == "n-0S6_WzA2Mj");
  CHECK(c.user == "ada@contoso.example");

  // Absurd times never crash and are clamped.
  TokenInfo d = interpret(*decode_token(key.mint({{"exp", 1e300}, {"iat", -99999999999999999LL}, {"nbf", "x"}})), apps);
  REQUIRE(d.exp);
  CHECK(format_time_utc(*d.exp).find("out of range") != std::string::npos);
  CHECK_FALSE(d.nbf);
}

TEST_CASE("time rendering is safe and readable", "[unit][tokens]") {
  CHECK(format_time_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(format_time_utc(kIat) == "2024-06-01T10:00:00Z");
  CHECK(format_time_utc(951782400) == "2000-02-29T00:00:00Z");
  CHECK(format_time_utc(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_time_utc(253402300799LL) == "9999-12-31T23:59:59Z");
  CHECK(format_time_utc(253402300800LL) == "253402300800 (out of range)");
  CHECK(format_time_utc(-62135596801LL) == "-62135596801 (out of range)");
  CHECK(format_time_utc(INT64_MIN) == std::to_string(INT64_MIN) + " (out of range)");
  CHECK(format_time_utc(INT64_MAX) == std::to_string(INT64_MAX) + " (out of range)");
  CHECK(expiry_phrase(kIat + 59 * 60, kIat, true) == "expires in 59 min");
  CHECK(expiry_phrase(kIat - 3 * 3600, kIat, false) == "expired 3 h before the request");
  CHECK(expiry_phrase(kIat + 4493, kIat, false) == "expires 74 min after the request");
  CHECK(expiry_phrase(kIat - 30, kIat, true) == "expired 30 s ago");
  CHECK(expiry_phrase(kIat, kIat, true) == "expired now");
  CHECK(format_duration(3 * 86400 + 5 * 3600) == "3 d 5 h");
  CHECK(format_duration(-(int64_t{1} << 62)).find(" d") != std::string::npos);
}
