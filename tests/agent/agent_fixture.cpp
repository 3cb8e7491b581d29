#include "tests/agent/agent_fixture.h"

#include <fstream>

namespace wb::test {
namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

}  // namespace

std::string sha256_file(const std::string& path) {
  auto r = run("sha256sum " + shell_quote(path) + " | cut -d' ' -f1");
  return r.exit_code == 0 ? r.out.substr(0, 64) : "";
}

AgentFixture::AgentFixture() {
  pin_dir_ = "/sys/fs/bpf/" + topo_.prefix();
  config_path_ = topo_.dir() + "/wirebump.toml";
  write(config_path_,
        "bridge = \"br0\"\nports = [\"eth1\", \"eth2\"]\n"
        "run_dir = \"" +
            topo_.dir() +
            "/run\"\n"
            "state_dir = \"" +
            topo_.dir() +
            "/state\"\n"
            "pin_dir = \"" +
            pin_dir_ +
            "\"\n"
            "workers = 2\nlog_level = \"info\"\n"
            "candidate_ports = [443, 5061, 8080, 9001]\n");
}

AgentFixture::~AgentFixture() {
  // Stop the agent first (the topology would too, later), then undo its setup, then sweep.
  if (agent_ != nullptr) agent_->stop(std::chrono::seconds(8));
  topo_.enter(topo_.bridge(), wirebump_binary() + " down -c " + shell_quote(config_path_));
  run("rm -rf " + shell_quote(pin_dir_));
}

std::string AgentFixture::start_servers() {
  const std::string d = topo_.dir();
  auto r = run("mkdir -p " + d + "/www && echo 'hello through the bridge' > " + d +
               "/www/hello.txt && openssl req -x509 -newkey ec -pkeyopt "
               "ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=server.test -keyout " +
               d + "/key.pem -out " + d + "/cert.pem 2>/dev/null");
  if (r.exit_code != 0) return "prepare www / certificate: " + r.err;
  return start_nginx(
      "  log_format wb '$remote_addr $remote_port \"$request\" $status "
      "$body_bytes_sent';\n  access_log " +
          d +
          "/access.log wb;\n"
          "  keepalive_timeout 5;\n  sendfile on;\n"
          "  server {\n    listen 8080 backlog=4096;\n    listen [::]:8080 "
          "backlog=4096;\n    listen 7000;\n    listen 443 ssl;\n    listen "
          "[::]:443 ssl;\n    ssl_certificate " +
          d + "/cert.pem;\n    ssl_certificate_key " + d + "/key.pem;\n    root " + d +
          "/www;\n  }\n",
      kHttpPort, 2, 4096);
}

std::string AgentFixture::start_nginx(const std::string& http_body, int wait_port, int workers,
                                      int connections) {
  const std::string d = topo_.dir();
  auto r = run("mkdir -p " + d + "/www " + d + "/nginx-tmp");
  if (r.exit_code != 0) return "nginx directories: " + r.err;
  std::string temp;
  for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    temp += std::string("  ") + kind + "_temp_path " + d + "/nginx-tmp/" + kind + ";\n";
  }
  write(d + "/nginx.conf",
        "user root;\nworker_processes " + std::to_string(workers) + ";\npid " + d +
            "/nginx.pid;\nerror_log " + d + "/nginx-error.log;\nevents { worker_connections " +
            std::to_string(connections) + "; }\nhttp {\n" + temp + http_body + "}\n");
  topo_.spawn(topo_.server(), "exec nginx -c " + d + "/nginx.conf -g 'daemon off;'", "nginx");
  const std::string listening =
      "ss -Hltn 'sport = :" + std::to_string(wait_port) + "' | grep -q LISTEN";
  bool up = eventually([&] { return topo_.exec(topo_.server(), listening).exit_code == 0; },
                       std::chrono::seconds(10));
  if (!up) return "nginx did not start: " + read_file(d + "/nginx-error.log");
  return "";
}

std::string sni_server_blocks(const std::string& dir, const std::vector<std::string>& names) {
  std::string servers;
  for (const auto& name : names) {
    servers += "  server {\n    listen 443 ssl;\n    server_name " + name +
               ";\n    ssl_certificate " + dir + "/pki/" + name +
               ".pem;\n    ssl_certificate_key " + dir + "/pki/" + name + ".key;\n    root " + dir +
               "/www;\n  }\n";
  }
  return servers;
}

std::string AgentFixture::start_agent() {
  agent_ = &topo_.spawn(topo_.bridge(),
                        "exec " + wirebump_binary() + " run -c " + shell_quote(config_path_),
                        "agent" + std::to_string(++starts_));
  bool up =
      eventually([&] { return cli("status --json").exit_code == 0; }, std::chrono::seconds(20));
  if (!up) return "agent did not come up: " + agent_->log();
  return "";
}

CommandResult AgentFixture::cli(const std::string& args, std::chrono::milliseconds timeout) const {
  return topo_.enter(topo_.bridge(),
                     wirebump_binary() + " " + args + " -c " + shell_quote(config_path_), timeout);
}

nlohmann::json AgentFixture::status() const {
  auto r = cli("status --json");
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

long AgentFixture::accepted() const {
  auto s = status();
  if (!s.is_object() || !s.contains("relay")) return -1;
  return s["relay"].value("accepted", -1L);
}

CommandResult AgentFixture::client(const std::string& command,
                                   std::chrono::milliseconds timeout) const {
  return topo_.exec(topo_.client(), command, timeout);
}

std::string AgentFixture::access_log() const {
  return read_file(topo_.dir() + "/access.log");
}

}  // namespace wb::test
