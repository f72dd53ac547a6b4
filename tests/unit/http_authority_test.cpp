// CONNECT authority, absolute-form URIs, target forms and --intercept globs.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proxy/http/authority.h"
#include "proxy/http/host_glob.h"

using namespace authscope;
using namespace authscope::http;

TEST_CASE("CONNECT authority: accepted forms", "[unit][http]") {
  struct Ok {
    const char* in;
    const char* host;
    uint16_t port;
    bool v6;
    const char* text;
  };
  const std::vector<Ok> cases = {
      {"login.microsoftonline.com:443", "login.microsoftonline.com", 443, false, "login.microsoftonline.com:443"},
      {"LOGIN.Microsoft.com:443", "login.microsoft.com", 443, false, "login.microsoft.com:443"},
      {"example.com.:8443", "example.com", 8443, false, "example.com:8443"},
      {"127.0.0.1:1", "127.0.0.1", 1, false, "127.0.0.1:1"},
      {"[::1]:65535", "::1", 65535, true, "[::1]:65535"},
      {"[2001:DB8::1]:443", "2001:db8::1", 443, true, "[2001:db8::1]:443"},
      {"_srv.example:443", "_srv.example", 443, false, "_srv.example:443"},
      {"a-b.c:080", "a-b.c", 80, false, "a-b.c:80"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = parse_connect_authority(c.in);
    REQUIRE(r.ok());
    CHECK(r->host == c.host);
    CHECK(r->port == c.port);
    CHECK(r->ipv6 == c.v6);
    CHECK(r->to_string() == c.text);
  }
}

TEST_CASE("CONNECT authority: refused forms, with reasons", "[unit][http]") {
  const std::vector<std::pair<std::string, const char*>> cases = {
      {"", "empty"},
      {"example.com", "missing port"},
      {"example.com:", "missing port"},
      {"example.com:0", "out of range"},
      {"example.com:65536", "out of range"},
      {"example.com:999999", "out of range"},
      {"example.com:-1", "not a number"},
      {"example.com:44a", "not a number"},
      {"example.com: 443", "not a number"},
      {"user@example.com:443", "userinfo"},
      {"user:pw@example.com:443", "userinfo"},
      {"example.com:443/path", "without a path"},
      {"example.com:443?q", "without a path"},
      {":443", "empty host"},
      {"::1:443", "brackets"},
      {"[::1]", "missing port"},
      {"[::1:443", "unterminated"},
      {"[::1]x:443", "junk"},
      {"[zz::1]:443", "invalid IPv6"},
      {"[fe80::1%eth0]:443", "invalid IPv6"},
      {std::string("[2001:db8::\0\0001]:8443", 20), "invalid IPv6"},  // found by the fuzzer
      {std::string("[::1\0]:443", 11), "invalid IPv6"},
      {"exa mple.com:443", "invalid host"},
      {"*.example.com:443", "invalid host"},
      {std::string("exa\0mple.com:443", 16), "invalid host"},
      {"exa\r\nmple.com:443", "invalid host"},
      {"a..b:443", "invalid host"},
      {"-a.b:443", "invalid host"},
      {std::string(64, 'a') + ".com:443", "invalid host"},
      {std::string(250, 'a') + ":443", "invalid host"},
      {"1.2.3:443", "invalid host"},
      {"256.1.1.1:443", "invalid host"},
      {"caf\xc3\xa9.com:443", "invalid host"},
  };
  for (const auto& [in, why] : cases) {
    INFO(in);
    auto r = parse_connect_authority(in);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kParse);
    CHECK(r.status().message().find(why) != std::string::npos);
  }
}

TEST_CASE("absolute-form URIs", "[unit][http]") {
  auto a = parse_absolute_uri("http://Example.COM/a/b?c=d#frag");
  REQUIRE(a.ok());
  CHECK(a->authority.host == "example.com");
  CHECK(a->authority.port == 80);
  CHECK_FALSE(a->port_explicit);
  CHECK(a->path_and_query == "/a/b?c=d");
  CHECK(a->host_header() == "example.com");
  CHECK_FALSE(a->had_userinfo);

  auto b = parse_absolute_uri("HTTP://user:secret@127.0.0.1:8080?x=1");
  REQUIRE(b.ok());
  CHECK(b->had_userinfo);
  CHECK(b->authority.port == 8080);
  CHECK(b->path_and_query == "/?x=1");
  CHECK(b->host_header() == "127.0.0.1:8080");

  auto c = parse_absolute_uri("http://[::1]:9000");
  REQUIRE(c.ok());
  CHECK(c->path_and_query == "/");
  CHECK(c->host_header() == "[::1]:9000");

  auto d = parse_absolute_uri("http://a.example:/x");
  REQUIRE(d.ok());
  CHECK(d->authority.port == 80);

  for (const char* bad : {"https://login.microsoftonline.com/", "ftp://a/", "ws://a/", "http:///x", "http://",
                          "http://a:0/", "http://a:70000/", "http://a b/", "/relative", "http://a/\x01"}) {
    INFO(bad);
    CHECK_FALSE(parse_absolute_uri(bad).ok());
  }
  auto https = parse_absolute_uri("https://x/");
  CHECK(https.status().message().find("not proxied") != std::string::npos);
}

TEST_CASE("Host field values", "[unit][http]") {
  auto a = parse_host_header("Login.Example:8443", 80);
  REQUIRE(a.ok());
  CHECK(a->host == "login.example");
  CHECK(a->port == 8443);
  auto d = parse_host_header("a.example", 443);
  REQUIRE(d.ok());
  CHECK(d->port == 443);
  CHECK(parse_host_header("[::1]", 80).ok());
  for (const char* bad : {"", "a@b", "a/b", "a b", "a:0", "a:x", "::1", "a,b", "*.a"}) {
    INFO(bad);
    CHECK_FALSE(parse_host_header(bad, 80).ok());
  }
}

TEST_CASE("request-target forms", "[unit][http]") {
  CHECK(classify_target("GET", "/x") == TargetForm::kOrigin);
  CHECK(classify_target("GET", "http://a/x") == TargetForm::kAbsolute);
  CHECK(classify_target("GET", "https://a/x") == TargetForm::kAbsolute);
  CHECK(classify_target("CONNECT", "a:443") == TargetForm::kAuthority);
  CHECK(classify_target("CONNECT", "/x") == TargetForm::kInvalid);
  CHECK(classify_target("OPTIONS", "*") == TargetForm::kAsterisk);
  CHECK(classify_target("GET", "*") == TargetForm::kInvalid);
  CHECK(classify_target("GET", "a:443") == TargetForm::kInvalid);
  CHECK(classify_target("GET", "1http://a/") == TargetForm::kInvalid);
  CHECK(classify_target("GET", "") == TargetForm::kInvalid);
}

TEST_CASE("intercept globs", "[unit][http]") {
  struct G {
    const char* glob;
    const char* host;
    bool match;
  };
  const std::vector<G> cases = {
      {"login.microsoftonline.com", "login.microsoftonline.com", true},
      {"login.microsoftonline.com", "LOGIN.MicrosoftOnline.com", true},
      {"login.microsoftonline.com.", "login.microsoftonline.com", true},
      {"login.microsoftonline.com", "login.microsoftonline.com.", true},
      {"login.microsoftonline.com", "evil-login.microsoftonline.com", false},
      {"login.microsoftonline.com", "login.microsoftonline.com.evil", false},
      {"*.microsoft.com", "graph.microsoft.com", true},
      {"*.microsoft.com", "a.b.microsoft.com", true},
      {"*.microsoft.com", "microsoft.com", false},
      {"*.microsoft.com", "evilmicrosoft.com", false},
      {"*.Microsoft.COM", "x.microsoft.com", true},
      {"*", "anything.example", true},
      {"*", "127.0.0.1", true},
      {"login.*", "login.windows.net", true},
      {"*login*", "xloginy", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"", "a", false},
      {"a", "", false},
      {"?", "a", false},
  };
  for (const auto& c : cases) {
    INFO(c.glob << " vs " << c.host);
    CHECK(host_matches_glob(c.glob, c.host) == c.match);
  }
  InterceptMatcher m({"login.microsoftonline.com", "*.AZURE.com."});
  CHECK(m.matches("management.azure.com"));
  CHECK(m.matches("login.microsoftonline.com"));
  CHECK_FALSE(m.matches("example.com"));
  CHECK(m.globs()[1] == "*.azure.com");
  CHECK_FALSE(InterceptMatcher().matches("a"));
  // Found by the fuzzer: only one trailing dot is normalised, by the matcher as by the function.
  CHECK(host_matches_glob("*..", ".x.") == InterceptMatcher({"*.."}).matches(".x."));
  CHECK_FALSE(InterceptMatcher({"*.."}).matches("x"));
  // Pathological globs stay fast (bounded by host length).
  CHECK_FALSE(host_matches_glob("*a*a*a*a*a*a*a*a*a*b", std::string(253, 'a')));
}
