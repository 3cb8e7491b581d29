#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, creates a client / bridge / server
# lab in network namespaces, runs wirebump on the bridge, sends a traffic mix (bypassed TCP,
# intercepted HTTPS, a SIPS registration and call, an MS-TURN allocation over pseudo-TLS) and
# prints what the bridge did.
#   deploy/demo.sh          run, print the summary, remove everything (also on failure or Ctrl-C)
#   deploy/demo.sh --keep   leave the lab and the agent running and print how to reach them
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=0
case ${1:-} in
  --keep) keep=1 ;;
  -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

prefix=wbdemo
lab=/tmp/wirebump-demo
bin=$root/build/agent/cli/wirebump
peer=$root/build/tests/peers/wb_ms_turn_peer
cfg=$lab/wirebump.toml
pins=/sys/fs/bpf/wbdemo

in_bridge() { nsenter --net=/run/netns/$prefix-b "$@"; }
wb() { in_bridge "$bin" "$@" -c "$cfg"; }

cleanup() {
  local rc=$?
  if ((keep)) && ((rc == 0)); then return; fi
  if [[ -f $cfg ]] && [[ -e /run/netns/$prefix-b ]]; then wb down >/dev/null 2>&1 || true; fi
  ./deploy/topology.sh down "$prefix" || true
  rm -rf "$lab" "$pins"
  ((rc == 0)) || echo "demo.sh: failed (exit $rc); everything it created was removed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
wait_listen() {  # namespace port: bounded wait for a TCP listener
  local i
  for i in $(seq 1 100); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN && return 0
    sleep 0.1
  done
  echo "demo.sh: nothing listens on port $2 in $1" >&2
  return 1
}
declare -a results=()
result() { results+=("$(printf '%-56s %s' "$1" "$2")"); }

step "dependencies"
./deploy/install-deps.sh

step "build"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
fi
cmake -S . -B build -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target wirebump wb_ms_turn_peer

step "kernel capabilities"
"$bin" run --check-kernel

step "lab: $prefix-c (client 192.0.2.1) <-> $prefix-b (br0: eth1, eth2) <-> $prefix-s (server 192.0.2.2)"
./deploy/topology.sh down "$prefix"
rm -rf "$lab" "$pins" && mkdir -p "$lab/www"
./deploy/topology.sh up "$prefix"
# One lab CA signs the servers' certificates; the bridge trusts it as its upstream trust store.
tests/peers/test_certs.sh "$lab" sip.example.test 192.0.2.2
echo "hello through wirebump" >"$lab/www/index.html"

step "wirebump run on the bridge"
cat >"$cfg" <<EOF
bridge = "br0"
ports = ["eth1", "eth2"]
run_dir = "$lab/run"
state_dir = "$lab/state"
pin_dir = "$pins"
workers = 2
candidate_ports = [443, 5061]
trust_store = "$lab/ca.pem"
EOF
in_bridge "$bin" run -c "$cfg" >"$lab/agent.log" 2>&1 &
for _ in $(seq 1 100); do wb status >/dev/null 2>&1 && break; sleep 0.2; done
wb status >/dev/null || { cat "$lab/agent.log"; exit 1; }
issuer=$(find "$lab/state" -name issuer.crt | head -1)
echo "agent up; clients trust its issuer $issuer"

step "bypassed: 2 MB over TCP 9000 (not a candidate port: never leaves the kernel)"
ip netns exec "$prefix-s" socat -u TCP4-LISTEN:9000,reuseaddr CREATE:"$lab/received" &
sink=$!
wait_listen "$prefix-s" 9000
head -c 2000000 /dev/urandom >"$lab/sent"
ip netns exec "$prefix-c" socat -u FILE:"$lab/sent" TCP4:192.0.2.2:9000
wait "$sink"
cmp -s "$lab/sent" "$lab/received" && result "TCP 9000 bypassed in kernel, 2 MB intact" yes ||
  result "TCP 9000 bypassed in kernel, 2 MB intact" NO

step "intercepted: curl https://192.0.2.2/ (nginx), client trusts only the wirebump issuer"
cat >"$lab/nginx.conf" <<EOF
user root; worker_processes 1; pid $lab/nginx.pid; error_log $lab/nginx-error.log;
events {}
http { access_log $lab/access.log; client_body_temp_path $lab/nginx-body;
  server { listen 443 ssl; ssl_certificate $lab/server.pem; ssl_certificate_key $lab/server.key;
           root $lab/www; } }
EOF
ip netns exec "$prefix-s" nginx -c "$lab/nginx.conf" -g 'daemon off;' &
nginx=$!
wait_listen "$prefix-s" 443
body=$(ip netns exec "$prefix-c" curl -sS --max-time 10 --cacert "$issuer" https://192.0.2.2/ 2>&1 || true)
ip netns exec "$prefix-c" curl -sS --max-time 10 --cacert "$issuer" -v https://192.0.2.2/ -o /dev/null 2>"$lab/curl.v" || true
grep -E 'subject:|issuer:' "$lab/curl.v" | sed 's/^\* */   /'
[[ $body == "hello through wirebump"* ]] && grep -q 'issuer: .*wirebump' "$lab/curl.v" &&
  result "HTTPS intercepted (forged certificate, right body)" yes ||
  result "HTTPS intercepted (forged certificate, right body)" NO
kill "$nginx"; wait "$nginx" 2>/dev/null || true

step "SIPS: SIPp (through stunnel) registers and calls via kamailio on 5061"
sed "s|@DIR@|$lab|g" tests/peers/kamailio-tls.cfg >"$lab/kamailio-tls.cfg"
ip netns exec "$prefix-s" kamailio -f "$root/tests/peers/kamailio.cfg" -DD -E -Y "$lab" \
  -A "TLS_CONFIG=\"$lab/kamailio-tls.cfg\"" >"$lab/kamailio.log" 2>&1 &
kamailio=$!
wait_listen "$prefix-s" 5061
(cd "$lab" && exec ip netns exec "$prefix-s" sipp -sf "$root/tests/peers/uas.xml" -t t1 -i 192.0.2.2 \
  -p 5070 -m 1 -nostdin -timeout 30s >"$lab/uas.log" 2>&1) &
uas=$!
wait_listen "$prefix-s" 5070
(cd "$lab" && exec ip netns exec "$prefix-c" "$root/tests/peers/sipp_tls.sh" 192.0.2.2:5061 "$issuer" \
  sip.example.test "$root/tests/peers/uac_register_call.xml" -d 5000 >"$lab/uac.log" 2>&1) &
uac=$!
sleep 3
wb sessions --protocol sips | tee "$lab/sips-sessions.txt"
sips_rc=0; wait "$uac" || sips_rc=$?
wait "$uas" || true
[[ $sips_rc -eq 0 ]] && grep -q 'REGISTER\|reg=registered' "$lab/sips-sessions.txt" &&
  result "SIPS REGISTER + call (INVITE/200/ACK/BYE) inspected" yes ||
  result "SIPS REGISTER + call (INVITE/200/ACK/BYE) inspected" NO
kill "$kamailio"; wait "$kamailio" 2>/dev/null || true

step "MS-TURN: pseudo-TLS hello + Allocate/Send/Data on 443 (relayed, never intercepted)"
ip netns exec "$prefix-s" "$peer" server --listen 192.0.2.2:443 >"$lab/msturn-server.log" 2>&1 &
msturn=$!
wait_listen "$prefix-s" 443
ip netns exec "$prefix-c" "$peer" client --connect 192.0.2.2:443 --bytes 200000 --hold-ms 4000 \
  >"$lab/msturn-client.log" 2>&1 &
client=$!
sleep 2
wb sessions --protocol ms-turn | tee "$lab/msturn-sessions.txt"
turn_rc=0; wait "$client" || turn_rc=$?
grep -h 'allocated\|ok' "$lab/msturn-client.log" | sed 's/^/   /'
[[ $turn_rc -eq 0 ]] && grep -q 'alloc=' "$lab/msturn-sessions.txt" &&
  result "MS-TURN allocation + 200 kB relayed, seen by inspector" yes ||
  result "MS-TURN allocation + 200 kB relayed, seen by inspector" NO
kill "$msturn"; wait "$msturn" 2>/dev/null || true

step "what the bridge counted (wirebump status)"
wb status

step "summary"
printf '%s\n' "${results[@]}"
failed=$(printf '%s\n' "${results[@]}" | grep -c ' NO$' || true)

if ((keep)) && ((failed == 0)); then
  cat <<KEEP

The lab and the agent are still running. Reach them with:
  ip netns exec $prefix-c bash                  # the client (192.0.2.1, 2001:db8::1)
  ip netns exec $prefix-s bash                  # the server (192.0.2.2, 2001:db8::2)
  nsenter --net=/run/netns/$prefix-b bash       # the bridge (keeps /sys/fs/bpf visible)
  nsenter --net=/run/netns/$prefix-b $bin status -c $cfg
  bpftool map dump pinned $pins/wb_counters
Remove everything with:
  nsenter --net=/run/netns/$prefix-b $bin down -c $cfg; deploy/topology.sh down $prefix; rm -rf $lab
KEEP
fi
((failed == 0))
