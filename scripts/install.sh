#!/usr/bin/env bash
# Installs everything mesh-trace and its tests need on a Debian machine, then builds.
# Idempotent: packages already present are skipped, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (it installs Debian packages with apt-get)." >&2
  exit 77
fi

# Build: clang/llvm (BPF objects), libbpf-dev, libelf-dev, zlib1g-dev, bpftool (skeletons).
# Run and test: iproute2, iptables, conntrack, tcpdump, tshark, iperf3, python3-scapy,
# docker.io + busybox-static (real dockerd fixtures and lab servers); chromium (the HTML
# report's test renders it headless); python3 (the lab's NFQUEUE holder for a slow hop).
# Other kernels (test/vm: npm test boots Debian's 6.1 under qemu, npm run test:kernels
# 6.12 too): qemu-system-x86, kmod, xz-utils, zstd; ipvsadm for the IPVS fwmark services
# there. The kernels themselves are downloaded on first use into /var/cache/mesh-trace/vm.
PKGS=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config
      iproute2 iptables conntrack tcpdump tshark iperf3 python3-scapy ethtool
      docker.io busybox-static procps psmisc iputils-ping nftables chromium python3
      qemu-system-x86 kmod xz-utils zstd ipvsadm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once, no prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node dependencies, then the native addon (BPF objects included) and the TypeScript.
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
npm run build >/dev/null
echo "install.sh: mesh-trace is built ($(node -p 'require("./package.json").version'))"
