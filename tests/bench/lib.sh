# shellcheck shell=bash
# Shared helpers of the benchmark scripts (tests/bench/*.sh): source it, nothing runs on its own.
# Generic on purpose (no topology names, no wirebump specifics) so that any bench can use it.
#
#   . "$(dirname "$0")/lib.sh"

# Median of the numeric arguments (mean of the two middle ones for an even count).
wb_median() {
  printf '%s\n' "$@" | sort -g |
    awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}

# x / y with three decimals; 0 when y is 0.
wb_ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.3f", (y > 0) ? x / y : 0}'; }

# Median of the per-round ratios of two arrays given by name (b_i / a_i): each pair ran back to
# back, so this resists the slow drifts of a shared machine better than a ratio of medians.
wb_round_ratio_median() {
  local -n _num=$1 _den=$2
  local -a r=()
  local i
  for ((i = 0; i < ${#_num[@]}; i++)); do r+=("$(wb_ratio "${_num[i]}" "${_den[i]}")"); done
  wb_median "${r[@]}"
}

# iperf3 receiver Gbit/s from namespace NS to HOST:PORT for SECONDS; retried (a run can fail to
# connect on a busy host); prints 0 after three failures.
wb_iperf_gbps() {
  local ns=$1 host=$2 port=$3 seconds=$4 try out
  for try in 1 2 3; do
    out=$(timeout $((seconds + 20)) ip netns exec "$ns" iperf3 -c "$host" -p "$port" -t "$seconds" -J || true)
    if python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' <<<"$out" 2>/dev/null; then
      return 0
    fi
    echo "iperf3 to $host:$port failed (try $try): $(python3 -c 'import json,sys; print(json.load(sys.stdin).get("error", "?"))' <<<"$out" 2>&1 | tail -1)" >&2
    sleep 1
  done
  echo 0
}

# Waits (5 s at most per port) until TCP PORT... listen in namespace NS.
wb_wait_listening() {
  local ns=$1 port
  shift
  for port in "$@"; do
    for _ in $(seq 1 50); do
      ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q LISTEN && break
      sleep 0.1
    done
  done
}

# One line describing the machine and its load, for the report header.
wb_machine() {
  echo "machine: $(nproc) vCPU, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
