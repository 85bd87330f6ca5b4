#!/bin/bash
# Runs in the VM, as root, in the copy of the checkout the host put on the VM's second disk
# (mounted at the checkout's own path, $2), the command the host left in /mnt/run/cmd
# (NUL-separated arguments). Its exit status is the command's. $1: "systemd" or "bare".
set -u
mode=$1
# Under software emulation a test file takes several times as long as on the host.
export JOBWORKER_TEST_FILE_LIMIT_MS=${JOBWORKER_TEST_FILE_LIMIT_MS:-900000}
export JOBWORKER_VM=1 HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
echo "jobworker-vm: up ($mode as PID 1), $(cut -d' ' -f1 /proc/uptime) s after the kernel started; cgroup: $(stat -f -c %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
if [ "$mode" = systemd ]; then
  # Our unit (Delegate=yes) gives us its cgroup, as the shipped unit gives serve. The test
  # files' pools run in processes of ours: put all of us into the leaf a server moves into,
  # so that the unit's cgroup holds no process and may enable controllers below it.
  own=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
  mkdir -p "$own/supervisor"
  echo "$PPID" > "$own/supervisor/cgroup.procs"
  echo $$ > "$own/supervisor/cgroup.procs"
fi
cd "$2" || exit 1
# What runs, every 30 s, in the share: for a look from the host at a run that seems stuck.
( while sleep 30; do ps -eo pid,ppid,etime,time,stat,args --forest > /mnt/run/ps.txt 2>&1; done ) &
watcher=$!
mapfile -d '' cmd < /mnt/run/cmd
start=$(cut -d' ' -f1 /proc/uptime)
"${cmd[@]}"
rc=$?
kill $watcher 2>/dev/null
echo "jobworker-vm: exit status $rc after $(awk -v s="$start" '{ printf "%.1f", $1 - s }' /proc/uptime) s"
exit $rc
