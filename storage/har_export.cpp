// HAR 1.2 export: one entry per flow, streamed in id order.
#include <ostream>

#include <nlohmann/json.hpp>

#include "storage/flow_rows.h"
#include "storage/har.h"
#include "storage/har_body.h"
#include "storage/har_codec.h"

#ifndef AUTHSCOPE_VERSION
#define AUTHSCOPE_VERSION "0.1.0"
#endif

namespace authscope {
namespace {

using Json = nlohmann::ordered_json;

// HAR times are milliseconds (floating point allowed); keep microsecond precision.
double ms_between(int64_t from_us, int64_t to_us) {
  if (from_us == 0 || to_us == 0 || to_us < from_us) return 0;
  return static_cast<double>(to_us - from_us) / 1000.0;
}

Json headers_json(const Headers& headers) {
  Json out = Json::array();
  for (const HeaderField& h : headers.fields()) out.push_back({{"name", h.name}, {"value", h.value}});
  return out;
}

// HAR: "Total number of bytes from the start of the HTTP request message until (and
// including) the double CRLF before the body." Computed for the HTTP/1.1 form we recorded.
int64_t head_size(const std::string& start_line, const Headers& headers) {
  int64_t n = static_cast<int64_t>(start_line.size()) + 2 + 2;
  for (const HeaderField& h : headers.fields()) n += static_cast<int64_t>(h.name.size() + h.value.size() + 4);
  return n;
}

Json query_string_json(const std::string& path_and_query) {
  Json out = Json::array();
  auto q = path_and_query.find('?');
  if (q == std::string::npos) return out;
  std::string_view rest(path_and_query);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!pair.empty()) out.push_back({{"name", har::percent_decode(name)}, {"value", har::percent_decode(value)}});
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

Json body_meta(const Body& body, bool decoded) {
  Json j = {{"present", body.present()}, {"truncated", body.truncated}, {"wire_size", body.wire_size}};
  if (decoded) j["decoded"] = true;
  return j;
}

std::string header_or(const Headers& h, const char* name, const char* fallback) {
  const std::string* v = h.find(name);
  return v ? *v : fallback;
}

Json entry_json(const Flow& f) {
  const bool tunnel = f.kind == FlowKind::kTunnel;
  Json ext = {{"id", f.id},
              {"kind", to_string(f.kind)},
              {"client_addr", f.client_addr},
              {"connection_id", f.connection_id},
              {"scheme", f.scheme},
              {"host", f.host},
              {"port", f.port},
              {"target", f.request.target},
              {"times",
               {{"start_us", f.times.start_us},
                {"request_end_us", f.times.request_end_us},
                {"response_start_us", f.times.response_start_us},
                {"end_us", f.times.end_us}}},
              {"bytes_from_client", f.bytes_from_client},
              {"bytes_from_upstream", f.bytes_from_upstream}};
  if (f.error) ext["error"] = *f.error;
  if (f.tls) ext["tls"] = tls_info_to_json(*f.tls);

  // --- request
  const std::string url = tunnel ? "http://" + (f.host.find(':') != std::string::npos ? "[" + f.host + "]" : f.host) +
                                       ":" + std::to_string(f.port)
                                 : f.url();
  const std::string version = f.request.version.empty() ? "HTTP/1.1" : f.request.version;
  Json request = {{"method", f.request.method.empty() && tunnel ? "CONNECT" : f.request.method},
                  {"url", url},
                  {"httpVersion", version},
                  {"cookies", Json::array()},
                  {"headers", headers_json(f.request.headers)},
                  {"queryString", query_string_json(f.path_and_query())},
                  {"headersSize", head_size(f.request.method + " " + f.request.target + " " + version,
                                            f.request.headers)},
                  {"bodySize", f.request.body.wire_size}};
  bool request_decoded = false;
  if (f.request.body.present()) {
    har::HarText t = har::body_to_har_text(f.request.body, f.request.headers);
    request_decoded = t.decoded;
    Json post = {{"mimeType", header_or(f.request.headers, "Content-Type", "")}, {"text", std::move(t.text)}};
    // HAR 1.2 postData has no encoding field; "_encoding" follows the spec's rule that custom
    // fields start with an underscore (import also accepts "encoding").
    if (t.base64) post["_encoding"] = "base64";
    request["postData"] = std::move(post);
  }
  ext["request_body"] = body_meta(f.request.body, request_decoded);

  // --- response (HAR requires one; a flow without a response gets status 0, as Chrome writes
  // for failed requests, and `_authscope.response_absent`)
  Json response;
  if (f.response) {
    const Response& r = *f.response;
    const std::string rversion = r.version.empty() ? "HTTP/1.1" : r.version;
    Json content = {{"size", r.body.data ? r.body.data->size() : 0},
                    {"mimeType", header_or(r.headers, "Content-Type", "x-unknown")}};
    bool decoded = false;
    if (r.body.present()) {
      har::HarText t = har::body_to_har_text(r.body, r.headers);
      decoded = t.decoded;
      if (t.decoded) {
        // HAR: content.size is the decoded length, compression the bytes saved on the wire.
        content["size"] = t.size;
        content["compression"] = static_cast<int64_t>(t.size) - static_cast<int64_t>(r.body.data->size());
      }
      content["text"] = std::move(t.text);
      if (t.base64) content["encoding"] = "base64";
    }
    response = {{"status", r.status},
                {"statusText", r.reason},
                {"httpVersion", rversion},
                {"cookies", Json::array()},
                {"headers", headers_json(r.headers)},
                {"content", std::move(content)},
                {"redirectURL", header_or(r.headers, "Location", "")},
                {"headersSize", head_size(rversion + " " + std::to_string(r.status) + " " + r.reason, r.headers)},
                {"bodySize", r.body.wire_size}};
    ext["response_body"] = body_meta(r.body, decoded);
  } else {
    response = {{"status", 0},
                {"statusText", ""},
                {"httpVersion", ""},
                {"cookies", Json::array()},
                {"headers", Json::array()},
                {"content", {{"size", 0}, {"mimeType", "x-unknown"}}},
                {"redirectURL", ""},
                {"headersSize", -1},
                {"bodySize", -1}};
    if (f.error) response["_error"] = *f.error;  // where Chrome puts net::ERR_*
    ext["response_absent"] = true;
  }

  const int64_t start = f.times.start_us;
  const int64_t request_end = f.times.request_end_us ? f.times.request_end_us : start;
  const int64_t response_start = f.times.response_start_us ? f.times.response_start_us : request_end;
  const int64_t end = f.times.end_us ? f.times.end_us : response_start;
  Json timings = {{"send", ms_between(start, request_end)},
                  {"wait", ms_between(request_end, response_start)},
                  {"receive", ms_between(response_start, end)}};
  Json entry = {{"startedDateTime", har::iso8601_from_us(start)},
                {"time", ms_between(start, end)},
                {"request", std::move(request)},
                {"response", std::move(response)},
                {"cache", Json::object()},
                {"timings", std::move(timings)}};
  if (f.connection_id != 0) entry["connection"] = std::to_string(f.connection_id);
  entry["_authscope"] = std::move(ext);
  return entry;
}

}  // namespace

Status export_har(FlowStore& store, std::ostream& out) {
  out << R"({"log":{"version":"1.2","creator":{"name":"authscope","version":")" AUTHSCOPE_VERSION
         R"("},"pages":[],"entries":[)";
  bool first = true;
  Status status = store.for_each([&](const Flow& f) {
    out << (first ? "\n" : ",\n");
    first = false;
    // Header values may hold obs-text (not UTF-8): replace such bytes rather than throw.
    out << entry_json(f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return static_cast<bool>(out);
  });
  if (!status.ok()) return status;
  out << "\n]}}\n";
  out.flush();
  if (!out) return Status::Io("writing the HAR file failed");
  return Status::Ok();
}

}  // namespace authscope
