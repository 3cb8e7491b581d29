# shellcheck shell=bash disable=SC2154  # the variables under Needs: are compare.sh's, it sources this file
# The peers of tests/bench/compare.sh (sourced): sslsplit, Squid and mitmproxy, each a throwaway
# daemon in the bridge namespace with its configuration in $dir/<peer>/ (never the system
# service), configured for transparent interception as its documentation describes: sslsplit's
# "tproxy" NAT engine, Squid's `https_port ... tproxy ssl-bump` (spoofs the client's address
# upstream), mitmproxy's `--mode transparent` (NAT REDIRECT). How the connections reach each
# (nft rules, ip rule/route, switched on only while that peer's configuration runs): steer.sh.
# Each daemon is started with setsid: its processes are its session and its descendants (mb_pids).
# Needs: $P, $dir, and the lab's $dir/pki.

declare -A peer_port=([sslsplit]=8443 [squid]=3129 [mitmproxy]=8082)
declare -A peer_leader=()

in_bridge() { ip netns exec "$P-b" "$@"; }

peer_start_sslsplit() {
  local d=$dir/sslsplit pki=$dir/pki
  mkdir -p "$d"
  # The "ssl" proxyspec (its man page: "plain ssl and tcp proxyspecs to avoid header
  # modifications"): "https" rewrites every request to Connection: close, so sslsplit could hold
  # no idle connection, and wirebump does not rewrite HTTP either.
  # VerifyPeer checks upstream certificates against OpenSSL's default store, pointed at the lab
  # CA with SSL_CERT_FILE (sslsplit has no option for a CA file of its own).
  # -e tproxy: its listener gets IP_TRANSPARENT and takes the original destination from the
  # accepted socket's own address; upstream it connects from br0's address.
  printf 'VerifyPeer yes\n' >"$d/sslsplit.conf"
  ip netns exec "$P-b" env SSL_CERT_FILE="$pki/lab-ca.pem" setsid sslsplit -f "$d/sslsplit.conf" -e tproxy \
    -k "$pki/sslsplit-ca.key" -c "$pki/sslsplit-ca.pem" -K "$pki/sslsplit-leaf.key" \
    ssl 0.0.0.0 "${peer_port[sslsplit]}" >"$d/log" 2>&1 &
  peer_leader[sslsplit]=$!
}

peer_start_squid() {
  local d=$dir/squid pki=$dir/pki
  mkdir -p "$d"
  printf '192.0.2.2 www.example.test\n' >"$d/hosts"
  cat >"$d/squid.conf" <<SQUID
http_port 127.0.0.1:3128
https_port 0.0.0.0:${peer_port[squid]} tproxy ssl-bump tls-cert=$pki/squid-ca.pem tls-key=$pki/squid-ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=4MB
sslcrtd_program /usr/lib/squid/security_file_certgen -s $d/ssl_db -M 4MB
sslcrtd_children 4 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=$pki/lab-ca.pem
http_access allow all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log $d/cache.log
pid_filename $d/squid.pid
coredump_dir $d
max_filedescriptors 40000
workers 1
shutdown_lifetime 0 seconds
client_lifetime 1 hour
pconn_timeout 15 minutes
# The idle-memory step holds client connections open for minutes (default: closed after 2).
client_idle_pconn_timeout 15 minutes
read_timeout 15 minutes
request_timeout 15 minutes
# The lab has no DNS server: Squid checks an intercepted request's Host against the original
# destination by resolving it, so the lab's one name comes from a hosts file (without it the
# lookup hangs and so does the request).
dns_nameservers 127.0.0.1
hosts_file $d/hosts
cache_effective_user proxy
SQUID
  # Squid drops to the proxy user: it must read its CA and own its certificate database.
  chown proxy "$pki/squid-ca.key" "$pki/squid-ca.pem"
  chown -R proxy "$d"
  chmod 755 "$dir" "$pki"
  chmod 644 "$pki/lab-ca.pem"
  setpriv --reuid proxy --regid proxy --init-groups \
    /usr/lib/squid/security_file_certgen -c -s "$d/ssl_db" -M 4MB >"$d/certgen-init.log" 2>&1
  ip netns exec "$P-b" setsid squid -N -f "$d/squid.conf" >"$d/log" 2>&1 &
  peer_leader[squid]=$!
}

peer_start_mitmproxy() {
  local d=$dir/mitmproxy pki=$dir/pki
  mkdir -p "$d/conf"
  cat "$pki/mitmproxy-ca.key" "$pki/mitmproxy-ca.pem" >"$d/conf/mitmproxy-ca.pem"
  chmod 600 "$d/conf/mitmproxy-ca.pem"
  # stream_large_bodies: without it mitmproxy holds a whole response in memory before passing it
  # on (its documentation recommends streaming for large downloads). -q: no per-flow output.
  ip netns exec "$P-b" setsid mitmdump -q --mode transparent --listen-host 0.0.0.0 \
    --listen-port "${peer_port[mitmproxy]}" --set confdir="$d/conf" \
    --set ssl_verify_upstream_trusted_ca="$pki/lab-ca.pem" --set stream_large_bodies=1m \
    >"$d/log" 2>&1 &
  peer_leader[mitmproxy]=$!
}

peers_start() {
  local name
  for name in sslsplit squid mitmproxy; do "peer_start_$name"; done
  for name in sslsplit squid mitmproxy; do
    if ! wait_listen "$P-b" "${peer_port[$name]}" 300; then
      echo "compare: $name did not start; its log:" >&2
      tail -20 "$dir/$name/log" "$dir/$name/cache.log" 2>/dev/null >&2
      return 1
    fi
  done
}

mb_pids() {  # leader pid -> every live pid of that middlebox: its session and its descendants
  local leader=$1
  [[ -n $leader ]] || return 0
  ps -e -o pid=,ppid=,sid= | awk -v l="$leader" '
    {pid[NR] = $1; ppid[NR] = $2; if ($3 == l || $1 == l) mine[$1] = 1}
    END {
      do { grew = 0
        for (i = 1; i <= NR; i++) if (!(pid[i] in mine) && (ppid[i] in mine)) { mine[pid[i]] = 1; grew = 1 }
      } while (grew)
      for (p in mine) print p
    }'
}

peers_stop() {
  local name pid
  for name in "${!peer_leader[@]}"; do
    for pid in $(mb_pids "${peer_leader[$name]}"); do kill "$pid" 2>/dev/null || true; done
  done
  for _ in $(seq 1 30); do
    local left=0
    for name in "${!peer_leader[@]}"; do [[ -n $(mb_pids "${peer_leader[$name]}") ]] && left=1; done
    ((left)) || return 0
    sleep 0.1
  done
  for name in "${!peer_leader[@]}"; do
    for pid in $(mb_pids "${peer_leader[$name]}"); do kill -9 "$pid" 2>/dev/null || true; done
  done
}
