#!/usr/bin/env bash
# Compiles the BPF programs (CO-RE, clang -target bpf), links them into one object with
# bpftool's static linker and generates the skeleton that embeds it in the addon.
# Called by binding.gyp; OUT is the build's intermediate folder.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: build-bpf.sh OUTDIR}
mkdir -p "$OUT"
for tool in clang bpftool; do
  command -v "$tool" >/dev/null || { echo "build-bpf.sh: $tool is missing; run scripts/install.sh as root" >&2; exit 1; }
done
ARCH=$(uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
# maps.bpf.c defines what the others declare extern: the linker wants it first.
objs=()
for src in bpf/maps.bpf.c $(ls bpf/*.bpf.c | grep -v '^bpf/maps.bpf.c$'); do
  obj="$OUT/$(basename "${src%.c}").o"
  clang -g -O2 -Wall -Wno-unused-function -target bpf -D__TARGET_ARCH_"$ARCH" -Ibpf -c "$src" -o "$obj"
  objs+=("$obj")
done
bpftool gen object "$OUT/mesh_trace.o" "${objs[@]}"
bpftool gen skeleton "$OUT/mesh_trace.o" name mesh_trace > "$OUT/mesh_trace.skel.h.tmp"
mv "$OUT/mesh_trace.skel.h.tmp" "$OUT/mesh_trace.skel.h"
