#!/usr/bin/env bash
# Side-by-side benchmark (issue 8): wirebump against the middleboxes users would pick instead, in
# ONE netns topology with the same client, the same nginx and the same certificates, in one run:
#   direct        client -> server over a veth pair (no bridge, no middlebox)
#   bridge        the plain Linux bridge br0, nothing attached
#   sslsplit      sslsplit 0.5.5, tproxy engine                       } transparent interception in
#   squid         Squid 5.7 (squid-openssl), https_port tproxy ssl-bump } the bridge namespace, as
#                 (spoofs the client's address upstream)               } each one's documentation
#   mitmproxy     mitmproxy 8.1, --mode transparent (NAT REDIRECT)     } says (compare/steer.sh)
#   wb-bypass     wirebump attached, intercept off (kernel bypass)
#   wb-relay      wirebump, steered and relayed untouched (policy tunnel rule)
#   wb-intercept  wirebump, intercepted with forged certificates
# Each configuration is first checked (the client sees the interception CA as issuer, or nginx's
# own CA where nothing intercepts; for sslsplit and Squid also that the connection went through
# the TPROXY rule, and for Squid that the server answered the spoofed client address); one that
# fails the check is reported failed, its figures do not count. Rounds are interleaved (every
# configuration once per round); medians are reported.
# Figures: new HTTPS connections/s (fresh TCP+TLS each, no resumption), one bulk download,
# open-loop TTFB p50/p99, PSS/RSS per idle intercepted connection (1,000 and ~10,000), middlebox
# CPU ms per new connection and CPU s per GB. Output: a Markdown table + PNG charts.
# Beside the CPU per new connection, every round measures its floor on this machine at that
# moment: what OpenSSL alone spends on the two TLS 1.3 handshakes of an intercepted connection
# ($build/tests/intercept/handshake_floor_bench, ~8 s right before and again right after
# wb-intercept's new connections, the mean of both), quoted as "x floor".
#
#   tests/bench/compare.sh [--build DIR] [--rounds N] [--out DIR] [--quick] [--only CFG,...] [--no-idle]
#                          [--profile] [--idle-counts N,...]
#     --quick   1 round, small counts, < 2 minutes, output in a temp dir (tests/run.sh runs it)
#     --out     where compare.md and the charts go (default: docs/benchmarks/, full run only)
#     --only    measure only these configurations (direct is always measured: every ratio needs
#               it); output in a temp dir unless --out is given. For working on one figure.
#     --no-idle skip the idle-memory step (the longest one)
#     --idle-counts  the idle-memory steps (default 1000 and as close to 10,000 as the
#               open-files limit allows)
#     --profile perf with DWARF call graphs (not frame pointers) during wb-intercept's first
#               new-connections run: adds the inclusive cost of OpenSSL's exported functions
#   WB_CMP_CONFIG='key = value'  top-level lines added to wirebump's config, to measure a switch
#               (e.g. WB_CMP_CONFIG='compact_idle_sessions = false')
# Needs root and the packages of deploy/install-deps.sh. Removes everything it started on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=$here/build
rounds=3 quick=0 out="" only="" idle=1 profile=0 idle_counts=""
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --only) only=$2; shift 2 ;;
    --no-idle) idle=0; shift ;;
    --profile) profile=1; shift ;;
    --idle-counts) idle_counts=$2; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
all_configs=(direct bridge sslsplit squid mitmproxy wb-bypass wb-relay wb-intercept)
for cfg in ${only//,/ }; do
  [[ " ${all_configs[*]} " == *" $cfg "* ]] || { echo "compare.sh: --only: unknown configuration '$cfg' (${all_configs[*]})" >&2; exit 2; }
done
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 10)); then echo "compare.sh: --rounds 1..10" >&2; exit 2; fi
[[ -x $build/agent/cli/wirebump ]] || { echo "compare.sh: missing $build/agent/cli/wirebump" >&2; exit 1; }
[[ -x $build/tests/intercept/handshake_floor_bench ]] ||
  { echo "compare.sh: missing $build/tests/intercept/handshake_floor_bench (cmake --build $build --target handshake_floor_bench)" >&2; exit 1; }
for tool in sslsplit squid mitmdump nginx curl nft gnuplot python3; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool missing (deploy/install-deps.sh)" >&2; exit 1; }
done

# Raise the hard open-files limit where root may (CAP_SYS_RESOURCE; not in every sandbox: here
# it stays 20,000 and the second idle step measures 9,800): 10,000 idle intercepted connections
# need 20,000 descriptors and some spare.
ulimit -Hn 65536 2>/dev/null || true
hard=$(ulimit -Hn)
ulimit -n "$hard"
# An intercepting middlebox holds two sockets per connection: ~10,000 needs 20,000 descriptors.
max_conns=$(((hard - 400) / 2)); ((max_conns > 10000)) && max_conns=10000
if ((quick)); then
  rounds=1 cps_n=200 bulk_mb=20 ttfb_rate=10 ttfb_s=2 mem_counts=(200) hold_seconds=30
else
  cps_n=2000 bulk_mb=100 ttfb_rate=20 ttfb_s=15 mem_counts=(1000 "$max_conns") hold_seconds=400
fi
if [[ -n $idle_counts ]]; then
  read -ra mem_counts <<<"${idle_counts//,/ }"
  for n in "${mem_counts[@]}"; do
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 10 || n > max_conns)); then
      echo "compare.sh: --idle-counts: $n is not in 10..$max_conns" >&2; exit 2
    fi
  done
fi

# Namespaces and pins: "wbt..." (swept by tests/run.sh after a crash) for the quick run CI makes;
# a full run (~20 min, by hand) uses "wbcmp..." so another session's tests/run.sh, which sweeps
# every wbt* namespace and pin when it starts, cannot pull the lab away mid-run.
((quick)) && P=wbtcmp$$ || P=wbcmp$$
dir=$(mktemp -d /tmp/wbtcmp.XXXXXX)
[[ -n $out ]] || { ((quick)) || [[ -n $only ]] && out=$dir/out || out=$here/docs/benchmarks; }
bundle=$dir/pki/bundle.pem
wb_bin=$dir/wirebump-bin   # a copy: a rebuild of $build during the run must not change it
floor_bin=$dir/handshake-floor-bin   # likewise

source "$here/tests/bench/compare/lab.sh"
source "$here/tests/bench/compare/peers.sh"
source "$here/tests/bench/compare/steer.sh"
source "$here/tests/bench/compare/wirebump.sh"
source "$here/tests/bench/compare/measure.sh"

cleanup() {
  local rc=$?
  set +e
  wb_stop
  peers_stop
  [[ -e $dir/nginx/nginx.pid ]] && kill "$(cat "$dir/nginx/nginx.pid")" 2>/dev/null
  "$here/deploy/topology.sh" down "$P"
  rm -rf "/sys/fs/bpf/$P"
  if ((rc != 0)); then
    echo "compare.sh: failed (exit $rc); logs:" >&2
    tail -n 5 "$dir"/*/log "$dir"/wirebump/agent.log "$dir"/squid/cache.log >&2 2>/dev/null
  fi
  rm -rf "${dir:?}"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

configs=()
for cfg in "${all_configs[@]}"; do
  [[ -z $only || $cfg == direct || ,$only, == *,$cfg,* ]] && configs+=("$cfg")
done
selected() { [[ " ${configs[*]} " == *" $1 "* ]]; }
any_wb() { selected wb-bypass || selected wb-relay || selected wb-intercept; }
wb_issuer_cn=""
cfg_addr() { [[ $1 == direct ]] && echo 198.51.100.2 || echo 192.0.2.2; }
cfg_issuer() {
  case $1 in
    sslsplit | squid | mitmproxy) echo "compare $1 CA" ;;
    wb-intercept) echo "$wb_issuer_cn" ;;
    *) echo "compare lab CA" ;;
  esac
}
cfg_leader() {
  case $1 in
    sslsplit | squid | mitmproxy) echo "${peer_leader[$1]}" ;;
    wb-*) echo "$wb_leader" ;;
    *) echo "" ;;
  esac
}
cfg_on() {
  case $1 in
    sslsplit | squid | mitmproxy) steer_on "$1" ;;
    wb-*) wb_mode "${1#wb-}" ;;
  esac
}
cfg_off() {
  case $1 in
    sslsplit | squid | mitmproxy) steer_off ;;
  esac
}

# Is the configuration what it claims? Issuer + body, and for wirebump whether the agent relayed
# the check's connection (relay, intercept) or did not see it (bypass).
verify() {  # cfg round
  local cfg=$1 why a0 a1
  [[ $cfg == wb-* ]] && a0=$(wb_accepted)
  if ! check "$cfg" "$2" || { [[ $cfg == sslsplit || $cfg == squid ]] && ! tproxy_proof "$cfg"; }; then
    why=$check_why
    echo "  $cfg: CHECK FAILED: $why" >&2
    record "$cfg" "$2" check_failed "${why// /_}"
    case $cfg in
      sslsplit | mitmproxy) tail -n 5 "$dir/$cfg/log" >&2 ;;
      squid) tail -n 5 "$dir/squid/log" "$dir/squid/cache.log" >&2 ;;
      wb-*) tail -n 5 "$dir/wirebump/agent.log" >&2 ;;
    esac
    return 1
  fi
  if [[ $cfg == sslsplit || $cfg == squid ]]; then record "$cfg" "$2" tproxy "${tproxy_counts// /,}"; fi
  if [[ $cfg == wb-* ]]; then
    a1=$(wb_accepted)
    if { [[ $cfg == wb-bypass ]] && ((a1 != a0)); } || { [[ $cfg != wb-bypass ]] && ((a1 == a0)); }; then
      echo "  $cfg: CHECK FAILED: agent relayed $((a1 - a0)) connections" >&2
      record "$cfg" "$2" check_failed "agent_relayed_$((a1 - a0))"
      return 1
    fi
  fi
  return 0
}

measure_round() {  # cfg round
  local cfg=$1 r=$2
  # The floor right before and right after the CPU figure it is quoted beside (the agent idles
  # meanwhile), so that both see the machine as the figure did.
  if [[ $cfg == wb-intercept ]]; then openssl_floor "$r" before; fi
  cfg_on "$cfg"
  if verify "$cfg" "$r"; then
    local prof=""
    if [[ $cfg == wb-intercept ]] && ((r == 1 && (!quick || profile))) && command -v perf >/dev/null; then
      # Where the agent spends its CPU while accepting new intercepted connections (flat
      # profile, user + kernel in the agent's threads); kept beside the results.
      # --profile: DWARF unwinding, since libcrypto has no frame pointers (and no symbols for its
      # internal functions): the inclusive view then names the exported OpenSSL calls they sit under.
      local cg=(-g)
      # shellcheck disable=SC2054  # dwarf,16384 is one argument
      ((profile)) && cg=(--call-graph dwarf,16384 -F 199)
      perf record -q -F 499 "${cg[@]}" -p "$wb_leader" -o "$dir/perf.data" -- sleep 10 >/dev/null 2>&1 &
      prof=$!
    fi
    cps "$cfg" "$r" "$cps_n"
    if [[ $cfg == wb-intercept ]]; then openssl_floor "$r" after; fi
    if [[ -n $prof ]]; then
      wait "$prof" || true
      {
        echo "# wirebump agent, wb-intercept, new connections run of round 1: share by library, then by symbol"
        perf report -i "$dir/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
        perf report -i "$dir/perf.data" --stdio --no-children --sort dso,sym --percent-limit 0.7 \
          -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
        if ((profile)); then
          echo "# inclusive (children): share of samples under each symbol, wirebump's and OpenSSL's exported ones"
          perf report -i "$dir/perf.data" --stdio --children --sort sym --percent-limit 2 -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | grep -v ' 0x0000' | head -80
        fi
      } | sed 's/  *$//' >"$dir/perf-wb-intercept.txt" || true
      # For digging further (perf report -i ...); the raw data is not part of the results.
      [[ -n ${WB_CMP_KEEP_PERF:-} ]] && cp "$dir/perf.data" "$WB_CMP_KEEP_PERF"
    fi
    bulk "$cfg" "$r"
    ttfb "$cfg" "$r" "$ttfb_rate" "$ttfb_s"
    ((r > 1)) || ttfb_phases "$cfg" "$r" "$ttfb_rate" "$(((ttfb_s + 2) / 3))"
    ((quick || r > 1)) || cps "$cfg" "$r" 400 256 cps_reuse
    echo "  $cfg: $(awk -F'\t' -v c="$cfg" -v r="$r" '
      $1 == "openssl-floor" && $2 == r && $3 == "floor_ms_per_conn" {floor = $4}
      $1 == c && $2 == r && $3 ~ /^(cps|bulk_mbps|cpu_ms_per_conn|cpu_s_per_gb)$/ {printf "%s=%s ", $3, $4; if ($3 == "cpu_ms_per_conn") cpu = $4}
      END {if (floor > 0 && cpu != "") printf "cpu_x_floor=%.2f", cpu / floor}' "$dir/results.tsv")" >&2
  fi
  cfg_off "$cfg"
}

start_s=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== lab $P (scratch $dir)" >&2
cp "$build/agent/cli/wirebump" "$wb_bin"
cp "$build/tests/intercept/handshake_floor_bench" "$floor_bin"
: >"$dir/results.tsv"
lab_up
lab_certs
lab_nginx
if selected sslsplit || selected squid || selected mitmproxy; then peers_start; fi
wb_start
wb_issuer_cn=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$(wb_issuer)" | sed 's/^subject=CN=//; s/,.*//')
cat "$dir/pki/lab-ca.pem" "$dir"/pki/{sslsplit,squid,mitmproxy}-ca.pem "$(wb_issuer)" >"$bundle"
chmod 644 "$bundle"
wb_stop

for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  for cfg in direct bridge sslsplit squid mitmproxy; do selected "$cfg" && measure_round "$cfg" "$r"; done
  # Without wb-intercept (measure_round runs it there), the peers' CPU still gets its floor.
  if ! selected wb-intercept && { selected sslsplit || selected squid || selected mitmproxy; }; then openssl_floor "$r"; fi
  if any_wb; then
    wb_start
    for cfg in wb-bypass wb-relay wb-intercept; do selected "$cfg" && measure_round "$cfg" "$r"; done
    wb_stop
  fi
done

((idle)) || mem_counts=()
echo "== idle connections (${mem_counts[*]:-skipped})" >&2
for n in "${mem_counts[@]}"; do
  for cfg in sslsplit squid mitmproxy; do
    selected "$cfg" || continue
    cfg_on "$cfg"; idle_mem "$cfg" "$n"; cfg_off "$cfg"
  done
  if selected wb-intercept; then wb_start; wb_mode intercept; idle_mem wb-intercept "$n"; wb_stop; fi
done

load1=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p "$out/compare"
if [[ -s $dir/perf-wb-intercept.txt ]]; then cp "$dir/perf-wb-intercept.txt" "$out/compare/"; fi
cp "$dir/results.tsv" "$out/compare/results.tsv"   # the raw figures, beside the charts
python3 "$here/tests/bench/compare/report.py" --results "$dir/results.tsv" --ttfb-dir "$dir" \
  --out "$out" --quick "$quick" --configs "${configs[*]}" --meta "rounds=$rounds" "cps_n=$cps_n" "bulk_mb=$bulk_mb" \
  "ttfb_rate=$ttfb_rate" "ttfb_s=$ttfb_s" "load_start=$load0" "load_end=$load1" \
  "seconds=$(($(date +%s) - start_s))" "max_conns=$max_conns"
