// HAR 1.2 import: validate the whole file, then write (see har.h for the contract).
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "storage/flow_rows.h"
#include "storage/har.h"
#include "storage/har_body.h"
#include "storage/har_codec.h"

namespace authscope {
namespace {

using Json = nlohmann::json;

// Real HAR entries nest about six levels deep; extensions a little more. Deeper input is an
// attack on the parser's stack of states, not a capture.
constexpr int kMaxDepth = 64;

// Thrown only inside the nlohmann parse callback to stop parsing (the callback cannot return
// an error); caught in read_har_entries. Import is CLI code, never on the proxy's data path.
struct HarError {
  std::string message;
};

std::string a_type(const Json& j) {
  std::string t = j.type_name();
  return (t == "object" || t == "array") ? "an " + t : "a " + t;
}

// --- streaming over log.entries ------------------------------------------------------------

using OnEntry = std::function<Status(const Json& entry, size_t index)>;

Status read_har_entries(std::istream& in, const OnEntry& on_entry) {
  std::string key1, key2;  // the current keys at depth 1 (root object) and 2 (inside it)
  bool saw_log = false, saw_entries = false, in_entries = false;
  size_t index = 0;
  auto is_entries = [&](int depth) { return depth == 2 && key1 == "log" && key2 == "entries"; };
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (depth > kMaxDepth) throw HarError{fmt::format("not a HAR file: JSON nested deeper than {} levels", kMaxDepth)};
    switch (event) {
      case Json::parse_event_t::key:
        if (depth == 1) key1 = parsed.get<std::string>();
        if (depth == 2) key2 = parsed.get<std::string>();
        return true;
      case Json::parse_event_t::object_start:
        if (depth == 1 && key1 == "log") saw_log = true;
        if (is_entries(depth)) throw HarError{"not a HAR file: log.entries is an object, expected an array"};
        return true;
      case Json::parse_event_t::array_start:
        if (depth == 0) throw HarError{"not a HAR file: the top-level JSON value is an array, expected an object with \"log\""};
        if (depth == 1 && key1 == "log") throw HarError{"not a HAR file: \"log\" is an array, expected an object"};
        if (is_entries(depth)) in_entries = saw_entries = true;
        if (depth == 3 && in_entries) {
          throw HarError{fmt::format("not a HAR file: log.entries[{}] is an array, expected an object", index)};
        }
        return true;
      case Json::parse_event_t::array_end:
        if (is_entries(depth)) in_entries = false;
        return true;
      case Json::parse_event_t::value:
        if (depth == 0) {
          throw HarError{fmt::format("not a HAR file: the top-level JSON value is {}, expected an object with \"log\"",
                                     a_type(parsed))};
        }
        if (depth == 1 && key1 == "log") {
          throw HarError{fmt::format("not a HAR file: \"log\" is {}, expected an object", a_type(parsed))};
        }
        if (is_entries(depth)) {
          throw HarError{fmt::format("not a HAR file: log.entries is {}, expected an array", a_type(parsed))};
        }
        if (depth == 3 && in_entries) {
          throw HarError{fmt::format("not a HAR file: log.entries[{}] is {}, expected an object", index, a_type(parsed))};
        }
        return true;
      case Json::parse_event_t::object_end:
        if (depth == 3 && in_entries) {
          if (Status s = on_entry(parsed, index++); !s.ok()) throw HarError{s.message()};
          return false;  // discard the entry: memory holds one at a time
        }
        return true;
    }
    return true;
  };
  if (in.peek() == std::char_traits<char>::eof()) {
    return in.bad() ? Status::Io("reading the HAR file failed") : Status::Parse("not a HAR file: the input is empty");
  }
  try {
    Json root = Json::parse(in, callback);
    (void)root;
  } catch (const HarError& e) {
    return Status::Parse(e.message);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return Status::Parse("not a HAR file: invalid JSON: " + what);
  } catch (const std::exception& e) {
    return Status::Parse(fmt::format("not a HAR file: {}", e.what()));
  }
  if (in.bad()) return Status::Io("reading the HAR file failed");
  if (!saw_log) return Status::Parse("not a HAR file: no \"log\" object at the top level");
  if (!saw_entries) return Status::Parse("not a HAR file: log.entries is missing");
  return Status::Ok();
}

// --- one entry → one Flow -------------------------------------------------------------------

class EntryConverter {
 public:
  EntryConverter(const Json& entry, size_t index) : entry_(entry), index_(index) {}

  Result<Flow> convert();

 private:
  std::string path(std::string_view sub) const { return fmt::format("log.entries[{}].{}", index_, sub); }
  Status wrong(std::string_view sub, const Json& v, const char* expected) const {
    return Status::Parse(fmt::format("{} is {}, expected {}", path(sub), a_type(v), expected));
  }
  // A member of `obj`, or nullptr when missing or null (exporters write null for "unknown").
  static const Json* member(const Json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  }
  Status get_string(const Json& obj, const char* key, std::string_view sub, std::optional<std::string>& out) const {
    const Json* v = member(obj, key);
    if (!v) return Status::Ok();
    if (!v->is_string()) return wrong(sub, *v, "a string");
    out = v->get<std::string>();
    return Status::Ok();
  }
  Status get_number(const Json& obj, const char* key, std::string_view sub, std::optional<double>& out) const {
    const Json* v = member(obj, key);
    if (!v) return Status::Ok();
    if (!v->is_number()) return wrong(sub, *v, "a number");
    out = v->get<double>();
    if (!std::isfinite(*out)) return Status::Parse(fmt::format("{} is not a finite number", path(sub)));
    return Status::Ok();
  }
  Status read_headers(const Json& message, const std::string& side, Headers& out) const;
  Status read_request(Flow& f, const Json& request);
  Status read_response(Flow& f, const Json& response);
  void apply_timings(Flow& f);
  void apply_extension(Flow& f, const Json& ext);

  const Json& entry_;
  size_t index_;
  bool request_decoded_ = true;   // HAR text is decoded unless our extension says otherwise
  bool response_decoded_ = true;
};

Status EntryConverter::read_headers(const Json& message, const std::string& side, Headers& out) const {
  const Json* headers = member(message, "headers");
  if (!headers) return Status::Ok();
  if (!headers->is_array()) return wrong(side + ".headers", *headers, "an array");
  std::optional<std::string> authority;
  for (size_t i = 0; i < headers->size(); ++i) {
    const Json& h = (*headers)[i];
    const std::string at = fmt::format("{}.headers[{}]", side, i);
    if (!h.is_object()) return wrong(at, h, "an object");
    std::optional<std::string> name, value;
    if (Status s = get_string(h, "name", at + ".name", name); !s.ok()) return s;
    if (Status s = get_string(h, "value", at + ".value", value); !s.ok()) return s;
    if (!name) return Status::Parse(fmt::format("{}.name is missing", path(at)));
    // HTTP/2 and HTTP/3 exports (Chrome) carry pseudo-header fields; RFC 9113 §8.3.1:
    // ":authority" stands in for Host. The rest (:method, :path, :scheme, :status) repeat
    // what the entry already says.
    if (!name->empty() && (*name)[0] == ':') {
      if (*name == ":authority" && value) authority = *value;
      continue;
    }
    out.add(std::move(*name), value.value_or(""));
  }
  if (authority && !out.has("Host")) out.fields().insert(out.fields().begin(), HeaderField{"Host", *authority});
  return Status::Ok();
}

Status EntryConverter::read_request(Flow& f, const Json& request) {
  std::optional<std::string> method, url, version;
  if (Status s = get_string(request, "method", "request.method", method); !s.ok()) return s;
  if (Status s = get_string(request, "url", "request.url", url); !s.ok()) return s;
  if (Status s = get_string(request, "httpVersion", "request.httpVersion", version); !s.ok()) return s;
  if (!method || method->empty()) return Status::Parse(fmt::format("{} is missing", path("request.method")));
  if (!url) return Status::Parse(fmt::format("{} is missing", path("request.url")));
  auto parts = har::parse_url(*url);
  if (!parts) {
    return Status::Parse(fmt::format("{} \"{}\" is not an absolute http(s) URL", path("request.url"),
                                     url->substr(0, 100)));
  }
  f.request.method = *method;
  f.request.version = version && !version->empty() ? *version : "HTTP/1.1";
  f.host = parts->host;
  f.port = parts->port;
  if (*method == "CONNECT") {
    // Fiddler and Charles list tunnels as CONNECT entries whose URL names host:port.
    f.kind = FlowKind::kTunnel;
    f.scheme = "tunnel";
    f.request.target = parts->authority;
  } else {
    f.scheme = parts->scheme;
    // What a client sends an explicit proxy: absolute-form for plain http (RFC 9112 §3.2.2),
    // and origin-form inside an https tunnel.
    if (parts->scheme == "https") {
      f.request.target = parts->path_and_query;
    } else {
      auto hash = url->find('#');
      f.request.target = url->substr(0, hash);
    }
  }
  if (Status s = read_headers(request, "request", f.request.headers); !s.ok()) return s;

  std::optional<double> body_size, headers_size;
  if (Status s = get_number(request, "bodySize", "request.bodySize", body_size); !s.ok()) return s;
  if (Status s = get_number(request, "headersSize", "request.headersSize", headers_size); !s.ok()) return s;
  if (const Json* post = member(request, "postData")) {
    if (!post->is_object()) return wrong("request.postData", *post, "an object");
    std::optional<std::string> text, encoding, underscore_encoding, mime;
    if (Status s = get_string(*post, "text", "request.postData.text", text); !s.ok()) return s;
    if (Status s = get_string(*post, "encoding", "request.postData.encoding", encoding); !s.ok()) return s;
    if (Status s = get_string(*post, "_encoding", "request.postData._encoding", underscore_encoding); !s.ok()) return s;
    if (Status s = get_string(*post, "mimeType", "request.postData.mimeType", mime); !s.ok()) return s;
    std::string body;
    if (text) {
      const bool base64 = encoding.value_or(underscore_encoding.value_or("")) == "base64";
      auto bytes = har::body_from_har_text(*text, base64, request_decoded_, f.request.headers);
      if (!bytes.ok()) return Status::Parse(fmt::format("{}: {}", path("request.postData"), bytes.status().message()));
      body = std::move(bytes).value();
    } else if (const Json* params = member(*post, "params")) {
      // Firefox and older Chrome give form posts as params only: rebuild the urlencoded body
      // (WHATWG application/x-www-form-urlencoded serialiser).
      if (!params->is_array()) return wrong("request.postData.params", *params, "an array");
      for (size_t i = 0; i < params->size(); ++i) {
        const Json& p = (*params)[i];
        const std::string at = fmt::format("request.postData.params[{}]", i);
        if (!p.is_object()) return wrong(at, p, "an object");
        std::optional<std::string> name, value;
        if (Status s = get_string(p, "name", at + ".name", name); !s.ok()) return s;
        if (Status s = get_string(p, "value", at + ".value", value); !s.ok()) return s;
        if (!body.empty()) body += '&';
        body += har::form_encode(name.value_or("")) + "=" + har::form_encode(value.value_or(""));
      }
    }
    f.request.body.data = std::move(body);
    if (mime && !mime->empty() && !f.request.headers.has("Content-Type")) f.request.headers.add("Content-Type", *mime);
  }
  f.request.body.wire_size = body_size && *body_size > 0 ? static_cast<uint64_t>(*body_size)
                                                         : (f.request.body.data ? f.request.body.data->size() : 0);
  f.bytes_from_client = static_cast<uint64_t>(std::max(0.0, headers_size.value_or(0))) + f.request.body.wire_size;
  return Status::Ok();
}

Status EntryConverter::read_response(Flow& f, const Json& response) {
  std::optional<double> status;
  if (Status s = get_number(response, "status", "response.status", status); !s.ok()) return s;
  std::optional<std::string> error;
  if (Status s = get_string(response, "_error", "response._error", error); !s.ok()) return s;
  if (error && !error->empty()) f.error = *error;
  // Chrome writes status 0 for requests that never got a response (blocked, failed, aborted).
  if (!status || *status <= 0) return Status::Ok();
  if (*status > 999) return Status::Parse(fmt::format("{} {} is not an HTTP status", path("response.status"), *status));
  Response& r = f.response.emplace();
  r.status = static_cast<int>(*status);
  std::optional<std::string> reason, version;
  if (Status s = get_string(response, "statusText", "response.statusText", reason); !s.ok()) return s;
  if (Status s = get_string(response, "httpVersion", "response.httpVersion", version); !s.ok()) return s;
  r.reason = reason.value_or("");
  r.version = version && !version->empty() ? *version : f.request.version;
  if (Status s = read_headers(response, "response", r.headers); !s.ok()) return s;
  std::optional<double> body_size, headers_size;
  if (Status s = get_number(response, "bodySize", "response.bodySize", body_size); !s.ok()) return s;
  if (Status s = get_number(response, "headersSize", "response.headersSize", headers_size); !s.ok()) return s;
  if (const Json* content = member(response, "content")) {
    if (!content->is_object()) return wrong("response.content", *content, "an object");
    std::optional<std::string> text, encoding;
    if (Status s = get_string(*content, "text", "response.content.text", text); !s.ok()) return s;
    if (Status s = get_string(*content, "encoding", "response.content.encoding", encoding); !s.ok()) return s;
    if (text) {
      auto bytes = har::body_from_har_text(*text, encoding.value_or("") == "base64", response_decoded_, r.headers);
      if (!bytes.ok()) {
        return Status::Parse(fmt::format("{}: {}", path("response.content"), bytes.status().message()));
      }
      r.body.data = std::move(bytes).value();
    }
  }
  r.body.wire_size =
      body_size && *body_size > 0 ? static_cast<uint64_t>(*body_size) : (r.body.data ? r.body.data->size() : 0);
  f.bytes_from_upstream = static_cast<uint64_t>(std::max(0.0, headers_size.value_or(0))) + r.body.wire_size;
  return Status::Ok();
}

// HAR timings (ms, -1 = not applicable): blocked, dns, connect (ssl is part of connect),
// send, wait, receive, in that order from startedDateTime.
void EntryConverter::apply_timings(Flow& f) {
  const Json* timings = member(entry_, "timings");
  auto ms = [&](const char* key) -> double {
    if (!timings || !timings->is_object()) return 0;
    const Json* v = member(*timings, key);
    return v && v->is_number() && std::isfinite(v->get<double>()) && v->get<double>() > 0 ? v->get<double>() : 0;
  };
  auto us = [](double ms_value) { return static_cast<int64_t>(std::llround(std::min(ms_value, 1e12) * 1000.0)); };
  const int64_t start = f.times.start_us;
  if (start == 0) return;
  if (timings && timings->is_object()) {
    f.times.request_end_us = start + us(ms("blocked") + ms("dns") + ms("connect") + ms("send"));
    f.times.response_start_us = f.times.request_end_us + us(ms("wait"));
    f.times.end_us = f.times.response_start_us + us(ms("receive"));
  } else if (const Json* time = member(entry_, "time"); time && time->is_number() && time->get<double>() > 0) {
    f.times.end_us = start + us(time->get<double>());
  }
}

// `_authscope` (our own export) carries what HAR cannot say; wrong types are ignored, since
// the standard fields already gave a usable flow.
void EntryConverter::apply_extension(Flow& f, const Json& ext) {
  auto str = [&](const char* key, std::string& out) {
    if (const Json* v = member(ext, key); v && v->is_string()) out = v->get<std::string>();
  };
  auto u64 = [&](const Json& obj, const char* key, auto& out) {
    if (const Json* v = member(obj, key); v && v->is_number_unsigned()) out = v->get<std::decay_t<decltype(out)>>();
  };
  auto i64 = [&](const Json& obj, const char* key, int64_t& out) {
    if (const Json* v = member(obj, key); v && v->is_number_integer()) out = v->get<int64_t>();
  };
  if (const Json* v = member(ext, "kind"); v && v->is_string()) {
    if (auto kind = flow_kind_from_string(v->get<std::string>())) f.kind = *kind;
  }
  i64(ext, "id", f.id);
  str("client_addr", f.client_addr);
  u64(ext, "connection_id", f.connection_id);
  str("scheme", f.scheme);
  str("host", f.host);
  if (const Json* v = member(ext, "port"); v && v->is_number_unsigned() && v->get<uint64_t>() <= 65535) {
    f.port = static_cast<uint16_t>(v->get<uint64_t>());
  }
  str("target", f.request.target);
  if (const Json* t = member(ext, "times"); t && t->is_object()) {
    i64(*t, "start_us", f.times.start_us);
    i64(*t, "request_end_us", f.times.request_end_us);
    i64(*t, "response_start_us", f.times.response_start_us);
    i64(*t, "end_us", f.times.end_us);
  }
  u64(ext, "bytes_from_client", f.bytes_from_client);
  u64(ext, "bytes_from_upstream", f.bytes_from_upstream);
  if (const Json* v = member(ext, "error"); v && v->is_string()) f.error = v->get<std::string>();
  if (const Json* v = member(ext, "tls"); v && v->is_object()) f.tls = tls_info_from_json(*v);
  auto body_meta = [&](const char* key, Body& body) {
    const Json* m = member(ext, key);
    if (!m || !m->is_object()) return;
    if (const Json* v = member(*m, "present"); v && v->is_boolean() && !v->get<bool>()) body.data.reset();
    if (const Json* v = member(*m, "present"); v && v->is_boolean() && v->get<bool>() && !body.data) body.data = "";
    if (const Json* v = member(*m, "truncated"); v && v->is_boolean()) body.truncated = v->get<bool>();
    u64(*m, "wire_size", body.wire_size);
  };
  body_meta("request_body", f.request.body);
  if (f.response) body_meta("response_body", f.response->body);
  if (const Json* v = member(ext, "response_absent"); v && v->is_boolean() && v->get<bool>()) f.response.reset();
}

Result<Flow> EntryConverter::convert() {
  Flow f;
  const Json* ext = member(entry_, "_authscope");
  if (ext && !ext->is_object()) ext = nullptr;
  if (ext) {
    // Our own export says whether a text was decoded; absent "decoded" means wire bytes.
    auto decoded = [&](const char* key) {
      const Json* m = member(*ext, key);
      const Json* d = m && m->is_object() ? member(*m, "decoded") : nullptr;
      return d && d->is_boolean() && d->get<bool>();
    };
    request_decoded_ = decoded("request_body");
    response_decoded_ = decoded("response_body");
  }
  const Json* request = member(entry_, "request");
  if (!request) return Status::Parse(fmt::format("{} is missing", path("request")));
  if (!request->is_object()) return wrong("request", *request, "an object");
  if (Status s = read_request(f, *request); !s.ok()) return s;
  if (const Json* response = member(entry_, "response")) {
    if (!response->is_object()) return wrong("response", *response, "an object");
    if (Status s = read_response(f, *response); !s.ok()) return s;
  }
  std::optional<std::string> started;
  if (Status s = get_string(entry_, "startedDateTime", "startedDateTime", started); !s.ok()) return s;
  if (started) {
    auto us = har::us_from_iso8601(*started);
    if (!us) {
      return Status::Parse(fmt::format("{} \"{}\" is not an ISO 8601 date-time", path("startedDateTime"),
                                       started->substr(0, 40)));
    }
    f.times.start_us = *us;
  }
  apply_timings(f);
  if (const Json* conn = member(entry_, "connection")) {
    // Chrome writes the connection id as a string of digits.
    if (conn->is_string()) {
      const std::string& c = conn->get_ref<const std::string&>();
      if (!c.empty() && c.size() < 19 && c.find_first_not_of("0123456789") == std::string::npos) {
        f.connection_id = std::stoull(c);
      }
    } else if (conn->is_number_unsigned()) {
      f.connection_id = conn->get<uint64_t>();
    }
  }
  if (!f.error) {
    std::optional<std::string> error;
    if (Status s = get_string(entry_, "_error", "_error", error); !s.ok()) return s;
    if (error && !error->empty()) f.error = *error;
  }
  if (ext) apply_extension(f, *ext);
  if (f.id < 0) f.id = 0;
  return f;
}

// Copies a non-seekable stream (a pipe, stdin) to a private temporary file so it can be read
// twice. mkstemp creates the file 0600 (it may hold tokens) and it is unlinked at once.
Result<std::unique_ptr<std::ifstream>> spool(std::istream& in) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "authscope-har-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Status::Io("cannot create a temporary file to spool the HAR input");
  ::close(fd);
  {
    std::ofstream out(tmpl, std::ios::binary | std::ios::trunc);
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) out.write(buf, in.gcount());
    if (!out || in.bad()) {
      ::unlink(tmpl.c_str());
      return Status::Io("cannot spool the HAR input to a temporary file");
    }
  }
  auto file = std::make_unique<std::ifstream>(tmpl, std::ios::binary);
  ::unlink(tmpl.c_str());
  if (!*file) return Status::Io("cannot reopen the spooled HAR input");
  return file;
}

}  // namespace

Result<size_t> import_har(std::istream& in, FlowStore& store, const HarImportOptions& options) {
  std::unique_ptr<std::ifstream> spooled;
  std::istream* src = &in;
  std::streampos start = in.tellg();
  if (start == std::streampos(-1)) {
    in.clear();
    auto file = spool(in);
    if (!file.ok()) return file.status();
    spooled = std::move(file).value();
    src = spooled.get();
    start = 0;
  }

  // Pass 1: parse and convert everything, write nothing.
  size_t entries = 0;
  bool ids_usable = true;
  int64_t last_id = 0;
  Status valid = read_har_entries(*src, [&](const Json& entry, size_t index) -> Status {
    auto flow = EntryConverter(entry, index).convert();
    if (!flow.ok()) return flow.status();
    if (flow->id <= last_id) ids_usable = false;
    last_id = flow->id;
    ++entries;
    return Status::Ok();
  });
  if (!valid.ok()) return valid;

  // Pass 2: the same conversion, now enqueued. Ids are kept only into an empty store.
  src->clear();
  src->seekg(start);
  if (!*src) return Status::Io("cannot rewind the HAR input");
  bool keep_ids = options.keep_ids && ids_usable && entries > 0;
  if (keep_ids) {
    if (Status s = store.flush(); !s.ok()) return s;
    auto count = store.count();
    if (!count.ok()) return count.status();
    keep_ids = *count == 0;
  }
  size_t imported = 0;
  Status written = read_har_entries(*src, [&](const Json& entry, size_t index) -> Status {
    auto flow = EntryConverter(entry, index).convert();
    if (!flow.ok()) return flow.status();  // the file changed between the passes
    if (!keep_ids) flow->id = 0;
    store.enqueue(std::move(flow).value());
    ++imported;
    return Status::Ok();
  });
  if (!written.ok()) return written;
  if (Status s = store.flush(); !s.ok()) return s;
  return imported;
}

Result<size_t> import_har_file(const std::string& path, FlowStore& store, const HarImportOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot open {}", path));
  return import_har(in, store, options);
}

}  // namespace authscope
