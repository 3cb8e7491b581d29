#!/usr/bin/env bash
# Installs every build, runtime and test dependency of wirebump from Debian 12 packages.
# Idempotent: a second run installs nothing and exits quickly. Also mounts bpffs if missing.
set -euo pipefail

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
  echo "usage: deploy/install-deps.sh   (as root; installs Debian packages, mounts bpffs)"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: must run as root (apt-get, bpffs mount)" >&2
  exit 1
fi

packages=(
  # build
  build-essential cmake pkg-config ninja-build ccache clang llvm lld clang-format
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  libnl-3-dev libnl-route-3-dev libssl-dev openssl liburing-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libpcap-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev libclang-rt-14-dev libnghttp2-dev
  libgoogle-perftools-dev
  # runtime
  iproute2 iputils-ping nftables ethtool procps psmisc kmod util-linux
  # test peers
  curl nginx-light iperf3 socat stunnel4 kamailio kamailio-tls-modules sip-tester coturn
  tshark tcpdump python3
  # side-by-side benchmark peers (tests/bench/compare.sh) and its charts
  sslsplit squid-openssl mitmproxy gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Daemons from the test peers (nginx, kamailio, coturn, squid) must not start in the root namespace:
  # tests start their own copies inside network namespaces.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  trap '[[ $made_policy == 1 ]] && rm -f "$policy"' EXIT
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
echo "install-deps: all dependencies present"
