# shellcheck shell=bash disable=SC2154  # the variables under Needs: are compare.sh's, it sources this file
# Measurements of tests/bench/compare.sh (sourced). Every figure is one line of
# $dir/results.tsv: configuration, round, metric, value. The client is always the same: curl
# (checks, new connections/s, bulk) and compare/ttfb.py, compare/hold.py, in the client namespace,
# trusting one bundle ($bundle: the lab CA and every interception CA) and reaching nginx by name.
# Needs: $P, $dir, $here, $bundle, $bulk_mb, $floor_bin, and cfg_addr/cfg_issuer/cfg_leader
# (compare.sh).

in_client() { ip netns exec "$P-c" "$@"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$dir/results.tsv"; }

# Every run gets client source ports that no connection used in the last 65 s (longer than
# TIME_WAIT), so a TIME_WAIT left by an earlier run (in a middlebox, the server or conntrack)
# cannot decide a later run's figures. The kernel picks ports at random within the range, so a
# run of N connections gets 10 N ports (a 3 N range still reused ~20 % of them). Blocks are taken
# in turn from 2000-64999; wrapping onto a block used less than 65 s ago waits. cps_reuse
# measures the opposite on purpose (a small range: every port reused within seconds).
next_port=2000
declare -a port_blocks=()   # "start end epoch-seconds" of every block handed out
fresh_ports() {  # count
  local n=$1 a b last=0 blk s e t
  ((n > 60000)) && n=60000
  ((next_port + n > 65000)) && next_port=2000
  a=$next_port b=$((next_port + n))
  for blk in "${port_blocks[@]}"; do
    read -r s e t <<<"$blk"
    ((s < b && e > a && t > last)) && last=$t
  done
  local wait_s=$((last + 65 - $(date +%s)))
  if ((last > 0 && wait_s > 0)); then
    echo "  (waiting ${wait_s}s: client ports $a-$b were used less than 65 s ago)" >&2
    sleep "$wait_s"
  fi
  port_blocks+=("$a $b $(date +%s)")
  in_client sysctl -qw net.ipv4.ip_local_port_range="$a $((b - 1))"
  next_port=$b
}

# CPU (utime+stime, plus children reaped) and memory of every process of a middlebox.
cpu_ticks() {  # leader -> ticks
  local pid sum=0 t
  for pid in $(mb_pids "$1"); do
    t=$(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || continue
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}
mem_kib() {  # leader -> "pss_kib rss_kib"
  local pid
  for pid in $(mb_pids "$1"); do cat "/proc/$pid/smaps_rollup" 2>/dev/null; done |
    awk '/^Pss:/ {p += $2} /^Rss:/ {r += $2} END {print p + 0, r + 0}'
}
now() { date +%s.%N; }
# SYNs the bridge namespace's listeners dropped (accept queue or SYN queue full): where a
# middlebox loses connections under load. Absolute counters (-a), history file untouched (-s).
drops() {
  ip netns exec "$P-b" nstat -asz TcpExtListenDrops TcpExtTCPReqQFullDrop |
    awk '$1 ~ /^TcpExt/ {s += $2} END {print s + 0}'
}
hz=$(getconf CLK_TCK)

curl_base() {  # cfg -> the client's curl options for that configuration
  printf '%s\n' -sS --no-progress-meter --http1.1 --no-sessionid --cacert "$bundle" --resolve "www.example.test:443:$(cfg_addr "$1")"
}

# The client really sees the expected issuer (the middlebox's CA when it intercepts, the lab CA
# when not) and the right body. Leaves the reason in $check_why when not (no subshell: the port
# allocator's state must survive).
check_why=""
check() {  # cfg round
  local cfg=$1 issuer body
  mapfile -t opts < <(curl_base "$cfg")
  fresh_ports 50
  body=$(in_client curl "${opts[@]}" -v -m 10 https://www.example.test/index.html 2>"$dir/check.err") || true
  issuer=$(sed -n 's/^\*  issuer: //p' "$dir/check.err" | head -1)
  if [[ $issuer != *"CN=$(cfg_issuer "$cfg")" || $body != "compare ok" ]]; then
    # shellcheck disable=SC2034  # read by compare.sh's verify
    check_why="issuer '${issuer:-none}' (expected CN=$(cfg_issuer "$cfg")), body '${body:0:40}' $(grep -m1 -iE 'curl: \([0-9]+\)' "$dir/check.err")"
    return 1
  fi
  record "$cfg" "$2" issuer "$issuer"
}

cps() {  # cfg round n [ports metric]: new HTTPS connections/s, every request a new TCP+TLS connection
  local cfg=$1 n=$3 ports=${4:-$(($3 * 10 + 100))} metric=${5:-cps} i c0 c1 t0 t1 d0 d1 ok leader
  mapfile -t opts < <(curl_base "$cfg")
  leader=$(cfg_leader "$cfg")
  { for ((i = 0; i < n; i++)); do echo "url = \"https://www.example.test/index.html?$i\""; echo 'output = "/dev/null"'; done; } >"$dir/urls"
  fresh_ports "$ports"
  c0=$(cpu_ticks "$leader"); t0=$(now); d0=$(drops)
  ok=$(timeout 300 ip netns exec "$P-c" curl "${opts[@]}" -m 20 --parallel --parallel-max 32 \
    -H 'Connection: close' -w '%{http_code}\n' -K "$dir/urls" | grep -c '^200$' || true)
  t1=$(now); c1=$(cpu_ticks "$leader"); d1=$(drops)
  record "$cfg" "$2" "${metric}_ok" "$ok/$n"
  record "$cfg" "$2" "${metric}_syn_drops" $((d1 - d0))
  record "$cfg" "$2" "$metric" "$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n / (b - a)}')"
  [[ -n $leader && $metric == cps ]] && ((ok > 0)) &&
    record "$cfg" "$2" cpu_ms_per_conn "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$ok" 'BEGIN {printf "%.3f", c * 1000 / hz / n}')"
  ((ok == n)) || echo "  $cfg ($metric): only $ok of $n requests answered" >&2
}

# The floor under an interceptor's CPU per new connection: what OpenSSL alone spends, in memory
# and one thread, on one server + one client TLS 1.3 handshake with wirebump's settings
# (tests/intercept/handshake_floor_bench.cpp). Run in the same round as the CPU figures it is
# quoted beside: the machine's speed moves by tens of percent within an hour, a floor from
# another run would say as much about the machine as about the code. And within a run: this
# machine's speed swings by +-25 % from one ten seconds to the next (three floors within a minute:
# 0.67, 0.92, 1.07 ms). So the variants alternate every 0.1 s (25 times, medians: their ratios
# then hold to a few percent), and the floor quoted beside wb-intercept's CPU brackets it: taken
# right before its new connections ("before", kept) and right after ("after": the mean of both
# is recorded). And twice each time: one thread (an idle neighbour vCPU), and one thread per vCPU
# (busy_floor: every vCPU busy, as while the middlebox is measured; it costs 1.2-1.5 x here).
# ~8 s per measurement. Recorded as configuration openssl-floor; a
# floor that fails is recorded as floor_failed (report.py then fails the run).
openssl_floor() {  # round [before|after]
  local out us why busy
  out=$(timeout 120 "$floor_bin" 0.1 12 1 2>&1) || true
  us=$(grep -m1 -E '^floor_us=[0-9]+ tracking_us=[0-9]+ providers_us=[0-9]+$' <<<"$out" || true)
  if [[ -n $us ]]; then
    out=$(timeout 120 "$floor_bin" 0.1 12 "$(nproc)" 2>&1) || true
    busy=$(grep -m1 -oE '^floor_us=[0-9]+' <<<"$out" || true)
    if [[ -n $busy ]]; then us="$us busy_floor_us=${busy#floor_us=}"; else us=""; fi
  fi
  if [[ -z $us ]]; then
    why=$(tail -n 1 <<<"$out")
    echo "  openssl-floor: FAILED: ${why:-no output}" >&2
    record openssl-floor "$1" floor_failed "$(tr -s ' \t' '__' <<<"${why:-no output}")"
    rm -f "$dir/floor-before"
    return 0
  fi
  if [[ ${2:-} == before ]]; then
    echo "$us" >"$dir/floor-before"
    return 0
  fi
  if [[ ${2:-} == after && -s $dir/floor-before ]]; then
    us=$(printf '%s\n%s\n' "$(cat "$dir/floor-before")" "$us" | awk '
      { for (i = 1; i <= NF; i++) { split($i, kv, "="); key[i] = kv[1]; sum[i] += kv[2] } }
      END { for (i = 1; i <= NF; i++) printf "%s%s=%.0f", (i > 1 ? " " : ""), key[i], sum[i] / NR }')
    rm -f "$dir/floor-before"
  fi
  local kv
  for kv in $us; do
    record openssl-floor "$1" "${kv%%_us=*}_ms_per_conn" "$(awk -v u="${kv#*=}" 'BEGIN {printf "%.3f", u / 1000}')"
  done
  echo "  openssl-floor: $(awk -F'\t' -v r="$1" '$1 == "openssl-floor" && $2 == r {printf "%s=%s ", $3, $4}' "$dir/results.tsv")" >&2
}

bulk() {  # cfg round: one download of bulk.bin ($bulk_mb MiB) on a fresh connection
  local cfg=$1 out c0 c1 leader speed size
  mapfile -t opts < <(curl_base "$cfg")
  leader=$(cfg_leader "$cfg")
  fresh_ports 20
  c0=$(cpu_ticks "$leader")
  out=$(timeout 300 ip netns exec "$P-c" curl "${opts[@]}" -m 240 -o /dev/null \
    -w '%{speed_download} %{size_download}' https://www.example.test/bulk.bin || true)
  c1=$(cpu_ticks "$leader")
  read -r speed size <<<"$out"
  if [[ ${size:-0} != $((bulk_mb * 1048576)) ]]; then
    echo "  $cfg: bulk download incomplete (${size:-0} bytes)" >&2
    record "$cfg" "$2" bulk_failed 1
    return 0
  fi
  record "$cfg" "$2" bulk_mbps "$(awk -v s="$speed" 'BEGIN {printf "%.1f", s / 1e6}')"
  [[ -n $leader ]] &&
    record "$cfg" "$2" cpu_s_per_gb "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v b="$size" 'BEGIN {printf "%.3f", c / hz / (b / 1e9)}')"
  return 0
}

ttfb() {  # cfg round rate seconds: open-loop TTFB samples (pooled over the rounds)
  local cfg=$1
  fresh_ports "$(awk -v r="$3" -v s="$4" 'BEGIN {printf "%d", r * s * 10 + 100}')"
  timeout 200 ip netns exec "$P-c" python3 "$here/tests/bench/compare/ttfb.py" \
    --addr "$(cfg_addr "$cfg")" --cafile "$bundle" --rate "$3" --seconds "$4" >"$dir/ttfb.json" || true
  ttfb_record "$cfg" "$2" "$dir/ttfb-$cfg.txt"
}

# Where the TTFB goes: a shorter open-loop run timing connect, handshake and first byte apart
# (ttfb.py --phases; its samples are not pooled into the headline figure, see ttfb.py).
ttfb_phases() {  # cfg round rate seconds
  local cfg=$1
  fresh_ports "$(awk -v r="$3" -v s="$4" 'BEGIN {printf "%d", r * s * 10 + 100}')"
  timeout 200 ip netns exec "$P-c" python3 "$here/tests/bench/compare/ttfb.py" --phases \
    --addr "$(cfg_addr "$cfg")" --cafile "$bundle" --rate "$3" --seconds "$4" >"$dir/ttfb.json" || true
  ttfb_record "$cfg" "$2" /dev/null
}

ttfb_record() {  # cfg round samples-file: $dir/ttfb.json into results.tsv (and the samples)
  python3 - "$1" "$2" "$dir/results.tsv" "$3" "$dir/ttfb.json" <<'PY'
import json, sys
cfg, rnd, tsv, samples, result = sys.argv[1:6]
try:
    r = json.load(open(result))
except ValueError:
    r = {"samples": [], "errors": -1, "client_cpu_share": 0}
with open(samples, "a") as f:
    f.writelines(f"{s:.3f}\n" for s in r["samples"])
with open(tsv, "a") as f:
    phases = r.get("phase_p50_ms") or {}
    if not any(v is not None for v in phases.values()):
        f.write(f"{cfg}\t{rnd}\tttfb_errors\t{r['errors']}\n{cfg}\t{rnd}\tttfb_client_cpu\t{r['client_cpu_share']}\n")
    for phase, ms in phases.items():
        if ms is not None:
            f.write(f"{cfg}\t{rnd}\tttfb_{phase}_p50\t{ms:.3f}\n")
if r["errors"]:
    print(f"  {cfg}: ttfb errors {r['errors']} {r.get('error_kinds')}", file=sys.stderr)
PY
}

# Memory per idle intercepted connection: the middlebox's PSS/RSS with N idle connections held
# by hold.py, minus before, divided by the connections actually open. "Before" is taken after a
# warm-up (N/10 connections, at most 100, held, then closed), so one-time costs (the first forged certificate,
# TLS contexts, per-thread allocator arenas, helper processes) are not charged per connection.
hold() {  # cfg n: start hold.py in the background (pid in $holder), wait until it reports
  : >"$dir/hold.out"
  # Not through in_client: a backgrounded function is a subshell, and $! would be the subshell,
  # not hold.py (killing it would leave hold.py and its connections behind).
  ip netns exec "$P-c" python3 "$here/tests/bench/compare/hold.py" --addr "$(cfg_addr "$1")" --cafile "$bundle" \
    --count "$2" --max-seconds "$hold_seconds" >"$dir/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 1 $((hold_seconds * 5 + 50))); do grep -q '^open' "$dir/hold.out" && break; sleep 0.2; done
}
unhold() { kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; sleep 2; }
idle_mem() {  # cfg n
  local cfg=$1 n=$2 leader m0 m1 line opened live
  leader=$(cfg_leader "$cfg")
  fresh_ports 1000
  hold "$cfg" $((n / 10 < 100 ? n / 10 : 100))
  unhold
  m0=$(mem_kib "$leader")
  fresh_ports $((n + 600))
  hold "$cfg" "$n"
  sleep 2
  m1=$(mem_kib "$leader")
  local compacted=""
  [[ $cfg == wb-* ]] && compacted="; TLS legs compacted $(wb_compacted)"
  # What counts is what the middlebox still holds: connections it closed behind the client's
  # back sit in CLOSE-WAIT on the client, not ESTABLISHED.
  live=$(in_client ss -Htn state established '( dport = :443 )' | wc -l)
  line=$(grep '^open' "$dir/hold.out" || echo "open 0 issuer=? (holder gave nothing)")
  unhold
  opened=$(awk '{print $2}' <<<"$line")
  echo "  $cfg idle x$n: $line; still established $live; PSS/RSS KiB before $m0, with them $m1$compacted" >&2
  if [[ $line != *"issuer=$(cfg_issuer "$cfg") "* ]]; then
    record "$cfg" mem "idle_failed_$n" "${line// /_}"
    return 0
  fi
  if ((live * 10 < opened * 9)); then
    record "$cfg" mem "idle_failed_$n" "only_${live}_of_${opened}_still_established"
    return 0
  fi
  opened=$live
  record "$cfg" mem "idle_open_$n" "$opened"
  record "$cfg" mem "idle_pss_kib_$n" "$(awk -v a="${m0% *}" -v b="${m1% *}" -v n="$opened" 'BEGIN {printf "%.1f", (b - a) / n}')"
  record "$cfg" mem "idle_rss_kib_$n" "$(awk -v a="${m0#* }" -v b="${m1#* }" -v n="$opened" 'BEGIN {printf "%.1f", (b - a) / n}')"
}
