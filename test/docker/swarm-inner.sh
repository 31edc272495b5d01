#!/bin/sh
# One swarm node's dockerd, inside the node's network namespace and a private mount and
# UTS namespace (see DOCKER-LAB.md). Arguments only: $1 state folder, $2 node name.
set -eu
D="$1"
NODE="$2"
hostname "$NODE"
# /sys must show this node's own devices; keep the host's cgroup v1 mounts under it.
mkdir -p "$D/cgroup"
mount --rbind /sys/fs/cgroup "$D/cgroup"
mount -t sysfs sysfs /sys
mount --rbind "$D/cgroup" /sys/fs/cgroup
mount -t tmpfs tmpfs /run
mkdir -p "$D/etc-docker"
mount --bind "$D/etc-docker" /etc/docker
exec /usr/sbin/dockerd --data-root "$D/data" --exec-root "$D/exec" -H "unix://$D/docker.sock" \
  --pidfile "$D/docker.pid" --iptables=true --cgroup-parent "/swarm-$NODE"
