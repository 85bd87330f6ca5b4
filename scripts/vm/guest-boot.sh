#!/bin/bash
# Baked into the image as /usr/local/sbin/jobworker-vm-boot: mounts the host's share
# (the command, its exit status) and the disk holding the copy of the checkout, at the
# checkout's own path, and runs that copy's scripts/vm/guest-run.sh, so that changing
# what runs in the VM never needs a new image. $1: "systemd" (from
# jobworker-vm-run.service) or "bare".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
modprobe -q 9pnet_virtio 2>/dev/null
modprobe -q 9p 2>/dev/null
mkdir -p /mnt/run
mount -t 9p -o trans=virtio,version=9p2000.L run /mnt/run || { echo "jobworker-vm: cannot mount the share" >&2; exit 1; }
checkout=$(cat /mnt/run/checkout)
mkdir -p "$checkout"
if mount /dev/vdb "$checkout"; then
  /bin/bash "$checkout/scripts/vm/guest-run.sh" "$1" "$checkout"
  echo $? > /mnt/run/status
else
  echo "jobworker-vm: cannot mount the checkout's disk" >&2
fi
sync
if [ "$1" = systemd ]; then systemctl --no-block poweroff 2>/dev/null || poweroff -f; fi
