# shellcheck shell=bash disable=SC2154  # the variables under Needs: are compare.sh's, it sources this file
# The lab of tests/bench/compare.sh (sourced): ONE topology for every configuration.
#
#   $P-c client  cli0  192.0.2.1     -- br0 in $P-b --  srv0  192.0.2.2     $P-s server
#                dcli0 198.51.100.1  ---- veth -----   dsrv0 198.51.100.2   ("direct")
#
# The same nginx (one worker, one server certificate signed by the lab CA) answers on both server
# addresses; the same client reaches it by name (www.example.test) through either path. The
# "direct" path is a veth pair straight from the client namespace to the server namespace: no
# bridge, no middlebox, one veth hop instead of two plus the bridge.
# Needs: $P (namespace prefix), $dir (scratch dir), $here (checkout), $bulk_mb.

lab_up() {
  "$here/deploy/topology.sh" up "$P" >/dev/null
  ip link add dcli0 netns "$P-c" type veth peer name dsrv0 netns "$P-s"
  ip -n "$P-c" addr add 198.51.100.1/24 dev dcli0
  ip -n "$P-s" addr add 198.51.100.2/24 dev dsrv0
  ip -n "$P-c" link set dcli0 up
  ip -n "$P-s" link set dsrv0 up
  # Bridged frames skip iptables/nft unless a peer configuration switches them on (per bridge).
  ip netns exec "$P-b" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
    net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0
  # The peers' upstream legs leave from the bridge's own address.
  ip netns exec "$P-b" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
  local _
  for _ in $(seq 1 50); do
    ip netns exec "$P-c" ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "compare: the direct veth does not reach the server" >&2
  return 1
}

# CAs: the lab CA (signs nginx's certificate; every middlebox verifies upstream against it) and
# one interception CA per peer, so the check can tell which middlebox forged what the client got.
lab_certs() {
  local d=$dir/pki name
  mkdir -p "$d"
  (
    cd "$d" || exit
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout lab-ca.key \
      -out lab-ca.pem -days 2 -subj "/CN=compare lab CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
      -out server.csr -subj "/CN=www.example.test" 2>/dev/null
    printf 'subjectAltName=DNS:www.example.test,IP:192.0.2.2,IP:198.51.100.2\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA lab-ca.pem -CAkey lab-ca.key -CAcreateserial \
      -out server.pem -days 2 -extfile server.ext 2>/dev/null
    for name in sslsplit squid mitmproxy; do
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name-ca.key" \
        -out "$name-ca.pem" -days 2 -subj "/CN=compare $name CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    done
    # sslsplit forges with one leaf key given here (EC P-256, like wirebump's pool keys) instead
    # of its default RSA-2048.
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out sslsplit-leaf.key 2>/dev/null
    chmod 600 ./*.key
  )
}

lab_nginx() {
  mkdir -p "$dir/www" "$dir/nginx"
  echo "compare ok" >"$dir/www/index.html"
  head -c $((bulk_mb * 1048576)) /dev/urandom >"$dir/www/bulk.bin"
  # TLS 1.3 as every current server offers it: Debian 12's nginx 1.22 still defaults to TLS 1.0-1.2
  # (1.23.4 added 1.3), so without this line every upstream and direct handshake was TLS 1.2.
  cat >"$dir/nginx/nginx.conf" <<NGINX
user root; worker_processes 1; worker_rlimit_nofile 20000;
pid $dir/nginx/nginx.pid; error_log $dir/nginx/error.log;
events { worker_connections 19000; }
http { access_log off; sendfile on; keepalive_timeout 900s; keepalive_requests 100000;
  client_header_timeout 900s; client_body_temp_path $dir/nginx/b; proxy_temp_path $dir/nginx/p;
  fastcgi_temp_path $dir/nginx/f; uwsgi_temp_path $dir/nginx/u; scgi_temp_path $dir/nginx/s;
  ssl_session_cache off; ssl_session_tickets off; ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 443 ssl backlog=4096; server_name www.example.test;
    ssl_certificate $dir/pki/server.pem; ssl_certificate_key $dir/pki/server.key;
    root $dir/www; } }
NGINX
  ip netns exec "$P-s" nginx -c "$dir/nginx/nginx.conf"
  wait_listen "$P-s" 443
}

wait_listen() {  # namespace port [tries of 0.1 s]
  local _
  for _ in $(seq 1 "${3:-100}"); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q LISTEN && return 0
    sleep 0.1
  done
  echo "compare: nothing listens on port $2 in $1" >&2
  return 1
}
