#include "agent/intercept/intercept_service.h"

#include <time.h>

#include "agent/intercept/intercept_handler.h"

namespace wb::intercept {

InterceptOptions options_from_config(const config::Config& cfg) {
  InterceptOptions o;
  o.trust_store = cfg.trust_store.string();
  o.keylog = cfg.keylog.string();
  o.first_bytes_timeout = cfg.timeouts.first_bytes;
  o.handshake_timeout = cfg.timeouts.handshake;
  o.pinning_window = cfg.pinning_window;
  o.speculative_handshake = cfg.speculative_handshake;
  o.compact_idle_sessions = cfg.compact_idle_sessions;
  o.compact_skip_after = cfg.compact_skip_after;
  // A hint holds a forged certificate: no more of them than the certificate cache may keep.
  o.speculation_hints = cfg.certs.cache_size;
  o.max_peek_bytes = std::min<std::size_t>(cfg.limits.max_hello_bytes, peek::kMaxPeekBytes);
  o.inspectors.sip_deny_malformed = cfg.sip_malformed == config::SipMalformed::kDeny;
  o.inspectors.block_quic = cfg.block_quic;
  return o;
}

Result<std::unique_ptr<InterceptService>> InterceptService::create(InterceptOptions options,
                                                                   policy::Policy& policy,
                                                                   certs::CertService& certs) {
  TlsContextOptions tls;
  tls.trust_store = options.trust_store;
  if (!options.keylog.empty()) {
    auto log = KeyLog::open(options.keylog);
    if (!log) return log.error();
    tls.keylog = *log;
  }
  std::unique_ptr<InterceptService> svc(new InterceptService(std::move(options), policy, certs));
  if (svc->options_.upstream_sessions > 0) {
    svc->upstream_sessions_ = std::make_shared<UpstreamSessions>(svc->options_.upstream_sessions);
    tls.upstream_sessions = svc->upstream_sessions_;
  }
  if (svc->options_.verify_cache > 0) {
    svc->verify_cache_ =
        std::make_shared<VerifyCache>(svc->options_.verify_cache, svc->options_.verify_cache_ttl);
    tls.verify_cache = svc->verify_cache_;
  }
  if (svc->options_.speculative_handshake) {
    svc->hints_ = std::make_unique<SpeculationHints>(svc->options_.speculation_hints,
                                                     svc->options_.speculation_ttl);
  }
  // One pair of contexts, tracked when compaction is on, and an untracked pair beside it where
  // tracking can be skipped (not with a key-log file: OpenSSL formats every secret for it anyway).
  const bool compact = svc->options_.compact_idle_sessions;
  const bool skippable =
      compact && svc->options_.keylog.empty() && svc->options_.compact_skip_after > 0;
  auto make_contexts = [&](bool track) -> Status {
    tls.compact_idle = track;
    WB_TRY_ASSIGN(svc->upstream_ctx_[track], make_upstream_ctx(tls));
    WB_TRY_ASSIGN(svc->client_leg_ctx_[track], make_client_leg_ctx(tls));
    return {};
  };
  WB_TRY(make_contexts(compact));
  if (skippable) WB_TRY(make_contexts(false));
  // Where there is one pair, both slots refer to it.
  for (auto* slots : {&svc->upstream_ctx_, &svc->client_leg_ctx_}) {
    for (int i = 0; i < 2; ++i) {
      if (!(*slots)[i]) (*slots)[i] = share_ctx((*slots)[1 - i].get());
    }
  }
  if (skippable) {
    svc->quiet_history_ = std::make_unique<QuietHistory>(svc->options_.quiet_history,
                                                         svc->options_.compact_skip_after);
  }
  return svc;
}

relay::HandlerFactory InterceptService::factory() {
  return [this](const relay::ConnectionInfo& info) -> std::unique_ptr<relay::Handler> {
    counters_.sessions.fetch_add(1, std::memory_order_relaxed);
    return std::make_unique<InterceptHandler>(*this, info);
  };
}

namespace {
void add_sample(std::atomic<std::uint64_t>& total, std::atomic<std::uint64_t>& max,
                std::uint64_t ns) {
  total.fetch_add(ns, std::memory_order_relaxed);
  auto seen = max.load(std::memory_order_relaxed);
  while (ns > seen && !max.compare_exchange_weak(seen, ns)) {
  }
}
}  // namespace

std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void InterceptService::record_forge_time(std::uint64_t ns) {
  add_sample(counters_.forge_ns_total, counters_.forge_ns_max, ns);
}

void InterceptService::record_forge_wait(std::uint64_t ns) {
  add_sample(counters_.forge_wait_ns_total, counters_.forge_wait_ns_max, ns);
}

InterceptStats InterceptService::stats() const {
  InterceptStats s;
  s.sessions = counters_.sessions.load();
  s.intercepted = counters_.intercepted.load();
  s.tunnelled = counters_.tunnelled.load();
  s.tunnelled_on_error = counters_.tunnelled_on_error.load();
  s.client_rejected = counters_.client_rejected.load();
  s.closed_without_data = counters_.closed_without_data.load();
  s.denied = counters_.denied.load();
  s.inspected_plaintext = counters_.inspected_plaintext.load();
  s.forged = counters_.forged.load();
  s.forge_errors = counters_.forge_errors.load();
  s.forge_ns_total = counters_.forge_ns_total.load();
  s.forge_ns_max = counters_.forge_ns_max.load();
  s.forge_queued = counters_.forge_queued.load();
  s.forge_wait_ns_total = counters_.forge_wait_ns_total.load();
  s.forge_wait_ns_max = counters_.forge_wait_ns_max.load();
  s.untrusted_upstreams = counters_.untrusted_upstreams.load();
  s.upstream_resumed = counters_.upstream_resumed.load();
  s.speculative = counters_.speculative.load();
  s.speculative_aborted = counters_.speculative_aborted.load();
  s.compacted = counters_.compacted.load();
  s.untracked = counters_.untracked.load();
  s.untracked_quiet = counters_.untracked_quiet.load();
  if (verify_cache_) {
    s.verify_cache_hits = verify_cache_->hits();
    s.verify_cache_misses = verify_cache_->misses();
  }
  return s;
}

nlohmann::json to_json(const InterceptStats& s) {
  return {{"sessions", s.sessions},
          {"intercepted", s.intercepted},
          {"tunnelled", s.tunnelled},
          {"tunnelled_on_error", s.tunnelled_on_error},
          {"client_rejected", s.client_rejected},
          {"closed_without_data", s.closed_without_data},
          {"denied", s.denied},
          {"inspected_plaintext", s.inspected_plaintext},
          {"forged", s.forged},
          {"forge_errors", s.forge_errors},
          {"forge_us_avg", s.forged == 0 ? 0 : s.forge_ns_total / s.forged / 1000},
          {"forge_us_max", s.forge_ns_max / 1000},
          {"forge_queued", s.forge_queued},
          {"forge_wait_us_avg",
           s.forge_queued == 0 ? 0 : s.forge_wait_ns_total / s.forge_queued / 1000},
          {"forge_wait_us_max", s.forge_wait_ns_max / 1000},
          {"untrusted_upstreams", s.untrusted_upstreams},
          {"upstream_resumed", s.upstream_resumed},
          {"speculative", s.speculative},
          {"speculative_aborted", s.speculative_aborted},
          {"verify_cache_hits", s.verify_cache_hits},
          {"verify_cache_misses", s.verify_cache_misses},
          {"compacted", s.compacted},
          {"compaction_untracked", s.untracked},
          {"compaction_untracked_quiet", s.untracked_quiet}};
}

}  // namespace wb::intercept
