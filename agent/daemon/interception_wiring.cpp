#include "agent/daemon/interception_wiring.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <ctime>

#include "agent/common/log.h"
#include "agent/control/protocol.h"
#include "agent/daemon/cert_wiring.h"
#include "agent/intercept/builtin_key_methods.h"
#include "agent/policy/control.h"
#include "certs/crl_host.h"

namespace wb::daemon {
namespace {

using nlohmann::json;

constexpr certs::IssuerRole kRoles[] = {certs::IssuerRole::trusted, certs::IssuerRole::untrusted};

const char* role_name(certs::IssuerRole role) {
  return role == certs::IssuerRole::trusted ? "trusted" : "untrusted";
}

json issuer_json(const certs::KeyringInfo& i) {
  return {{"role", role_name(i.role)}, {"issuer_id", i.issuer_id},   {"subject", i.subject},
          {"sha256", i.sha256},        {"not_before", i.not_before}, {"not_after", i.not_after},
          {"key_type", i.key_type},    {"cert_path", i.cert_path},   {"der_url", i.der_url},
          {"pem_url", i.pem_url}};
}

std::int64_t asn1_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(::timegm(&tm));
}

// One CRL as `crl.regenerate` reports it (times read back from the CRL actually served).
json crl_json(const certs::CertService& certs, certs::IssuerRole role) {
  const auto info = certs.info(role);
  json out{{"role", role_name(role)},
           {"issuer_id", info.issuer_id},
           {"crl_number", certs.crl_number(role)},
           {"url", certs::revocation_urls(certs.crl_host(), info.issuer_id).crl}};
  std::int64_t this_update = 0, next_update = 0;
  if (auto der = certs.crl_der(info.issuer_id); der && !der->empty()) {
    const unsigned char* p = der->data();
    if (X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size()))) {
      this_update = asn1_unix(X509_CRL_get0_lastUpdate(crl));
      next_update = asn1_unix(X509_CRL_get0_nextUpdate(crl));
      X509_CRL_free(crl);
    }
  }
  out["this_update"] = this_update;
  out["next_update"] = next_update;
  return out;
}

json cache_json(const certs::CacheStats& s) {
  return {{"hits", s.hits},       {"misses", s.misses}, {"evictions", s.evictions},
          {"inserts", s.inserts}, {"size", s.size},     {"capacity", s.capacity}};
}

Result<std::string> path_arg(const json& args, const char* name) {
  WB_TRY_ASSIGN(std::string path, control::arg_string(args, name));
  if (path.empty() || path.front() != '/') {
    return control::invalid_argument(std::string(name) + ": expected an absolute path, got \"" +
                                     path + "\"");
  }
  return path;
}

Result<json> ca_import(const config::Config& cfg, certs::CertService& certs, const json& args) {
  WB_TRY_ASSIGN(std::string cert, path_arg(args, "cert"));
  WB_TRY_ASSIGN(std::string key, path_arg(args, "key"));
  auto keyring = certs::Keyring::import_files(cfg.state_dir, cert, key, certs::IssuerRole::trusted);
  if (!keyring) {
    return control::invalid_argument("import " + cert + " / " + key + ": " +
                                     keyring.error().message());
  }
  // The running service keeps forging with the issuer it opened (live handlers hold it); the
  // imported one is in the state dir and used from the next start.
  json issuer = issuer_json(keyring->info(certs.crl_host()));
  return json{{"issuer", issuer},
              {"restart_required", true},
              {"note", "imported into " + cfg.state_dir.string() +
                           "; restart the agent (wirebump run) to forge with it"}};
}

Result<json> cert_revoke(certs::CertService& certs, const json& args) {
  WB_TRY_ASSIGN(std::string serial, control::arg_string(args, "serial"));
  std::uint64_t before[2] = {certs.crl_number(kRoles[0]), certs.crl_number(kRoles[1])};
  if (Status s = certs.revoke(serial, unix_now()); !s.ok()) {
    if (s.error().code == std::errc::no_such_file_or_directory) {
      return control::not_found("serial " + serial + " was not issued by this bridge");
    }
    if (s.error().code == std::errc::invalid_argument) {
      return control::invalid_argument(s.error().message());
    }
    return s.error();
  }
  // revoke() regenerated the CRL of the issuer that issued the serial: its number moved.
  for (int i = 0; i < 2; ++i) {
    if (certs.crl_number(kRoles[i]) != before[i]) {
      return json{{"serial", serial},
                  {"issuer_id", certs.info(kRoles[i]).issuer_id},
                  {"crl_number", certs.crl_number(kRoles[i])}};
    }
  }
  return json{{"serial", serial}};
}

}  // namespace

Result<std::unique_ptr<Interception>> start_interception(const config::Config& cfg,
                                                         certs::CertService& certs) {
  auto out = std::make_unique<Interception>();
  auto policy = policy::policy_from_config(cfg);
  if (!policy) return policy.error().wrap("interception policy");
  out->policy = std::move(*policy);
  auto service =
      intercept::InterceptService::create(intercept::options_from_config(cfg), *out->policy, certs);
  if (!service) return service.error().wrap("interception (trust_store, keylog)");
  out->service = std::move(*service);
  spdlog::info("interception: trust store {}, {} policy rule(s), tunnel on error {}",
               cfg.trust_store.string(), out->policy->rules().size(),
               out->policy->tunnel_on_error() ? "on" : "off");
  return out;
}

void register_interception_handlers(control::ControlServer& server, const config::Config& cfg,
                                    Interception* interception, certs::CertService& certs) {
  for (std::string_view command : policy::control_commands()) {
    std::string name(command);
    server.handle(name, [interception, name](const json& args) -> Result<json> {
      if (interception == nullptr) {
        return control::unsupported("interception is not running in this agent");
      }
      return policy::handle_control(*interception->policy, name, args, policy::Clock::now());
    });
  }
  server.handle("ca.show", [&certs](const json&) -> Result<json> {
    json list = json::array();
    for (auto role : kRoles) list.push_back(issuer_json(certs.info(role)));
    return json{{"issuers", list}};
  });
  server.handle("ca.import",
                [&cfg, &certs](const json& args) { return ca_import(cfg, certs, args); });
  server.handle("cert.revoke", [&certs](const json& args) { return cert_revoke(certs, args); });
  server.handle("crl.regenerate", [&certs](const json&) -> Result<json> {
    WB_TRY(certs.regenerate_crls(unix_now()));
    json list = json::array();
    for (auto role : kRoles) list.push_back(crl_json(certs, role));
    return json{{"crls", list}};
  });
}

void add_interception_status(json& out, const Interception* interception,
                             const certs::CertService& certs) {
  json issuers = json::array();
  for (auto role : kRoles) {
    const auto info = certs.info(role);
    issuers.push_back({{"role", role_name(role)}, {"issuer_id", info.issuer_id}});
  }
  const auto pool = certs.key_pool();
  out["certs"] = {{"cache", cache_json(certs.cache_stats())},
                  {"key_pool",
                   {{"ec", pool.ec},
                    {"ec_wanted", pool.ec_wanted},
                    {"rsa", pool.rsa},
                    {"rsa_wanted", pool.rsa_wanted},
                    {"done", pool.done}}},
                  {"crl_host", certs.crl_host()},
                  {"issuers", issuers}};
  if (interception == nullptr) return;
  auto detect = policy::handle_control(*interception->policy, "detect.list", json::object(),
                                       policy::Clock::now());
  if (detect) out["detect"] = (*detect)["detect"];
  json stats = intercept::to_json(interception->service->stats());
  auto policy_stats = policy::handle_control(*interception->policy, "policy.stats", json::object(),
                                             policy::Clock::now());
  if (policy_stats) stats["policy"] = *policy_stats;
  stats["builtin_key_methods"] = intercept::BuiltinKeyMethods::active();
  out["interception"] = stats;
}

}  // namespace wb::daemon
