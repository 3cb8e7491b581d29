// The running agent's components, shared by agent.cpp and the control handlers (internal).
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "agent/config/config.h"
#include "agent/control/server.h"
#include "agent/daemon/cert_wiring.h"
#include "agent/daemon/interception_wiring.h"
#include "agent/daemon/revocation_http.h"
#include "agent/daemon/agent.h"
#include "agent/datapath/datapath.h"
#include "agent/intercept/builtin_key_methods.h"
#include "agent/netsetup/netsetup.h"
#include "agent/relay/relay.h"
#include "agent/session/session_table.h"

namespace wb::daemon {

struct Agent::Parts {
  // Process-wide OpenSSL key methods (openssl_builtin_key_methods), installed before anything
  // makes a key or a TLS context; first member, so released last.
  std::unique_ptr<intercept::BuiltinKeyMethods> key_methods;
  config::Config cfg;
  AgentOptions options;
  netsetup::BridgeInfo bridge;
  std::optional<datapath::Datapath> dp;
  // Issuer keyrings, forged certificates, CRL/OCSP (also serves the revocation endpoints).
  // Declared before the relay so it outlives every handler that forges with it.
  std::unique_ptr<certs::CertService> certs;
  std::unique_ptr<CertMaintenance> cert_maintenance;
  // Policy + InterceptService (null when options.handler_factory replaces interception).
  std::unique_ptr<Interception> interception;
  std::unique_ptr<session::SessionTable> table;
  std::unique_ptr<relay::Relay> relay;
  // CRL/OCSP/CA over HTTP on the bridge's own addresses, port 80 (null if it could not listen).
  std::unique_ptr<RevocationServer> revocation;
  std::unique_ptr<control::ControlServer> control;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  int tc_attached = 0;  // ports that got the program in this start
  int tc_kept = 0;      // ports that already ran it (restart)
  bool stopped = false;
};

}  // namespace wb::daemon
