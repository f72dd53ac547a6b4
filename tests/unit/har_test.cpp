// HAR 1.2 export/import: round-trips, browser-shaped fixtures, malformed input, the codecs.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <streambuf>

#include "storage/flow_store.h"
#include "storage/har.h"
#include "storage/har_codec.h"
#include "storage_test_support.h"

using namespace authscope;
using authscope::testing::make_rich_flow;
using authscope::testing::make_simple_flow;
using authscope::testing::same_body;
using authscope::testing::same_headers;
using authscope::testing::TempDir;

namespace {

std::unique_ptr<FlowStore> open_store(const std::string& path) {
  auto store = open_sqlite_store(path);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

std::string fixture(const std::string& name) { return std::string(AUTHSCOPE_SOURCE_DIR) + "/tests/fixtures/har/" + name; }

std::vector<Flow> all_flows(FlowStore& store) {
  std::vector<Flow> out;
  REQUIRE(store.for_each([&](const Flow& f) {
    out.push_back(f);
    return true;
  }).ok());
  return out;
}

// A stream that cannot seek, like stdin or a pipe.
class PipeBuf : public std::streambuf {
 public:
  explicit PipeBuf(std::string data) : data_(std::move(data)) { setg(data_.data(), data_.data(), data_.data() + data_.size()); }

 private:
  std::string data_;
};

Flow gzip_flow() {
  Flow f = make_simple_flow("login.microsoftonline.com", "/common/oauth2/v2.0/token", 200);
  f.response->headers.add("Content-Encoding", "gzip");
  auto gz = har::compress(R"({"access_token":"eyJ0.eyJ0.sig","token_type":"Bearer"})", har::Coding::kGzip);
  REQUIRE(gz);
  f.response->body.data = *gz;
  f.response->body.wire_size = gz->size();
  return f;
}

}  // namespace

TEST_CASE("HAR export then import gives back the same flows", "[unit][har]") {
  TempDir dir;
  auto source = open_store(dir.file("a.db"));
  std::vector<Flow> flows;
  flows.push_back(make_rich_flow());  // binary truncated response, repeated headers, TLS, error
  Flow absent_bodies = make_simple_flow("management.azure.com", "/subscriptions/1?api-version=2022-12-01", 204);
  absent_bodies.response->body = Body{};
  flows.push_back(absent_bodies);
  Flow empty_bodies = make_simple_flow("management.azure.com", "/x", 200);
  empty_bodies.request.method = "PUT";
  empty_bodies.request.body.data = std::string();
  empty_bodies.response->body = Body{std::string(), false, 0};
  flows.push_back(empty_bodies);
  Flow failed = make_simple_flow("graph.microsoft.com", "/v1.0/me", 0);
  failed.error = "upstream-connect-failed";
  flows.push_back(failed);
  Flow tunnel;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.scheme = "tunnel";
  tunnel.host = "example.org";
  tunnel.port = 443;
  tunnel.request.method = "CONNECT";
  tunnel.request.target = "example.org:443";
  tunnel.request.version = "HTTP/1.1";
  tunnel.times = {1764140000000000, 1764140000000010, 0, 1764140003000000};
  tunnel.bytes_from_client = 517;
  tunnel.bytes_from_upstream = 5000;
  flows.push_back(tunnel);
  Flow plain_http = make_simple_flow("login.microsoftonline.com", "http://login.microsoftonline.com/x?y=1", 200);
  plain_http.scheme = "http";
  plain_http.port = 80;
  flows.push_back(plain_http);
  for (Flow& f : flows) {
    f.id = source->enqueue(f);
  }
  source->enqueue(gzip_flow());
  REQUIRE(source->flush().ok());

  std::stringstream har;
  REQUIRE(export_har(*source, har).ok());

  // The document is HAR 1.2 with the fields viewers require.
  auto doc = nlohmann::json::parse(har.str());
  CHECK(doc["log"]["version"] == "1.2");
  CHECK(doc["log"]["creator"]["name"] == "authscope");
  REQUIRE(doc["log"]["entries"].size() == flows.size() + 1);
  for (const auto& e : doc["log"]["entries"]) {
    for (const char* key : {"startedDateTime", "time", "request", "response", "cache", "timings"}) {
      CHECK(e.contains(key));
    }
    for (const char* key : {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"}) {
      CHECK(e["request"].contains(key));
    }
    for (const char* key : {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL"}) {
      CHECK(e["response"].contains(key));
    }
    for (const char* key : {"send", "wait", "receive"}) CHECK(e["timings"][key].get<double>() >= 0);
  }
  const auto& rich = doc["log"]["entries"][0];
  CHECK(rich["request"]["url"] == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token?x=1&y=%20");
  CHECK(rich["request"]["queryString"][1] == nlohmann::json({{"name", "y"}, {"value", " "}}));
  CHECK(rich["request"]["postData"]["mimeType"] == "application/x-www-form-urlencoded");
  CHECK(rich["response"]["content"]["encoding"] == "base64");
  CHECK(rich["startedDateTime"] == "2025-11-26T06:53:20.000Z");
  CHECK(rich["time"].get<double>() == Approx(9.998));
  const auto& gz = doc["log"]["entries"][flows.size()];
  CHECK(gz["response"]["content"]["text"] == R"({"access_token":"eyJ0.eyJ0.sig","token_type":"Bearer"})");

  // Import into an empty store: same ids, same flows.
  auto target = open_store(dir.file("b.db"));
  auto imported = import_har(har, *target);
  INFO(imported.status().ToString());
  REQUIRE(imported.ok());
  CHECK(*imported == flows.size() + 1);
  std::vector<Flow> back = all_flows(*target);
  REQUIRE(back.size() == flows.size() + 1);
  for (size_t i = 0; i < flows.size(); ++i) {
    const Flow& a = flows[i];
    const Flow& b = back[i];
    INFO("flow " << a.id);
    CHECK(a.id == b.id);
    CHECK(a.kind == b.kind);
    CHECK(a.client_addr == b.client_addr);
    CHECK(a.connection_id == b.connection_id);
    CHECK(a.scheme == b.scheme);
    CHECK(a.host == b.host);
    CHECK(a.port == b.port);
    CHECK(a.times.start_us == b.times.start_us);
    CHECK(a.times.request_end_us == b.times.request_end_us);
    CHECK(a.times.response_start_us == b.times.response_start_us);
    CHECK(a.times.end_us == b.times.end_us);
    CHECK(a.tls.has_value() == b.tls.has_value());
    if (a.tls && b.tls) CHECK(a.tls->upstream_cert_issuer == b.tls->upstream_cert_issuer);
    CHECK(a.request.method == b.request.method);
    CHECK(a.request.target == b.request.target);
    CHECK(a.request.version == b.request.version);
    CHECK(same_headers(a.request.headers, b.request.headers));
    CHECK(same_body(a.request.body, b.request.body));
    REQUIRE(a.response.has_value() == b.response.has_value());
    if (a.response) {
      CHECK(a.response->status == b.response->status);
      CHECK(a.response->reason == b.response->reason);
      CHECK(same_headers(a.response->headers, b.response->headers));
      CHECK(same_body(a.response->body, b.response->body));
    }
    CHECK(a.error == b.error);
    CHECK(a.bytes_from_client == b.bytes_from_client);
    CHECK(a.bytes_from_upstream == b.bytes_from_upstream);
  }
  // The gzip body comes back compressed again (bytes may differ; the content may not).
  const Flow& gz_back = back.back();
  REQUIRE(gz_back.response->body.data);
  auto decoded = har::decompress(*gz_back.response->body.data, har::Coding::kGzip, 1 << 20);
  REQUIRE(decoded);
  CHECK(*decoded == R"({"access_token":"eyJ0.eyJ0.sig","token_type":"Bearer"})");
  CHECK(*gz_back.response->headers.find("content-encoding") == "gzip");

  // Into a store that already has flows: new ids after the existing ones.
  har.clear();
  har.seekg(0);
  auto again = import_har(har, *target);
  REQUIRE(again.ok());
  auto ids = target->list();
  REQUIRE(ids->size() == 2 * (flows.size() + 1));
  CHECK(ids->back().id == ids->at(flows.size()).id + static_cast<int64_t>(flows.size() + 1));
  CHECK(ids->at(flows.size() + 1).id > ids->at(flows.size()).id);
}

TEST_CASE("HAR export of an empty store is a valid empty log", "[unit][har]") {
  TempDir dir;
  auto store = open_store(dir.file("a.db"));
  std::stringstream har;
  REQUIRE(export_har(*store, har).ok());
  auto doc = nlohmann::json::parse(har.str());
  CHECK(doc["log"]["entries"].empty());
  auto other = open_store(dir.file("b.db"));
  auto n = import_har(har, *other);
  REQUIRE(n.ok());
  CHECK(*n == 0);
}

TEST_CASE("a Chrome DevTools HAR imports as flows the analyzers can read", "[unit][har]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  auto n = import_har_file(fixture("chrome-entra-signin.har"), *store);
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  REQUIRE(*n == 5);
  std::vector<Flow> flows = all_flows(*store);
  REQUIRE(flows.size() == 5);

  const Flow& authorize = flows[0];
  CHECK(authorize.id == 1);
  CHECK(authorize.kind == FlowKind::kHttp);
  CHECK(authorize.scheme == "https");
  CHECK(authorize.host == "login.microsoftonline.com");
  CHECK(authorize.port == 443);
  CHECK(authorize.request.method == "GET");
  CHECK(authorize.request.version == "http/2.0");
  // Origin-form target, fragment dropped.
  CHECK(authorize.request.target.rfind("/common/oauth2/v2.0/authorize?client_id=04b07795", 0) == 0);
  CHECK(authorize.request.target.find("code_challenge_method=S256") != std::string::npos);
  CHECK(authorize.request.target.find('#') == std::string::npos);
  // Pseudo-headers are gone; :authority became Host, first.
  CHECK(authorize.request.headers.fields().at(0).name == "Host");
  CHECK(authorize.request.headers.fields().at(0).value == "login.microsoftonline.com");
  for (const auto& h : authorize.request.headers.fields()) CHECK(h.name[0] != ':');
  CHECK(*authorize.request.headers.find("cookie") == "esctx=abc; x-ms-gateway-slice=estsfd");
  CHECK_FALSE(authorize.request.body.present());
  REQUIRE(authorize.response);
  CHECK(authorize.response->status == 302);
  CHECK(authorize.response->headers.find("location")->find("code=0.AXoAcode") != std::string::npos);
  CHECK_FALSE(authorize.response->body.present());
  CHECK(authorize.times.start_us == 1795683600123000);
  CHECK(authorize.times.request_end_us == 1795683600123000 + 3300);   // blocked + send
  CHECK(authorize.times.response_start_us == authorize.times.request_end_us + 180000);
  CHECK(authorize.times.end_us == authorize.times.response_start_us + 900);
  CHECK(authorize.connection_id == 334810);
  CHECK_FALSE(authorize.tls.has_value());
  CHECK_FALSE(authorize.error.has_value());

  const Flow& token = flows[1];
  CHECK(token.request.method == "POST");
  CHECK(token.request.target == "/organizations/oauth2/v2.0/token");
  REQUIRE(token.request.body.present());
  CHECK(token.request.body.data->find("code_verifier=dBjftJeZ4CVP") != std::string::npos);
  CHECK(token.times.start_us == 1795683601500000);  // "+01:00" offset honoured
  // Chrome exported the gzip body decoded; the flow keeps wire bytes, so it is gzip again.
  REQUIRE(token.response->body.present());
  auto json_text = har::decompress(*token.response->body.data, har::Coding::kGzip, 1 << 20);
  REQUIRE(json_text);
  CHECK(nlohmann::json::parse(*json_text)["refresh_token"] == "0.AXoA-refresh");

  const Flow& arm = flows[2];
  CHECK(arm.host == "management.azure.com");
  CHECK(arm.request.target == "/subscriptions?api-version=2022-12-01");
  CHECK(arm.request.headers.find("Authorization")->rfind("Bearer eyJ0eXAi", 0) == 0);
  CHECK(arm.request.headers.has("x-ms-authorization-auxiliary"));
  CHECK(arm.response->body.data == std::string("{\"value\":[]}"));
  CHECK(arm.response->reason == "OK");
  CHECK(arm.bytes_from_client == 812);
  CHECK(arm.bytes_from_upstream == 242);

  const Flow& image = flows[3];
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\xff\0\xfe", 19);
  CHECK(image.response->body.data == png);
  CHECK(image.host == "aadcdn.msftauth.net");

  const Flow& failed = flows[4];
  CHECK(failed.port == 8443);
  CHECK_FALSE(failed.response.has_value());
  CHECK(failed.error == std::optional<std::string>("net::ERR_CONNECTION_REFUSED"));
  CHECK(failed.request.version == "HTTP/1.1");
}

TEST_CASE("Firefox and Fiddler HARs import", "[unit][har]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  REQUIRE(*import_har_file(fixture("firefox-ropc.har"), *store) == 1);
  auto ropc = store->load(1);
  REQUIRE(ropc->has_value());
  // postData.params only: the urlencoded body is rebuilt.
  CHECK((*ropc)->request.body.data == std::string("grant_type=password&username=a+b%40contoso.com&password=p%26ss%3D1"));
  CHECK((*ropc)->request.body.wire_size == 43);
  CHECK((*ropc)->response->status == 400);
  CHECK((*ropc)->response->body.data == std::string("{\"error\":\"invalid_grant\"}\n\n\n"));
  CHECK((*ropc)->connection_id == 443);

  REQUIRE(*import_har_file(fixture("fiddler-tunnel.har"), *store) == 2);
  auto tunnel = store->load(2);
  REQUIRE(tunnel->has_value());
  CHECK((*tunnel)->kind == FlowKind::kTunnel);
  CHECK((*tunnel)->host == "example.org");
  CHECK((*tunnel)->port == 443);
  CHECK((*tunnel)->request.target == "example.org:443");
  CHECK((*tunnel)->times.start_us == 1795684200123456);  // 7 fraction digits, µs kept
  CHECK((*tunnel)->times.end_us == 1795684200123456 + 300000);
  auto discovery = store->load(3);
  REQUIRE(discovery->has_value());
  CHECK((*discovery)->scheme == "http");
  CHECK((*discovery)->port == 80);
  // Plain http through a proxy is absolute-form.
  CHECK((*discovery)->request.target == "http://login.windows.net/common/discovery/instance?api-version=1.1");
  // A br body came decoded; the header no longer claims an encoding the bytes lack.
  CHECK((*discovery)->response->body.data == std::string("{}"));
  CHECK_FALSE((*discovery)->response->headers.has("Content-Encoding"));
  CHECK(*(*discovery)->response->headers.find("X-Authscope-Decoded-Content-Encoding") == "br");
}

TEST_CASE("import from a stream that cannot seek (stdin, a pipe)", "[unit][har]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  std::ifstream file(fixture("chrome-entra-signin.har"));
  std::stringstream text;
  text << file.rdbuf();
  PipeBuf buf(text.str());
  std::istream pipe(&buf);
  REQUIRE(pipe.tellg() == std::streampos(-1));
  auto n = import_har(pipe, *store);
  INFO(n.status().ToString());
  REQUIRE(n.ok());
  CHECK(*n == 5);
  CHECK(*store->count() == 5);
}

TEST_CASE("input that is not HAR gives a one-line error and imports nothing", "[unit][har]") {
  const std::string good_entry =
      R"({"startedDateTime":"2026-11-26T09:00:00Z","request":{"method":"GET","url":"https://a.example/"},)"
      R"("response":{"status":200,"content":{"text":"x"}}})";
  struct Case {
    std::string input;
    std::string error;
  };
  std::string deep(200, '[');
  const std::vector<Case> cases = {
      {"", "not a HAR file: the input is empty"},
      {"hello", "not a HAR file: invalid JSON: parse error at line 1, column 1: syntax error while parsing value"},
      {"[1,2]", "not a HAR file: the top-level JSON value is an array, expected an object with \"log\""},
      {"\"log\"", "not a HAR file: the top-level JSON value is a string, expected an object with \"log\""},
      {"{}", "not a HAR file: no \"log\" object at the top level"},
      {R"({"log":5})", "not a HAR file: \"log\" is a number, expected an object"},
      {R"({"log":[]})", "not a HAR file: \"log\" is an array, expected an object"},
      {R"({"log":{"version":"1.2"}})", "not a HAR file: log.entries is missing"},
      {R"({"log":{"entries":{}}})", "not a HAR file: log.entries is an object, expected an array"},
      {R"({"log":{"entries":"x"}})", "not a HAR file: log.entries is a string, expected an array"},
      {R"({"log":{"entries":[5]}})", "not a HAR file: log.entries[0] is a number, expected an object"},
      {R"({"log":{"entries":[[]]}})", "not a HAR file: log.entries[0] is an array, expected an object"},
      {R"({"log":{"entries":[{}]}})", "log.entries[0].request is missing"},
      {R"({"log":{"entries":[{"request":{"method":"GET"}}]}})", "log.entries[0].request.url is missing"},
      {R"({"log":{"entries":[{"request":{"url":"https://a/"}}]}})", "log.entries[0].request.method is missing"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"/relative"}}]}})",
       "log.entries[0].request.url \"/relative\" is not an absolute http(s) URL"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a:99999/"}}]}})",
       "log.entries[0].request.url \"https://a:99999/\" is not an absolute http(s) URL"},
      {R"({"log":{"entries":[{"request":{"method":7,"url":"https://a/"}}]}})",
       "log.entries[0].request.method is a number, expected a string"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/","headers":{}}}]}})",
       "log.entries[0].request.headers is an object, expected an array"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/","headers":[{"name":"A","value":1}]}}]}})",
       "log.entries[0].request.headers[0].value is a number, expected a string"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/","headers":[{"value":"v"}]}}]}})",
       "log.entries[0].request.headers[0].name is missing"},
      {R"({"log":{"entries":[{"startedDateTime":"yesterday","request":{"method":"GET","url":"https://a/"}}]}})",
       "log.entries[0].startedDateTime \"yesterday\" is not an ISO 8601 date-time"},
      {R"({"log":{"entries":[{"request":{"method":"POST","url":"https://a/","postData":{"text":"!!","_encoding":"base64"}}}]}})",
       "log.entries[0].request.postData: text is marked base64 but is not valid base64"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/"},"response":{"status":"200"}}]}})",
       "log.entries[0].response.status is a string, expected a number"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/"},"response":{"status":200,"content":{"text":"%","encoding":"base64"}}}]}})",
       "log.entries[0].response.content: text is marked base64 but is not valid base64"},
      // A good entry first: still nothing is imported.
      {R"({"log":{"entries":[)" + good_entry + R"(,{"request":{"method":"GET","url":"nope"}}]}})",
       "log.entries[1].request.url \"nope\" is not an absolute http(s) URL"},
      {R"({"log":{"entries":[)" + good_entry + "," + good_entry, "not a HAR file: invalid JSON: parse error at line 1"},
      {R"({"log":{"entries":[{"request":{"method":"GET","url":"https://a/","x":)" + deep + "}]}}",
       "not a HAR file: JSON nested deeper than 64 levels"},
  };
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  for (const Case& c : cases) {
    INFO("input: " << c.input.substr(0, 120));
    std::istringstream in(c.input);
    auto result = import_har(in, *store);
    REQUIRE_FALSE(result.ok());
    const std::string& message = result.status().message();
    INFO("error: " << message);
    CHECK(message.rfind(c.error, 0) == 0);  // starts with the expected text
    CHECK(message.find('\n') == std::string::npos);
    CHECK(*store->count() == 0);
  }
}

TEST_CASE("HAR codecs: base64, UTF-8, ISO 8601, URLs", "[unit][har]") {
  CHECK(har::base64_encode(std::string("\0\xff\x10", 3)) == "AP8Q");
  CHECK(har::base64_decode("AP8Q") == std::string("\0\xff\x10", 3));
  CHECK(har::base64_decode("aGk=") == std::string("hi"));
  CHECK(har::base64_decode("aGk") == std::string("hi"));  // padding optional
  CHECK(har::base64_decode("aG\nk=") == std::string("hi"));
  CHECK_FALSE(har::base64_decode("a"));
  CHECK_FALSE(har::base64_decode("aGk=x"));
  CHECK_FALSE(har::base64_decode("a*b="));
  for (int n = 0; n < 40; ++n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>(i * 37);
    CHECK(har::base64_decode(har::base64_encode(s)) == s);
  }
  CHECK(har::is_valid_utf8("plain ascii"));
  CHECK(har::is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(har::is_valid_utf8("\xff"));
  CHECK_FALSE(har::is_valid_utf8("\xc3"));          // cut off
  CHECK_FALSE(har::is_valid_utf8("\xc0\xaf"));      // overlong
  CHECK_FALSE(har::is_valid_utf8("\xed\xa0\x80"));  // surrogate
  CHECK(har::iso8601_from_us(0) == "1970-01-01T00:00:00.000Z");
  CHECK(har::iso8601_from_us(1795683600123456) == "2026-11-26T09:00:00.123Z");
  CHECK(har::us_from_iso8601("2026-11-26T09:00:00.123Z") == 1795683600123000);
  CHECK(har::us_from_iso8601("2026-11-26T10:00:00.123+01:00") == 1795683600123000);
  CHECK(har::us_from_iso8601("2026-11-26T04:30:00.123-0430") == 1795683600123000);
  CHECK(har::us_from_iso8601("2026-11-26T09:00:00Z") == 1795683600000000);
  CHECK_FALSE(har::us_from_iso8601("2026-11-26T09:00:00"));  // no offset: ambiguous
  CHECK_FALSE(har::us_from_iso8601("2026-13-26T09:00:00Z"));
  CHECK_FALSE(har::us_from_iso8601("2026-11-26T09:00:00.Z"));
  auto url = har::parse_url("https://user:pw@[2001:db8::1]:8443/a/b?c=d#frag");
  REQUIRE(url);
  CHECK(url->scheme == "https");
  CHECK(url->host == "2001:db8::1");
  CHECK(url->port == 8443);
  CHECK(url->authority == "[2001:db8::1]:8443");
  CHECK(url->path_and_query == "/a/b?c=d");
  auto bare = har::parse_url("HTTPS://login.microsoftonline.com?x=1");
  REQUIRE(bare);
  CHECK(bare->scheme == "https");
  CHECK(bare->port == 443);
  CHECK(bare->path_and_query == "/?x=1");
  CHECK_FALSE(har::parse_url("login.microsoftonline.com/x"));
  CHECK_FALSE(har::parse_url("https:///x"));
  CHECK_FALSE(har::parse_url("https://a:0/"));
  CHECK(har::form_encode("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9");
}
