#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, creates a client / bridge / server
# lab in network namespaces, runs wirebump on the bridge, sends a short traffic mix and prints
# what the bridge did.
#   deploy/demo.sh          run, print the summary, remove everything (also on failure or Ctrl-C)
#   deploy/demo.sh --keep   leave the lab running and print how to reach it
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
keep=0
case ${1:-} in
  --keep) keep=1 ;;
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

prefix=wbdemo
lab=/tmp/wirebump-demo
bin=$root/build/agent/cli/wirebump

cleanup() {
  local rc=$?
  if ((keep)) && ((rc == 0)); then return; fi
  ./deploy/topology.sh down "$prefix" || true
  rm -rf "$lab"
  ((rc == 0)) || echo "demo.sh: failed (exit $rc); everything it created was removed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
./deploy/install-deps.sh

step "build"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target wirebump

step "kernel capabilities"
"$bin" run --check-kernel

step "lab: $prefix-c (client 192.0.2.1) <-> $prefix-b (br0: eth1, eth2) <-> $prefix-s (server 192.0.2.2)"
./deploy/topology.sh down "$prefix"
rm -rf "$lab" && mkdir -p "$lab"
./deploy/topology.sh up "$prefix"

step "traffic: TCP 9000 through the bridge"
ip netns exec "$prefix-s" socat -u TCP4-LISTEN:9000,reuseaddr CREATE:"$lab/received" &
server=$!
for _ in $(seq 1 50); do
  ip netns exec "$prefix-s" ss -Hltn 'sport = :9000' | grep -q LISTEN && break
  sleep 0.1
done
head -c 2000000 /dev/urandom >"$lab/sent"
ip netns exec "$prefix-c" socat -u FILE:"$lab/sent" TCP4:192.0.2.2:9000
wait "$server"
cmp -s "$lab/sent" "$lab/received" && tcp_ok=yes || tcp_ok=NO

step "summary"
printf '%-40s %s\n' "TCP 9000 client -> server (2 MB intact)" "$tcp_ok"
[[ $tcp_ok == yes ]]

if ((keep)); then
  cat <<KEEP

The lab is still running. Reach it with:
  ip netns exec $prefix-c bash        # the client (192.0.2.1, 2001:db8::1)
  ip netns exec $prefix-s bash        # the server (192.0.2.2, 2001:db8::2)
  nsenter --net=/run/netns/$prefix-b bash   # the bridge (keeps /sys/fs/bpf visible)
Remove it with:  deploy/topology.sh down $prefix
KEEP
fi
