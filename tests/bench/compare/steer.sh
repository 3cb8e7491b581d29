# shellcheck shell=bash disable=SC2154  # the variables under Needs: are compare.sh's, it sources this file
# How tests/bench/compare.sh (sourced) hands the bridged client->server:443 connections to a peer
# in the bridge namespace $P-b, each the way its documentation describes transparent interception:
#
#   sslsplit, squid   TPROXY (sslsplit(1) "NAT ENGINES: tproxy", Squid wiki Features/Tproxy4,
#                     Documentation/networking/tproxy.rst): the peer's listener has IP_TRANSPARENT,
#                     the original destination is the accepted socket's own address.
#   mitmproxy         NAT REDIRECT (its transparent-proxying how-to): on Linux it takes the
#                     original destination only from SO_ORIGINAL_DST, which TPROXY does not set.
#
# TPROXY needs the frames off the bridge and into IP routing first. The documented way, a broute
# (ebtables -t broute ... --redirect-target DROP, or nft's `meta broute set 1`), does not exist
# here: the kernel has no ebtable_broute and no CONFIG_NFT_BRIDGE_META, and nft 1.0.6 (Debian 12)
# has no `broute` key. What is used instead is what the ebtables `redirect` target of the bridge
# nat PREROUTING chain does (ebtables(8): "change the MAC target address to that of the bridge
# device the frame arrived on"), written in nft's bridge family at the same hook and priority:
# destination MAC := br0's, packet type := host. The bridge then delivers the frame to br0's IP
# stack instead of forwarding it, where the tproxy rule assigns it to the peer's listener and
# fwmark 1 routes it locally (table 100). br_netfilter stays off: nothing else leaves the bridge.
# Squid spoofs the client's address upstream, so the server answers to the client's MAC: those
# frames (sport 443 towards the client) are taken off the bridge the same way and the `socket
# transparent` rule delivers them to Squid's upstream socket. sslsplit connects upstream from
# br0's own address (192.0.2.254), whose answers reach it without help.
# Every rule counts what it matched: tproxy_proof tells, after the round's check, that the
# connection went through TPROXY (and for Squid, that the server answered a spoofed client).
# steer_off removes every table, ip rule and route a peer configuration added.
# Needs: $P, in_bridge and peer_port (peers.sh).

steer_on() {  # peer
  case $1 in
    mitmproxy) redirect_on "$1" ;;
    *) tproxy_on "$1" ;;
  esac
}

redirect_on() {  # peer: br_netfilter on for br0, NAT redirect to the peer's port
  in_bridge ip link set dev br0 type bridge nf_call_iptables 1
  in_bridge nft -f - <<NFT
table ip compare {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip saddr 192.0.2.1 ip daddr 192.0.2.2 tcp dport 443 redirect to :${peer_port[$1]}
  }
}
NFT
}

tproxy_on() {  # peer
  local mac back=""
  mac=$(in_bridge cat /sys/class/net/br0/address)
  # Only a peer that spoofs the client's address needs the server's answers taken off the bridge.
  [[ $1 == squid ]] &&
    back="iifname \"eth2\" ip saddr 192.0.2.2 ip daddr 192.0.2.1 tcp sport 443 counter name \"back\" ether daddr set $mac meta pkttype set host"
  in_bridge nft -f - <<NFT
table bridge compare_tproxy {
  counter off_bridge {}
  counter back {}
  chain pre {
    type filter hook prerouting priority dstnat; policy accept;
    iifname "eth1" ip saddr 192.0.2.1 ip daddr 192.0.2.2 tcp dport 443 counter name "off_bridge" ether daddr set $mac meta pkttype set host
    $back
  }
}
table ip compare_tproxy {
  counter tproxied {}
  chain pre {
    type filter hook prerouting priority mangle; policy accept;
    meta l4proto tcp socket transparent 1 meta mark set 1 accept
    ip saddr 192.0.2.1 ip daddr 192.0.2.2 tcp dport 443 counter name "tproxied" tproxy to :${peer_port[$1]} meta mark set 1 accept
  }
}
NFT
  in_bridge ip rule add fwmark 1 lookup 100
  in_bridge ip route add local 0.0.0.0/0 dev lo table 100
}

steer_off() {
  in_bridge nft delete table ip compare 2>/dev/null || true
  in_bridge ip link set dev br0 type bridge nf_call_iptables 0
  in_bridge nft delete table bridge compare_tproxy 2>/dev/null || true
  in_bridge nft delete table ip compare_tproxy 2>/dev/null || true
  while in_bridge ip rule del fwmark 1 lookup 100 2>/dev/null; do :; done
  in_bridge ip route flush table 100 2>/dev/null || true
}

nft_packets() {  # family table counter -> packets it counted
  in_bridge nft list counter "$1" "$2" "$3" 2>/dev/null | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# After a passing check: did the connection take the TPROXY path (and did the server answer
# Squid's spoofed client address)? Leaves the reason in $check_why when not.
tproxy_proof() {  # peer
  local off tp back
  off=$(nft_packets bridge compare_tproxy off_bridge)
  tp=$(nft_packets ip compare_tproxy tproxied)
  back=$(nft_packets bridge compare_tproxy back)
  if ((${off:-0} == 0 || ${tp:-0} == 0)); then
    # shellcheck disable=SC2034  # read by compare.sh's verify
    check_why="not through TPROXY: ${off:-0} frames taken off the bridge, ${tp:-0} packets tproxied"
    return 1
  fi
  if [[ $1 == squid ]] && ((${back:-0} == 0)); then
    # shellcheck disable=SC2034  # read by compare.sh's verify
    check_why="Squid did not spoof the client's address: no server answer to 192.0.2.1 taken off the bridge"
    return 1
  fi
  # shellcheck disable=SC2034  # read by compare.sh's verify
  tproxy_counts="tproxied=$tp off_bridge=$off back=${back:-0}"
}
