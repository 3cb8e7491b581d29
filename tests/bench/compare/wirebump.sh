# shellcheck shell=bash disable=SC2154  # the variables under Needs: are compare.sh's, it sources this file
# wirebump in tests/bench/compare.sh (sourced): the agent on the lab's br0 (adopted, not created),
# started for the wirebump configurations of a round and stopped after them, so the direct, bridge
# and peer configurations run with nothing attached. Its state dir (the issuer the client trusts)
# lives across rounds. Three configurations of the one agent:
#   wb-bypass     `wirebump intercept off`: every flow bypasses in the kernel
#   wb-relay      intercept on + a policy rule `--dst 192.0.2.2/32:443 --action tunnel`:
#                 steered to the agent and relayed untouched
#   wb-intercept  the rule removed: intercepted with a forged certificate
# Needs: $P, $dir, $wb_bin (a copy of the binary), $max_conns.

wb_cfg=""
wb_leader=""
wb_rule=""

wb() { nsenter --net="/run/netns/$P-b" "$wb_bin" "$@" -c "$wb_cfg"; }

wb_start() {
  wb_cfg=$dir/wirebump/wirebump.toml
  mkdir -p "$dir/wirebump"
  cat >"$wb_cfg" <<TOML
bridge = "br0"
ports = ["eth1", "eth2"]
run_dir = "$dir/wirebump/run"
state_dir = "$dir/wirebump/state"
pin_dir = "/sys/fs/bpf/$P"
workers = 2
log_level = "warn"
candidate_ports = [443]
trust_store = "$dir/pki/lab-ca.pem"
${WB_CMP_CONFIG:-}
[limits]
max_sessions = $((max_conns + 1000))
max_sessions_per_client = $((max_conns + 1000))
[timeouts]
idle = 900
TOML
  nsenter --net="/run/netns/$P-b" setsid "$wb_bin" run -c "$wb_cfg" >>"$dir/wirebump/agent.log" 2>&1 &
  wb_leader=$!
  local _
  for _ in $(seq 1 100); do
    wb status >/dev/null 2>&1 && { wb_rule=""; wb_wait_key_pool; return 0; }
    kill -0 "$wb_leader" 2>/dev/null || break
    sleep 0.2
  done
  echo "compare: the wirebump agent did not start; its log:" >&2
  tail -20 "$dir/wirebump/agent.log" >&2
  return 1
}

# The agent answers once it can forge (one key of each type); the rest of its key pool (RSA-2048
# keys at 0.1-0.6 s of CPU each) is made in the background after that. Start-up work, not per
# connection: a measurement must not begin before it is done (at most 60 s, then say so).
wb_wait_key_pool() {
  local _
  for _ in $(seq 1 300); do
    [[ $(wb status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("certs", {}).get("key_pool", {}).get("done", False))' 2>/dev/null) == True ]] && return 0
    sleep 0.2
  done
  echo "  compare: the agent's key pool was still being made after 60 s; measuring anyway" >&2
}

wb_stop() {
  [[ -n $wb_leader ]] || return 0
  kill "$wb_leader" 2>/dev/null || true
  local _
  for _ in $(seq 1 100); do kill -0 "$wb_leader" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$wb_leader" 2>/dev/null || true
  wait "$wb_leader" 2>/dev/null || true
  # Whatever the agent left (programs, pins, rules) goes; a clean stop leaves nothing to do.
  wb down >/dev/null 2>&1 || true
  wb_leader=""
}

wb_issuer() { wb ca show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuers"][0]["cert_path"])'; }

# TLS legs handed from OpenSSL to the record layer so far (compact_idle_sessions), or "-".
wb_compacted() {
  wb status --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("interception", {}).get("compacted", "-"))' 2>/dev/null ||
    echo -
}
wb_accepted() { wb status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["relay"]["accepted"])'; }

wb_mode() {  # bypass | relay | intercept
  case $1 in
    bypass) wb intercept off >/dev/null ;;
    relay)
      wb intercept on >/dev/null
      wb_rule=$(wb policy add --dst 192.0.2.2/32:443 --action tunnel --json |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["rule"]["id"])')
      ;;
    intercept)
      wb intercept on >/dev/null
      if [[ -n $wb_rule ]]; then wb policy del "$wb_rule" >/dev/null; wb_rule=""; fi
      ;;
  esac
}
