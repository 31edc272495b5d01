#!/bin/sh
# mesh-trace VM, stage 2: PID 1 on the overlaid host root, with the host's userland.
# Mounts what a tracer and its tests expect, runs /run/vm/cmd.sh once with stdout and
# stderr into the share, writes its exit code there and powers the guest off.
. /run/vm/params
out=/run/vm/out

note() { echo "mesh-trace-vm: $*" > /dev/console; }

mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t bpf -o mode=0700 bpf /sys/fs/bpf || note "no bpffs"
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/tracing ] && mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || { ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr; }
mkdir -p /run/lock /var/tmp
# the kernel's modules, unpacked on the host, where modprobe looks for them
mkdir -p "/lib/modules/$VM_VERSION"
mount --bind "$VM_MODULES" "/lib/modules/$VM_VERSION" || note "cannot bind the modules"
echo mesh-trace-vm > /proc/sys/kernel/hostname
ip link set lo up

cut -d" " -f1 /proc/uptime > "$out/ready.tmp" && mv "$out/ready.tmp" "$out/ready"
/bin/sh /run/vm/cmd.sh > "$out/stdout" 2> "$out/stderr" < /dev/null
echo $? > "$out/exit"
sync
# power off at once (PID 1 has no init system to ask); a panic would also stop qemu (panic=-1, -no-reboot)
echo o > /proc/sysrq-trigger
sleep 10
