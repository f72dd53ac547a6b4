// FlowAnnotator: computes a flow's FlowAnnotations (model/flow_annotations.h: its class and every
// token in it, decoded, with a signature status) from the raw flow. The CLI installs it as the
// store's annotate hook (storage/flow_store.h), so it runs on the store's writer thread, never
// on the proxy's event loop, and before redaction strips signatures.
//
// Keys: a JwksIndex fed by every JWKS / openid-configuration flow that passes through annotate()
// or observe() (the CLI primes it with the JWKS already in the store when it opens). Passive: a
// token's jku/x5u/kid never causes a fetch.
//
// Cost: an ARM client sends the same bearer token on thousands of requests, so decoded records
// are cached in a bounded LRU keyed by the token's text (a raw token and its redacted form are
// different entries, since their signature statuses differ; the same text always has the same
// fingerprint). A hit costs a hash of the token and a copy of the cached record, no base64, JSON
// or signature work. A cached "unknown-key"/"unverified" is re-verified once new keys arrive.
// Thread-safe: one mutex (uncontended in practice: the writer thread, and the CLI while priming).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/token_discovery.h"
#include "model/flow.h"
#include "model/flow_annotations.h"

namespace authscope {

// The record of one found token, decoded and verified against `keys` (no cache). Secrets
// (passwords, client secrets, verifiers) are never decoded: format "secret", no fingerprint.
TokenRecord token_record(const FoundToken& found, const JwksIndex& keys);
// The whole annotation of a flow, uncached: what readers compute for flows the store has no
// records for, and the reference the cached FlowAnnotator must always agree with.
FlowAnnotations annotate_flow(const Flow& flow, const KnownApps& apps, const JwksIndex& keys);
// Header and claims of a stored jws/jwe record as a DecodedToken (for interpret()); the
// signature bytes are never stored, so they are empty. Malformed JSON gives empty objects.
DecodedToken decoded_from_record(const TokenRecord& record);

// After `stored` (the flow `a` was computed from) has been redacted: sets each record's
// `redacted` from the value as it will be stored. Cheap when nothing was redacted.
void mark_redaction_at_rest(FlowAnnotations& a, const Flow& stored);

class FlowAnnotator {
 public:
  // A sign-in session or a Terraform run repeats a few dozen distinct tokens; what falls out is
  // verified again (tens of µs). The byte bound keeps the proxy's resident memory small even
  // when every flow brings new tokens.
  static constexpr size_t kDefaultCacheEntries = 1024;
  static constexpr size_t kDefaultCacheBytes = size_t{4} << 20;  // tokens + records, approx.

  explicit FlowAnnotator(KnownApps apps, size_t max_entries = kDefaultCacheEntries,
                         size_t max_bytes = kDefaultCacheBytes);
  FlowAnnotator(const FlowAnnotator&) = delete;
  FlowAnnotator& operator=(const FlowAnnotator&) = delete;

  // Feeds the key index from `flow` (if it is a JWKS or OpenID configuration), then classifies
  // it and records its tokens. Equal to annotate_flow(flow, apps, keys-seen-so-far). Never throws.
  FlowAnnotations annotate(const Flow& flow);
  // Only feeds the key index (priming from a store's existing flows).
  void observe(const Flow& flow);

  struct Stats {
    uint64_t flows = 0;
    uint64_t tokens = 0;        // token records produced (secrets included)
    uint64_t cache_hits = 0;
    uint64_t cache_misses = 0;  // decoded (and verified) from scratch
    size_t cache_entries = 0;
    size_t keys = 0;            // signing keys indexed
  };
  Stats stats() const;

 private:
  struct Entry {
    std::string raw;          // the token text (the map's key views into it)
    TokenRecord record;       // location/kind/scheme/redacted are per use; the rest is cached
    uint64_t key_generation;  // keys_.size() when the signature was computed
    size_t bytes;
  };
  using Lru = std::list<Entry>;

  void observe_locked(const Flow& flow);
  TokenRecord record_locked(const FoundToken& found);
  void evict_locked();

  const KnownApps apps_;
  const size_t max_entries_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  JwksIndex keys_;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string_view, Lru::iterator> by_raw_;
  size_t cache_bytes_ = 0;
  Stats stats_;
};

}  // namespace authscope
