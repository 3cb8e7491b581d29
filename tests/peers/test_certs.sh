#!/bin/sh
# Generates a throw-away CA and a server certificate for the e2e peers in DIR:
#   test_certs.sh DIR NAME IP  ->  DIR/ca.pem DIR/server.pem DIR/server.key (0600)
set -eu
dir=$1 name=$2 ip=$3
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.pem -days 2 -subj "/CN=wirebump e2e test CA" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
  -out server.csr -subj "/CN=$name" 2>/dev/null
printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\n' "$name" "$ip" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days 2 -extfile server.ext 2>/dev/null
chmod 600 ca.key server.key
