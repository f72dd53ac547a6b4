// libFuzzer: the rule-pack loader (analyzers/rule_pack.*, analyzers/custom_rules.*), through the
// same entry point `authscope analyze --rules DIR` uses: load_rule_pack() over a real directory.
//
// Input: one or more files separated by a form feed ('\f', never JSON whitespace, so a seed is
// plain JSON). The first part is <dir>/pack.json; every later part starts with one letter that
// says where it goes, the rest is the file:
//   'c' -> <dir>/custom/<n>.json   'k' -> <dir>/known-apps.json   anything else -> <dir>/<n>.json
// Seeds: fuzz/corpus/fuzz_rule_pack/ (the repository's rules/ files and small variants).
//
// Invariants checked (a violation traps):
//   - loading never crashes and never lets an exception out (an escaped exception aborts);
//   - a refusal is one non-empty message that names a file under <dir> (the loader's promise:
//     "an error names the file and the JSON path");
//   - a loaded pack still knows every built-in rule, lists each file it read once, and keeps
//     settings and custom rules consistent (every custom rule is a non-built-in setting);
//   - every loaded custom rule can be matched against fixed flows, and the whole analysis runs
//     over them with the pack, producing findings only for rules the pack has enabled.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "analyzers/analysis.h"
#include "analyzers/custom_rules.h"
#include "analyzers/rule_pack.h"

using namespace authscope;
namespace fs = std::filesystem;

#define FUZZ_CHECK(cond)           \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace {

// At most this many files per input: enough to exercise ordering and cross-file duplicates.
constexpr size_t kMaxParts = 8;

// One scratch directory per process, emptied before every input.
const fs::path& scratch_dir() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "authscope-fuzz-rules-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch_dir(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  FUZZ_CHECK(out.good());
}

// A base64url JSON segment (no padding), enough to build an unsigned-looking JWT.
std::string b64url(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += k[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += k[(acc << (6 - bits)) & 63];
  return out;
}

// A few flows shaped like real Entra, Graph and ARM traffic, so custom rules and the built-in
// rules' pack settings (tiers, lists, parameters) all have something to look at.
const std::vector<Flow>& sample_flows() {
  static const std::vector<Flow> flows = [] {
    const std::string jwt =
        b64url(R"({"alg":"RS256","typ":"JWT","kid":"k1"})") + "." +
        b64url(R"({"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",)"
               R"("iat":1700000000,"nbf":1700000000,"exp":1700003600,"appid":"04b07795-8ddb-461a-bbee-02f9e1bf7b46",)"
               R"("tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","upn":"a@contoso.com",)"
               R"("scp":"Mail.Send User.Read Directory.ReadWrite.All","roles":["Application.ReadWrite.All"]})") +
        "." + b64url("not-a-signature-but-long-enough");
    std::vector<Flow> v;
    Flow authorize;
    authorize.id = 1;
    authorize.scheme = "https";
    authorize.host = "login.microsoftonline.com";
    authorize.port = 443;
    authorize.times.start_us = authorize.times.end_us = 1700000000000000;
    authorize.request.method = "GET";
    authorize.request.target =
        "/common/oauth2/v2.0/authorize?client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&response_type=code"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A8400&scope=openid%20Mail.Send";
    authorize.request.headers.add("User-Agent", "python-requests/2.28");
    Response r302;
    r302.status = 302;
    r302.headers.add("Location", "http://localhost:8400/?code=abc");
    authorize.response = r302;
    v.push_back(authorize);

    Flow graph;
    graph.id = 2;
    graph.scheme = "https";
    graph.host = "graph.microsoft.com";
    graph.port = 443;
    graph.times.start_us = graph.times.end_us = 1700000100000000;
    graph.request.method = "POST";
    graph.request.target = "/v1.0/me/sendMail";
    graph.request.headers.add("Authorization", "Bearer " + jwt);
    graph.request.headers.add("User-Agent", "Terraform/1.6");
    Response r202;
    r202.status = 202;
    graph.response = r202;
    v.push_back(graph);

    Flow arm = graph;
    arm.id = 3;
    arm.host = "management.azure.com";
    arm.request.method = "GET";
    arm.request.target = "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2021-04-01";
    arm.times.start_us = arm.times.end_us = 1700009999000000;  // after exp
    Response r403;
    r403.status = 403;
    arm.response = r403;
    v.push_back(arm);
    return v;
  }();
  return flows;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const fs::path& dir = scratch_dir();
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
  fs::create_directories(dir / "custom", ec);
  FUZZ_CHECK(!ec);

  // Split into files; count what the loader should report in RulePack::files.
  std::set<std::string> expected_files;
  size_t start = 0;
  for (size_t part = 0; part < kMaxParts && start <= input.size(); ++part) {
    size_t end = input.find('\f', start);
    if (end == std::string_view::npos || part + 1 == kMaxParts) end = input.size();
    std::string_view text = input.substr(start, end - start);
    fs::path path;
    if (part == 0) {
      path = dir / "pack.json";
    } else {
      const char where = text.empty() ? 'p' : text.front();
      if (!text.empty()) text.remove_prefix(1);
      const std::string n = std::to_string(part) + ".json";
      path = where == 'c' ? dir / "custom" / n : where == 'k' ? dir / "known-apps.json" : dir / n;
    }
    write_file(path, text);
    if (path.filename() != "known-apps.json") expected_files.insert(path.string());
    start = end + 1;
  }

  auto loaded = load_rule_pack(dir.string());
  if (!loaded.ok()) {
    const std::string& msg = loaded.status().message();
    FUZZ_CHECK(!msg.empty());
    FUZZ_CHECK(msg.rfind(dir.string() + "/", 0) == 0);
    return 0;
  }
  const RulePack& pack = **loaded;

  FUZZ_CHECK(std::set<std::string>(pack.files.begin(), pack.files.end()) == expected_files);
  FUZZ_CHECK(pack.files.size() == expected_files.size());
  for (const auto& id : builtin_rule_ids()) {
    const RuleSettings* r = pack.rule(id);
    FUZZ_CHECK(r != nullptr && r->builtin && !r->title.empty());
  }
  size_t custom_settings = 0;
  for (const auto& [id, r] : pack.rules) {
    FUZZ_CHECK(id == r.id);
    if (!r.builtin) ++custom_settings;
  }
  FUZZ_CHECK(custom_settings == pack.custom_rules.size());
  FUZZ_CHECK(pack.params.max_flows_per_finding >= 1);

  for (const CustomRule& rule : pack.custom_rules) {
    const RuleSettings* r = pack.rule(rule.id);
    FUZZ_CHECK(r != nullptr && !r->builtin && r->severity == rule.severity);
    for (const Flow& f : sample_flows()) {
      CustomRuleInput in;
      in.flow = &f;
      in.flow_class = f.host == "graph.microsoft.com" ? "graph" : "arm";
      in.tool = "Terraform";
      (void)match_custom_rule(rule, in);
    }
  }

  for (const Finding& f : analyze(sample_flows(), *loaded)) {
    FUZZ_CHECK(pack.enabled(f.rule));
    FUZZ_CHECK(!f.flows.empty());
    FUZZ_CHECK(f.flows.size() <= pack.params.max_flows_per_finding);
  }
  return 0;
}
