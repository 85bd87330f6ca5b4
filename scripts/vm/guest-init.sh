#!/bin/bash
# PID 1 of the VM booted without systemd (scripts/test-vm.mjs): what a container's or a
# bare host's init leaves a server, cgroup v2 alone at /sys/fs/cgroup and nothing else
# managing it. Baked into the image as /usr/local/sbin/jobworker-vm-init.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The initramfs moved its /proc, /sys and /dev here already; the rest is ours.
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -o remount,rw /
hostname jobworker-vm
ip link set lo up
/usr/local/sbin/jobworker-vm-boot bare
sync
# PID 1 may not exit (the kernel panics): power off instead.
echo o > /proc/sysrq-trigger
sleep 60
