// Certificates: `wirebump ca show|import --cert F --key F`, `wirebump cert revoke SERIAL`,
// `wirebump crl regenerate` (PROTOCOL.md: ca.show, ca.import, cert.revoke, crl.regenerate).
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"

namespace wb::cli {
namespace {

void print_issuer(const nlohmann::json& i) {
  std::cout << text(i, "role") << " issuer " << text(i, "issuer_id") << "\n"
            << "  subject   " << text(i, "subject") << "\n"
            << "  sha256    " << text(i, "sha256") << "\n"
            << "  key       " << text(i, "key_type") << "\n"
            << "  valid     " << format_utc(unix_time(i.value("not_before", nlohmann::json())))
            << " .. " << format_utc(unix_time(i.value("not_after", nlohmann::json()))) << "\n"
            << "  file      " << text(i, "cert_path") << "\n"
            << "  download  " << text(i, "der_url") << " (DER), " << text(i, "pem_url")
            << " (PEM)\n";
}

// The file exists, is a regular file we can read, at most 1 MiB, and holds the PEM marker.
// The contents never leave this function (the key is read by the agent, not sent).
std::optional<std::string> check_pem_file(const std::string& path, std::string_view marker) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "'" + path + "': " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "'" + path + "' is not a regular file";
  if (st.st_size > (1 << 20)) return "'" + path + "' is too large for a PEM file";
  std::ifstream in(path, std::ios::binary);
  if (!in) return "'" + path + "': cannot read it";
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (contents.find(marker) == std::string::npos) {
    return "'" + path + "' is not PEM (no \"" + std::string(marker) + "\")";
  }
  return std::nullopt;
}

// "3A:1F:00", "serial=3A1F00", "0x3a1f00" -> "3A1F00"; empty when not a serial.
std::string normalise_serial(std::string s) {
  if (s.rfind("serial=", 0) == 0) s.erase(0, 7);
  if (s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0) s.erase(0, 2);
  std::string hex;
  for (char c : s) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (hex.empty() || hex.size() > 40) return "";  // RFC 5280: at most 20 octets
  return hex;
}

// `ca show` and `ca import`.
void add_ca_commands(CLI::App& app, Context& ctx) {
  auto* ca = app.add_subcommand("ca", "The issuer CA that signs forged certificates");
  ca->require_subcommand(1);

  static bool show_json = false;
  add_leaf(*ca, "show", "Subject, fingerprint, validity and download URLs of the issuers",
           show_json)
      ->callback([&ctx] {
        auto result = call_agent(ctx, "ca show", "ca.show");
        if (!result) return;
        if (show_json) return print_json(*result);
        bool first = true;
        for (const auto& i : list(*result, "issuers")) {
          if (!first) std::cout << "\n";
          first = false;
          print_issuer(i);
        }
        if (first) std::cout << "no issuer loaded\n";
        std::cout << "\nClients must trust the trusted issuer; install it from the download URL.\n";
      });

  // (Not named `import`: clang-format reads that as a C++20 module import and mangles the file.)
  static std::string cert_file, key_file;
  static bool import_json = false;
  auto* import_cmd =
      add_leaf(*ca, "import", "Replace the trusted issuer with your own CA", import_json);
  import_cmd->add_option("--cert", cert_file, "PEM CA certificate")->required();
  import_cmd->add_option("--key", key_file, "PEM private key (unencrypted) of that certificate")
      ->required();
  import_cmd->callback([&ctx] {
    if (auto bad = check_pem_file(cert_file, "-----BEGIN CERTIFICATE-----")) {
      return usage_error(ctx, "ca import", "--cert " + *bad);
    }
    if (auto bad = check_pem_file(key_file, "PRIVATE KEY-----")) {
      return usage_error(ctx, "ca import", "--key " + *bad);
    }
    // The agent reads the files itself: send absolute paths, never the key.
    auto result = call_agent(ctx, "ca import", "ca.import",
                             {{"cert", std::filesystem::absolute(cert_file).string()},
                              {"key", std::filesystem::absolute(key_file).string()}});
    if (!result) return;
    if (import_json) return print_json(*result);
    std::cout << "imported\n";
    if (result->contains("issuer")) print_issuer((*result)["issuer"]);
    // The running agent keeps forging with the issuer it started with: say so, or the operator
    // installs the new CA on clients and wonders why they still see the old one.
    if (flag(*result, "restart_required")) {
      const std::string note = text(*result, "note");
      std::cout << "\nrestart required: "
                << (note == "-" ? "restart the agent to forge with the new issuer" : note) << "\n";
    }
  });
}

// `cert revoke SERIAL`.
void add_revoke_command(CLI::App& app, Context& ctx) {
  auto* cert = app.add_subcommand("cert", "Forged certificates");
  cert->require_subcommand(1);
  static std::string serial;
  static bool revoke_json = false;
  auto* revoke =
      add_leaf(*cert, "revoke", "Put a forged certificate on its issuer's CRL", revoke_json);
  revoke->add_option("serial", serial, "Serial in hex, as `openssl x509 -serial` prints it")
      ->required();
  revoke->callback([&ctx] {
    const std::string hex = normalise_serial(serial);
    if (hex.empty()) {
      return usage_error(ctx, "cert revoke",
                         "'" + serial +
                             "' is not a certificate serial (1..40 hex digits, e.g. "
                             "3A1F09C2...)");
    }
    auto result = call_agent(ctx, "cert revoke", "cert.revoke", {{"serial", hex}});
    if (!result) return;
    if (revoke_json) return print_json(*result);
    std::cout << "revoked " << hex;
    if (result->contains("crl_number"))
      std::cout << " (CRL number " << text(*result, "crl_number") << ")";
    std::cout << "\n";
  });
}

// `crl regenerate`.
void add_crl_command(CLI::App& app, Context& ctx) {
  auto* crl = app.add_subcommand("crl", "Certificate revocation lists served by the bridge");
  crl->require_subcommand(1);
  static bool regen_json = false;
  add_leaf(*crl, "regenerate", "Issue fresh CRLs now (numbers increment)", regen_json)
      ->callback([&ctx] {
        auto result = call_agent(ctx, "crl regenerate", "crl.regenerate");
        if (!result) return;
        if (regen_json) return print_json(*result);
        Table table({"ROLE", "ISSUER", "NUMBER", "THIS UPDATE", "NEXT UPDATE", "URL"});
        for (const auto& c : list(*result, "crls")) {
          table.add({text(c, "role"), text(c, "issuer_id"), text(c, "crl_number"),
                     format_utc(unix_time(c.value("this_update", nlohmann::json()))),
                     format_utc(unix_time(c.value("next_update", nlohmann::json()))),
                     text(c, "url")});
        }
        if (table.empty()) {
          std::cout << "CRLs regenerated\n";
        } else {
          table.print(std::cout);
        }
      });
}

}  // namespace

void add_cert_commands(CLI::App& app, Context& ctx) {
  add_ca_commands(app, ctx);
  add_revoke_command(app, ctx);
  add_crl_command(app, ctx);
}

}  // namespace wb::cli
