#include "cli/flow_format.h"

#include <ctime>

#include <fmt/format.h>

#include "cli/body_view.h"
#include "model/tls_info_json.h"

namespace authscope::cli {

namespace {

std::tm utc_tm(int64_t us) {
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::string base64_encode(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

nlohmann::ordered_json body_json(const Body& b) {
  nlohmann::ordered_json j;
  if (!b.present()) {
    j["present"] = false;
  } else if (is_printable_text(*b.data)) {
    j["present"] = true;
    j["text"] = *b.data;
  } else {
    j["present"] = true;
    j["encoding"] = "base64";
    j["text"] = base64_encode(*b.data);
  }
  j["size"] = b.present() ? b.data->size() : 0;
  j["wire_size"] = b.wire_size;
  j["truncated"] = b.truncated;
  return j;
}

// JSON strings must be UTF-8; header values from the wire may not be.
std::string json_safe(const std::string& s) {
  if (is_printable_text(s)) return s;
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

nlohmann::ordered_json headers_json_safe(const Headers& h) {
  auto arr = nlohmann::ordered_json::array();
  for (const auto& f : h.fields()) arr.push_back({{"name", json_safe(f.name)}, {"value", json_safe(f.value)}});
  return arr;
}

}  // namespace

std::string format_clock_utc(int64_t us) {
  std::tm tm = utc_tm(us);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, (us / 1000) % 1000);
}

std::string format_iso8601_utc(int64_t us) {
  if (us <= 0) return "";
  std::tm tm = utc_tm(us);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (us / 1000) % 1000);
}

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", n / 1024.0);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", n / (1024.0 * 1024));
  return fmt::format("{:.1f} GiB", n / (1024.0 * 1024 * 1024));
}

std::string human_duration(int64_t us) {
  if (us < 1000) return fmt::format("{} us", us);
  if (us < 1'000'000) return fmt::format("{} ms", us / 1000);
  return fmt::format("{:.1f} s", us / 1e6);
}

std::string flow_location(const Flow& flow) {
  if (flow.kind == FlowKind::kTunnel) return fmt::format("{}:{}", flow.host, flow.port);
  bool default_port = (flow.scheme == "https" && flow.port == 443) || (flow.scheme == "http" && flow.port == 80) ||
                      flow.port == 0;
  std::string host = flow.host.find(':') != std::string::npos ? "[" + flow.host + "]" : flow.host;
  if (!default_port) host += fmt::format(":{}", flow.port);
  return host + flow.path_and_query();
}

std::string live_flow_line(const Flow& flow, const std::string& marks) {
  std::string when = format_clock_utc(flow.times.start_us);
  std::string line;
  if (flow.kind == FlowKind::kTunnel) {
    line = fmt::format("{} TUNNEL  {}  up {} down {}  {}", when, flow_location(flow), human_bytes(flow.bytes_from_client),
                       human_bytes(flow.bytes_from_upstream), human_duration(flow.duration_us()));
  } else {
    std::string status = flow.response ? fmt::format("{}", flow.response->status) : "---";
    uint64_t bytes = flow.response ? flow.response->body.wire_size : 0;
    std::string location = flow_location(flow);
    if (location.size() > 120) location = location.substr(0, 117) + "...";
    line = fmt::format("{} {} {:<6} {}  {}  {}", when, status, flow.request.method, location, human_bytes(bytes),
                       human_duration(flow.duration_us()));
  }
  if (flow.error) line += "  error: " + *flow.error;
  if (!marks.empty()) line += "  ! " + marks;
  return line;
}

std::string flows_table_header() {
  return fmt::format("{:>6}  {:<12}  {:>3}  {:<7}  {:<60}  {:>9}  {:>8}", "ID", "TIME (UTC)", "ST", "METHOD", "URL",
                     "BYTES", "TIME");
}

std::string flows_table_row(const FlowSummary& s) {
  std::string url;
  std::string method = s.method;
  std::string status = s.status != 0 ? fmt::format("{}", s.status) : "---";
  if (s.kind == FlowKind::kTunnel) {
    url = fmt::format("{}:{} (tunnel)", s.host, s.port);
    method = "CONNECT";
    status = "TUN";
  } else if (s.target.rfind("http://", 0) == 0 || s.target.rfind("https://", 0) == 0) {
    url = s.target;
  } else {
    bool default_port = (s.scheme == "https" && s.port == 443) || (s.scheme == "http" && s.port == 80) || s.port == 0;
    url = fmt::format("{}://{}{}{}", s.scheme, s.host, default_port ? "" : fmt::format(":{}", s.port), s.target);
  }
  if (url.size() > 60) url = url.substr(0, 57) + "...";
  std::string row = fmt::format("{:>6}  {:<12}  {:>3}  {:<7}  {:<60}  {:>9}  {:>8}", s.id, format_clock_utc(s.start_us),
                                status, method, url, human_bytes(s.request_bytes + s.response_bytes),
                                human_duration(s.duration_us));
  if (s.error) row += "  error: " + *s.error;
  return row;
}

nlohmann::ordered_json flow_to_json(const Flow& flow) {
  nlohmann::ordered_json j;
  j["id"] = flow.id;
  j["kind"] = to_string(flow.kind);
  j["url"] = json_safe(flow.kind == FlowKind::kTunnel ? flow_location(flow) : flow.url());
  j["client_addr"] = flow.client_addr;
  j["connection_id"] = flow.connection_id;
  j["scheme"] = flow.scheme;
  j["host"] = json_safe(flow.host);
  j["port"] = flow.port;
  j["times"] = {{"start", format_iso8601_utc(flow.times.start_us)},
                {"start_us", flow.times.start_us},
                {"request_end_us", flow.times.request_end_us},
                {"response_start_us", flow.times.response_start_us},
                {"end_us", flow.times.end_us},
                {"duration_ms", flow.duration_us() / 1000.0}};
  if (flow.tls) {
    j["tls"] = tls_info_to_json(*flow.tls);
  } else {
    j["tls"] = nullptr;
  }
  j["request"] = {{"method", json_safe(flow.request.method)},
                  {"target", json_safe(flow.request.target)},
                  {"version", json_safe(flow.request.version)},
                  {"headers", headers_json_safe(flow.request.headers)},
                  {"body", body_json(flow.request.body)}};
  if (flow.response) {
    const Response& r = *flow.response;
    j["response"] = {{"status", r.status},
                     {"reason", json_safe(r.reason)},
                     {"version", json_safe(r.version)},
                     {"headers", headers_json_safe(r.headers)},
                     {"body", body_json(r.body)}};
  } else {
    j["response"] = nullptr;
  }
  j["error"] = flow.error ? nlohmann::ordered_json(json_safe(*flow.error)) : nlohmann::ordered_json(nullptr);
  j["bytes_from_client"] = flow.bytes_from_client;
  j["bytes_from_upstream"] = flow.bytes_from_upstream;
  return j;
}

}  // namespace authscope::cli
