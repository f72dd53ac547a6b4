#include "analyzers/flow_annotator.h"

#include <utility>

#include "analyzers/classify.h"
#include "analyzers/http_text.h"

namespace authscope {
namespace {

std::string compact(const nlohmann::json& j) {
  // Parsed JSON is valid UTF-8, but "replace" keeps this total should that ever change.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const char* format_name(TokenFormat f) {
  switch (f) {
    case TokenFormat::kJws: return "jws";
    case TokenFormat::kJwe: return "jwe";
    case TokenFormat::kOpaque: return "opaque";
  }
  return "opaque";
}

// The parts of a record that depend only on the token text (the cacheable part).
TokenRecord decode_record(std::string_view raw, const JwksIndex& keys) {
  TokenRecord rec;
  auto decoded = decode_token(raw);
  if (!decoded.ok()) {
    rec.format = "malformed";
    rec.error = decoded.status().message();
    return rec;
  }
  const DecodedToken& d = decoded.value();
  rec.format = format_name(d.format);
  rec.fingerprint = d.fingerprint;
  if (d.format == TokenFormat::kOpaque) return rec;
  rec.signature = to_string(keys.verify(d));
  rec.header_json = compact(d.header);
  if (d.format == TokenFormat::kJws) rec.claims_json = compact(d.claims);
  return rec;
}

void set_use(TokenRecord& rec, const FoundToken& found) {
  rec.location = found.location;
  rec.kind = found.kind;
  rec.scheme = found.scheme;
  rec.redacted = found.redacted;
}

bool needs_reverify(const std::string& signature) {
  return signature == to_string(SignatureStatus::kUnknownKey) || signature == to_string(SignatureStatus::kUnverified);
}

void set_class(FlowAnnotations& a, const Flow& flow, const KnownApps& apps) {
  FlowClass c = classify(flow, apps);
  a.flow_class = flow_class_label(c);
  a.class_detail = flow_class_detail(c);
}

}  // namespace

TokenRecord token_record(const FoundToken& found, const JwksIndex& keys) {
  TokenRecord rec;
  if (is_secret_kind(found.kind)) {
    rec.format = "secret";  // passwords, client secrets, verifiers: never decoded or kept
  } else {
    rec = decode_record(found.raw, keys);
  }
  set_use(rec, found);
  return rec;
}

FlowAnnotations annotate_flow(const Flow& flow, const KnownApps& apps, const JwksIndex& keys) {
  FlowAnnotations a;
  set_class(a, flow, apps);
  for (const FoundToken& found : find_tokens(flow)) a.tokens.push_back(token_record(found, keys));
  return a;
}

DecodedToken decoded_from_record(const TokenRecord& r) {
  DecodedToken d;
  d.format = r.format == "jws" ? TokenFormat::kJws : r.format == "jwe" ? TokenFormat::kJwe : TokenFormat::kOpaque;
  d.fingerprint = r.fingerprint;
  d.redacted = r.redacted || r.signature == to_string(SignatureStatus::kRedacted);
  auto header = nlohmann::json::parse(r.header_json, nullptr, false);
  if (header.is_object()) d.header = std::move(header);
  auto claims = nlohmann::json::parse(r.claims_json, nullptr, false);
  if (claims.is_object()) d.claims = std::move(claims);
  return d;
}

void mark_redaction_at_rest(FlowAnnotations& a, const Flow& stored) {
  if (a.tokens.empty()) return;
  std::vector<FoundToken> found = find_tokens(stored);
  // Redaction replaces values with markers that discovery still finds, so the lists line up;
  // should they not, match by location and kind.
  const bool aligned = found.size() == a.tokens.size();
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    TokenRecord& r = a.tokens[i];
    if (aligned && found[i].location == r.location) {
      r.redacted = found[i].redacted;
      continue;
    }
    for (const FoundToken& f : found) {
      if (f.location == r.location && f.kind == r.kind) {
        r.redacted = f.redacted;
        break;
      }
    }
  }
}

FlowAnnotator::FlowAnnotator(KnownApps apps, size_t max_entries, size_t max_bytes)
    : apps_(std::move(apps)), max_entries_(max_entries), max_bytes_(max_bytes) {}

void FlowAnnotator::observe(const Flow& flow) {
  std::lock_guard<std::mutex> lock(mu_);
  observe_locked(flow);
}

void FlowAnnotator::observe_locked(const Flow& flow) {
  // Cheap filter first: add_from_flow builds the URL of every 200 response, and only JSON
  // responses can be key sets or discovery documents.
  if (flow.kind != FlowKind::kHttp || !flow.response || flow.response->status != 200) return;
  if (!flow.response->body.present() || flow.response->body.data->empty()) return;
  // Until an OpenID configuration names a jwks_uri, only the well-known paths can be key sets.
  if (keys_.jwks_uris().empty()) {
    std::string_view path = flow.request.target;
    path = path.substr(0, path.find_first_of("?#"));
    if (!iends_with(path, "/keys") && !iends_with(path, "/openid-configuration")) return;
  }
  keys_.add_from_flow(flow);
}

FlowAnnotations FlowAnnotator::annotate(const Flow& flow) {
  std::lock_guard<std::mutex> lock(mu_);
  observe_locked(flow);
  FlowAnnotations a;
  set_class(a, flow, apps_);
  for (const FoundToken& found : find_tokens(flow)) a.tokens.push_back(record_locked(found));
  ++stats_.flows;
  stats_.tokens += a.tokens.size();
  return a;
}

TokenRecord FlowAnnotator::record_locked(const FoundToken& found) {
  if (is_secret_kind(found.kind)) return token_record(found, keys_);
  const uint64_t generation = keys_.size();
  auto it = by_raw_.find(std::string_view(found.raw));
  if (it != by_raw_.end()) {
    Entry& e = *it->second;
    lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first; iterators stay valid
    if (e.key_generation != generation && needs_reverify(e.record.signature)) {
      // New keys since this was cached: the verdict may change. Decoding again is rare (once
      // per token per JWKS arrival).
      auto decoded = decode_token(e.raw);
      if (decoded.ok()) e.record.signature = to_string(keys_.verify(decoded.value()));
      e.key_generation = generation;
    }
    ++stats_.cache_hits;
    TokenRecord rec = e.record;
    set_use(rec, found);
    return rec;
  }
  ++stats_.cache_misses;
  TokenRecord rec = decode_record(found.raw, keys_);
  Entry e{found.raw, rec, generation, 0};
  e.bytes = sizeof(Entry) + e.raw.size() + rec.header_json.size() + rec.claims_json.size() + rec.error.size() +
            rec.fingerprint.size() + rec.signature.size() + 64;
  if (e.bytes <= max_bytes_ && max_entries_ > 0) {
    cache_bytes_ += e.bytes;
    lru_.push_front(std::move(e));
    by_raw_.emplace(std::string_view(lru_.front().raw), lru_.begin());
    evict_locked();
  }
  set_use(rec, found);
  return rec;
}

void FlowAnnotator::evict_locked() {
  while (!lru_.empty() && (lru_.size() > max_entries_ || cache_bytes_ > max_bytes_)) {
    Entry& last = lru_.back();
    by_raw_.erase(std::string_view(last.raw));
    cache_bytes_ -= last.bytes;
    lru_.pop_back();
  }
}

FlowAnnotator::Stats FlowAnnotator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.cache_entries = lru_.size();
  s.keys = keys_.size();
  return s;
}

}  // namespace authscope
