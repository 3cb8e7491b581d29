#!/usr/bin/env bash
# Datapath benchmark (not a test): iperf3 client -> server throughput, in one run, through
#   (a) the plain Linux bridge,
#   (b) the same bridge with wirebump's TC classifier on both ports, the flow bypassed
#       (port 5201 is not a candidate port),
#   (c) a direct veth pair (no bridge: the ceiling),
# interleaved round by round (a, b, c, a, b, c, ...) so that machine noise hits all three alike;
# medians and ratios. Target: (b) >= 0.97 x (a). Then the classifier's own cost per packet from
# BPF_PROG_TEST_RUN with a repeat count (ns/packet).
#
#   tests/bench/datapath.sh [--build DIR] [--runs N] [--seconds S]
# Needs root, iperf3, a build with wb_datapath_bench. Cleans up namespaces and pins on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/bench/lib.sh"
build=$here/build
runs=5
seconds=3
usage() {
  cat <<EOF
usage: $0 [--build DIR] [--runs N] [--seconds S]
  iperf3 throughput (TCP :5201, bypassed) through (a) the plain bridge, (b) the bridge with
  wirebump's classifier on both ports, (c) a direct veth pair; medians, ratios, target
  (b) >= 0.97 x (a); then the classifier's ns/packet from BPF_PROG_TEST_RUN.
  --build DIR    build directory with tests/datapath/wb_datapath_bench (default: build)
  --runs N       rounds of (a, b, c), 1..50 (default 5)
  --seconds S    iperf3 seconds per measurement, 1..60 (default 3)
Needs root and iperf3; removes its namespaces and pins on exit. Results: docs/benchmarks/datapath.md
EOF
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
tool=$build/tests/datapath/wb_datapath_bench
[[ -x $tool ]] || { echo "missing $tool (cmake --build $build --target wb_datapath_bench)" >&2; exit 1; }
(( runs >= 1 && runs <= 50 && seconds >= 1 && seconds <= 60 )) || { echo "runs 1..50, seconds 1..60" >&2; exit 2; }

p=wbtbench$$
pins=/sys/fs/bpf/wbt-$p
cleanup() {
  "$tool" detach "$p-b" "$pins" eth1 eth2 >/dev/null 2>&1 || true
  rm -rf "$pins" 2>/dev/null || true
  pkill -P $$ iperf3 2>/dev/null || true
  "$here/deploy/topology.sh" down "$p" || true
  for ns in "$p-d1" "$p-d2"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT

"$here/deploy/topology.sh" up "$p" >/dev/null
# The direct pair: same addresses, its own namespaces.
ip netns add "$p-d1"
ip netns add "$p-d2"
ip link add d1 netns "$p-d1" type veth peer name d2 netns "$p-d2"
ip -n "$p-d1" addr add 192.0.2.1/24 dev d1
ip -n "$p-d2" addr add 192.0.2.2/24 dev d2
for ns in "$p-d1" "$p-d2"; do ip -n "$ns" link set lo up; done
ip -n "$p-d1" link set d1 up
ip -n "$p-d2" link set d2 up

ip netns exec "$p-s" iperf3 -s -D -p 5201 --pidfile "/tmp/$p-s.pid"
ip netns exec "$p-d2" iperf3 -s -D -p 5201 --pidfile "/tmp/$p-d2.pid"
sleep 0.5

measure() { wb_iperf_gbps "$1" 192.0.2.2 5201 "$seconds"; }

declare -a A B C
for ((i = 0; i < runs; i++)); do
  A+=("$(measure "$p-c")")
  nsenter --net="/run/netns/$p-b" "$tool" attach "$p-b" "$pins" eth1 eth2
  B+=("$(measure "$p-c")")
  "$tool" detach "$p-b" "$pins" eth1 eth2
  C+=("$(measure "$p-d1")")
  echo "round $((i + 1))/$runs: bridge ${A[i]}  bridge+classifier ${B[i]}  veth ${C[i]} Gbit/s" >&2
done
# The bypass counters prove (b) really ran through the classifier: one last attached run.
nsenter --net="/run/netns/$p-b" "$tool" attach "$p-b" "$pins" eth1 eth2
measure "$p-c" >/dev/null
counters=$("$tool" counters "$pins")
"$tool" detach "$p-b" "$pins" eth1 eth2

ma=$(wb_median "${A[@]}"); mb=$(wb_median "${B[@]}"); mc=$(wb_median "${C[@]}")
mr=$(wb_round_ratio_median B A)

echo
wb_machine
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); iperf3 ${seconds}s x $runs runs per path, interleaved"
echo
echo "| path | median Gbit/s | runs | vs plain bridge |"
echo "| --- | --- | --- | --- |"
echo "| (a) plain bridge | $ma | ${A[*]} | 1.000 |"
echo "| (b) bridge + classifier, flow bypassed | $mb | ${B[*]} | $(wb_ratio "$mb" "$ma") |"
echo "| (c) direct veth pair | $mc | ${C[*]} | $(wb_ratio "$mc" "$ma") |"
echo
echo "median of per-round ratios (b)/(a): $mr"
if awk -v b="$mb" -v a="$ma" 'BEGIN {exit !(b >= 0.97 * a)}'; then
  echo "target (b) >= 0.97 x (a) on medians: met"
else
  echo "target (b) >= 0.97 x (a) on medians: NOT met"
fi
echo
echo "classifier counters during one attached run:"
echo "$counters"
echo
echo "classifier cost per packet (BPF_PROG_TEST_RUN, repeat 1000000; includes the test run's own skb setup):"
"$tool" nsperpkt 1000000
