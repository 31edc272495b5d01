#!/usr/bin/env bash
# From a fresh Debian machine to traced packets on screen, as root: install and build,
# bring up the built-in two-node swarm lab, send requests from the lab's client through the
# routing mesh (node1:1080 -> nginx on node2 over VXLAN) and trace them on port 1080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mt() { node bin/mesh-trace.js "$@"; }
mt lab up
echo
echo "Tracing port 1080 for 5 seconds while the lab's client sends two requests to node1:1080 ..."
(
  sleep 1.5
  for _ in 1 2; do
    printf 'GET / HTTP/1.0\r\n\r\n' | mt lab exec client busybox nc -w 2 192.168.60.1 1080 >/dev/null 2>&1 || true
    sleep 1
  done
) &
mt --port 1080 --duration 5
wait
echo
echo "The lab stays up: try \`node bin/mesh-trace.js --port 1080\` (then send requests with \`node bin/mesh-trace.js lab exec client curl http://192.168.60.1:1080/\`), \`... events --port 1080\`, \`... topology\`, \`... doctor\`, and \`... lab down\` to remove it."
