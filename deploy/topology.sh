#!/usr/bin/env bash
# A client / bridge / server lab in three network namespaces, for the demo and the e2e tests.
#
#   PREFIX-c  client   cli0 192.0.2.1/24  2001:db8::1/64
#   PREFIX-b  bridge   br0 (ports eth1 <-> client, eth2 <-> server) 192.0.2.254/24 2001:db8::fe/64
#   PREFIX-s  server   srv0 192.0.2.2/24  2001:db8::2/64
#
# Addresses are documentation ranges and exist only inside these namespaces.
set -euo pipefail

usage() {
  cat <<USAGE
usage: deploy/topology.sh up PREFIX [--no-offload]   create PREFIX-c, PREFIX-b, PREFIX-s
       deploy/topology.sh down PREFIX                 remove them (idempotent)
       deploy/topology.sh sweep PATTERN               remove every namespace matching PATTERN*
--no-offload turns tx checksum offload off on the endpoints (needed with native XDP redirect).
USAGE
}

up() {
  local p=$1 offload=${2:-}
  local c=$p-c b=$p-b s=$p-s
  ip netns add "$c"
  ip netns add "$b"
  ip netns add "$s"
  ip link add cli0 netns "$c" type veth peer name eth1 netns "$b"
  ip link add srv0 netns "$s" type veth peer name eth2 netns "$b"
  ip -n "$b" link add br0 type bridge
  ip -n "$b" link set eth1 master br0
  ip -n "$b" link set eth2 master br0
  for ns in "$c" "$b" "$s"; do
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip -n "$c" addr add 192.0.2.1/24 dev cli0
  ip -n "$c" addr add 2001:db8::1/64 dev cli0 nodad
  ip -n "$s" addr add 192.0.2.2/24 dev srv0
  ip -n "$s" addr add 2001:db8::2/64 dev srv0 nodad
  ip -n "$b" addr add 192.0.2.254/24 dev br0
  ip -n "$b" addr add 2001:db8::fe/64 dev br0 nodad
  ip -n "$c" link set cli0 up
  ip -n "$s" link set srv0 up
  ip -n "$b" link set eth1 up
  ip -n "$b" link set eth2 up
  ip -n "$b" link set br0 up
  if [[ $offload == --no-offload ]]; then
    ip netns exec "$c" ethtool -K cli0 tx off >/dev/null
    ip netns exec "$s" ethtool -K srv0 tx off >/dev/null
  fi
  # Wait (bounded) until the bridge forwards: the ports leave the listening state at once with
  # STP off, but IPv6 link-local setup races the first packets.
  local i
  for i in $(seq 1 50); do
    ip netns exec "$c" ping -c1 -W1 -q 192.0.2.2 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "topology.sh: $p: client cannot reach server through br0" >&2
  return 1
}

down() {
  local p=$1 ns pid
  for ns in "$p-c" "$p-b" "$p-s"; do
    [[ -e /run/netns/$ns ]] || continue
    # Processes still inside the namespace would keep it (and its interfaces) alive.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

sweep() {
  local pattern=$1 ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $ns == "$pattern"* ]] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

case ${1:-} in
  up) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; up "$2" "${3:-}" ;;
  down) [[ $# -eq 2 ]] || { usage >&2; exit 2; }; down "$2" ;;
  sweep) [[ $# -eq 2 && -n $2 ]] || { usage >&2; exit 2; }; sweep "$2" ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
