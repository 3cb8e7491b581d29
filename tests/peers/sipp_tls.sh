#!/bin/sh
# SIPp has no TLS of its own in Debian's sip-tester: run it through a stunnel4 client.
#   sipp_tls.sh SERVER_IP:PORT CA_FILE CHECK_HOST SCENARIO.xml [extra sipp args...]
# stunnel accepts on 127.0.0.1:LOCAL_PORT (default 5080, env SIPP_TLS_LOCAL_PORT), verifies the
# server certificate against CA_FILE and CHECK_HOST, and connects with TLS to SERVER_IP:PORT
# sending CHECK_HOST as SNI (as real SIP clients name their server).
# Exit status is SIPp's (0 = every call succeeded).
set -eu
server=$1 ca=$2 host=$3 scenario=$4
shift 4
local_port=${SIPP_TLS_LOCAL_PORT:-5080}
work=$(mktemp -d /tmp/wb-sipp-tls.XXXXXX)
cat > "$work/stunnel.conf" <<CONF
foreground = yes
pid =
debug = notice
[sip]
client = yes
accept = 127.0.0.1:$local_port
connect = $server
CAfile = $ca
verifyChain = yes
checkHost = $host
sni = $host
CONF
stunnel4 "$work/stunnel.conf" > "$work/stunnel.log" 2>&1 &
tunnel=$!
trap 'kill $tunnel 2>/dev/null; wait $tunnel 2>/dev/null; rm -rf "$work"' EXIT
# Wait (bounded) for stunnel to listen.
i=0
while ! ss -Hltn "sport = :$local_port" | grep -q LISTEN; do
  i=$((i + 1))
  if [ $i -gt 50 ]; then echo "stunnel did not start:" >&2; cat "$work/stunnel.log" >&2; exit 97; fi
  sleep 0.1
done
status=0
sipp 127.0.0.1:"$local_port" -sf "$scenario" -t t1 -i 127.0.0.1 -m 1 -l 1 -timeout 20s \
  -timeout_error -nostdin "$@" || status=$?
if [ $status -ne 0 ]; then echo "sipp failed ($status); stunnel log:" >&2; cat "$work/stunnel.log" >&2; fi
exit $status
