// Shared bits of the peer e2e tests: where the peer files are, whether something listens in a
// namespace, per-topology copies of config templates, throw-away certificates.
#pragma once

#include <string>

#include "tests/support/topology.h"

namespace wb::test {

inline std::string peer_file(const std::string& file) {
  return source_path("tests/peers/" + file);
}

inline bool listening(const Topology& topo, const std::string& ns, int port) {
  return topo.exec(ns, "ss -Hltn sport = :" + std::to_string(port) + " | grep -q LISTEN")
             .exit_code == 0;
}

// Copies a template from tests/peers with @DIR@ replaced by the topology's directory; returns
// the copy's path ("" on failure).
inline std::string instantiate(const Topology& topo, const std::string& file) {
  std::string out = topo.dir() + "/" + file;
  auto done = run("sed 's|@DIR@|" + topo.dir() + "|g' " + peer_file(file) + " > " + out);
  return done.exit_code == 0 ? out : "";
}

// CA + server certificate for `name` / 192.0.2.2 in the topology's directory.
inline bool make_certs(const Topology& topo, const std::string& name) {
  return run(peer_file("test_certs.sh") + " " + topo.dir() + " " + name + " 192.0.2.2").exit_code ==
         0;
}

// kamailio (tests/peers/kamailio.cfg: TCP 5060, TLS 5061 and 443) in the server namespace, with
// the TLS module reading the topology's certificates. Call make_certs first.
inline Process& start_kamailio(Topology& topo) {
  const std::string tls = instantiate(topo, "kamailio-tls.cfg");
  return topo.spawn(topo.server(),
                    "exec kamailio -f " + peer_file("kamailio.cfg") + " -DD -E -Y " + topo.dir() +
                        " -A 'TLS_CONFIG=\"" + tls + "\"'",
                    "kamailio");
}

}  // namespace wb::test
