// Interception in the running agent: the policy (rules, detection switches, learned tunnels) from
// the config, the InterceptService whose factory() the relay runs per accepted connection, and
// the control commands operators use on them and on the certificates:
//   policy.* / detect.* / tunnels.*   -> wb::policy::handle_control
//   ca.show, ca.import, cert.revoke, crl.regenerate -> the daemon's CertService / Keyring
// plus the "detect", "certs" and "interception" fields of `status` (agent/control/PROTOCOL.md).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/control/server.h"
#include "agent/intercept/intercept_service.h"
#include "agent/policy/policy.h"
#include "certs/cert_service.h"

namespace wb::daemon {

struct Interception {
  std::unique_ptr<policy::Policy> policy;
  // Holds references to *policy and the CertService: destroyed first, after the relay stopped.
  std::unique_ptr<intercept::InterceptService> service;
};

Result<std::unique_ptr<Interception>> start_interception(const config::Config& cfg,
                                                         certs::CertService& certs);

// Registers the commands above. `interception` may be null (a test-supplied handler factory
// replaced it): the policy commands then answer "unsupported".
void register_interception_handlers(control::ControlServer& server, const config::Config& cfg,
                                    Interception* interception, certs::CertService& certs);

// Adds "detect", "certs" and "interception" to a status answer.
void add_interception_status(nlohmann::json& out, const Interception* interception,
                             const certs::CertService& certs);

}  // namespace wb::daemon
