// A configuration with every key set to something other than its default: config_test checks
// each value is read, effective_config_test that `config show` prints it back the same.
#pragma once

#include <string_view>

namespace wb::config {

inline constexpr std::string_view kEveryKeySet = R"(
bridge = "wbr1"
ports = ["enp1s0", "enp2s0", "enp3s0"]
xdp = "native"
steer_mark = 0x10
route_table = 300
state_dir = "/srv/wb/state"
run_dir = "/srv/wb/run"
pin_dir = "/sys/fs/bpf/wb-test"
workers = 4
log_level = "debug"
intercept = false
block_quic = true
candidate_ports = [443, 8443, 5061]
bypass_src = ["10.0.0.0/8", "fd00::/8"]
bypass_dst = ["192.0.2.7", "2001:db8::1"]
on_max_sessions = "bypass"
crl_host = "crl.bridge.example"
trust_store = "/etc/ssl/my-bundle.pem"
keylog = "/var/log/wb-keys.txt"
tunnel_on_error = false
speculative_handshake = false
compact_idle_sessions = false
compact_skip_after = 16
openssl_builtin_key_methods = false
learned_tunnel_ttl = 600
pinning_window = 0
sip_malformed = "deny"

[limits]
max_sessions = 2000
max_sessions_per_client = 100
max_hello_bytes = 16384

[timeouts]
connect = 3
first_bytes = 4
idle = 60
handshake = 7

[detect]
https = false
sips = false
sip = true
ms-turn = false

[[policy]]
sni = "*.bank.example"
action = "tunnel"

[[policy]]
dst = "198.51.100.0/24:8443"
action = "allow-undetected"

[[policy]]
dst = "[2001:db8::/32]:5061"
action = "deny"

[certs]
max_validity_days = 90
cache_size = 20000
)";

}  // namespace wb::config
