// The daemon's certificate service: one CertService per agent (issuer keyrings in state_dir,
// forged-certificate cache, revocation stores, CRL/OCSP), opened at start-up, and a maintenance
// thread that calls maintain() every few seconds (journals flushed, due CRLs regenerated) and
// once more on shutdown. The revocation HTTP endpoints reach it through Agent::Parts::certs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "certs/cert_service.h"

namespace wb::daemon {

// crl_host from the config, else the first IPv4 address of `bridge` (in the agent's namespace).
// Error when neither exists: forged certificates must name a host that serves their CRL.
Result<std::string> effective_crl_host(const config::Config& cfg, const std::string& bridge);

// CertService::open with the config's state_dir, effective_crl_host() and [certs]
// (max_validity_days, cache_size), waiting (bounded) for
// the key pool so the first forge never waits for key generation.
Result<std::unique_ptr<certs::CertService>> open_cert_service(const config::Config& cfg,
                                                              const std::string& bridge);

// Calls svc.maintain(now) every `period` on its own thread, and a last time in stop().
class CertMaintenance {
 public:
  CertMaintenance(certs::CertService& svc, std::chrono::milliseconds period);
  ~CertMaintenance();  // stop()
  CertMaintenance(const CertMaintenance&) = delete;
  CertMaintenance& operator=(const CertMaintenance&) = delete;
  void stop();  // idempotent

 private:
  void loop();
  certs::CertService& svc_;
  std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Unix seconds, the clock the certificate service works in.
std::int64_t unix_now();

}  // namespace wb::daemon
