#include <catch2/catch.hpp>

#include "model/finding.h"
#include "model/flow.h"
#include "model/status.h"

using namespace authscope;

TEST_CASE("headers keep order and case, look up ignoring case", "[unit][model]") {
  Headers h;
  h.add("Content-Type", "a");
  h.add("X-Ms-Thing", "1");
  h.add("x-ms-thing", "2");
  REQUIRE(h.find("content-type") != nullptr);
  CHECK(*h.find("CONTENT-TYPE") == "a");
  CHECK(h.all("X-MS-THING") == std::vector<std::string>{"1", "2"});
  CHECK(h.fields()[2].name == "x-ms-thing");
  CHECK(h.count("x-ms-thing") == 2);
  h.set("X-MS-THING", "3");
  CHECK(h.count("x-ms-thing") == 1);
  CHECK(h.fields()[1].value == "3");
  CHECK(h.remove("content-type") == 1);
  CHECK_FALSE(h.has("content-type"));
}

TEST_CASE("flow url completes origin-form targets", "[unit][model]") {
  Flow f;
  f.scheme = "https";
  f.host = "login.microsoftonline.com";
  f.port = 443;
  f.request.target = "/common/oauth2/v2.0/token?x=1";
  CHECK(f.url() == "https://login.microsoftonline.com/common/oauth2/v2.0/token?x=1");
  f.port = 8443;
  CHECK(f.url() == "https://login.microsoftonline.com:8443/common/oauth2/v2.0/token?x=1");
  f.request.target = "http://example.test/a/b?c";
  CHECK(f.path_and_query() == "/a/b?c");
  f.request.target = "http://example.test?q";
  CHECK(f.path_and_query() == "/?q");
}

TEST_CASE("body absent is not body empty", "[unit][model]") {
  Body absent;
  Body empty;
  empty.data = "";
  CHECK_FALSE(absent.present());
  CHECK(empty.present());
}

TEST_CASE("findings round-trip through JSON and sort by rule then flow", "[unit][model]") {
  Finding a{"pkce-missing", Severity::kHigh, "t", "m", {5, 7}, {{"client_id", "x"}}};
  Finding b{"pkce-missing", Severity::kHigh, "t", "m", {3}, {}};
  Finding c{"aux-header-missing", Severity::kHigh, "t", "m", {9}, {}};
  CHECK(finding_less(c, a));
  CHECK(finding_less(b, a));
  auto j = to_json(a);
  CHECK(j.dump() ==
        R"({"rule":"pkce-missing","severity":"high","title":"t","message":"m","flows":[5,7],"evidence":{"client_id":"x"}})");
  auto back = finding_from_json(j);
  REQUIRE(back);
  CHECK(back->flows == a.flows);
  CHECK(back->severity == Severity::kHigh);
  j["severity"] = "severe";
  CHECK_FALSE(finding_from_json(j));
}

TEST_CASE("status carries a readable message", "[unit][model]") {
  CHECK(Status::Ok().ok());
  auto s = Status::Parse("segment 2 is not base64url");
  CHECK_FALSE(s.ok());
  CHECK(s.ToString() == "parse error: segment 2 is not base64url");
  Result<int> r = Status::Io("disk full");
  CHECK_FALSE(r.ok());
  Result<int> v = 4;
  CHECK(*v == 4);
}
