#!/bin/sh
# Cases run inside the VM: tinyjail from the initramfs (pivot_root refused, so the
# move-and-chroot fallback is used), with a cgroup-v2-only kernel where the cpu, memory and
# pids controllers are real. One TJRESULT line per case.
. /lib/tj.sh

TJ=${TJ_BIN:-/bin/tinyjail}
R=${TJ_ROOTFS:-/rootfs}
CG=/sys/fs/cgroup

tj_info "kernel $(uname -r); root is $(stat -f -c %T /) ; controllers: $(cat $CG/cgroup.controllers)"

# --- The container itself, from the initramfs --------------------------------------
# Here pivot_root is refused, so tinyjail must take its fallback.
if unshare -m sh -c 'mount --make-rprivate / && mount --bind /rootfs /rootfs &&
    cd /rootfs && pivot_root . tmp' 2>/dev/null; then
    tj_fail initramfs-refuses-pivot-root "pivot_root worked: the fallback is not exercised"
else
    tj_pass initramfs-refuses-pivot-root
fi
out=$($TJ --root "$R" -- sh -c 'echo pid=$$; grep "^0::" /proc/self/cgroup; id; ls /; test -e /init && echo host-visible; true' 2>&1)
tj_expect initramfs-run $? 0 "$out" "^pid=1$" "^0::/$" "^uid=0(root) gid=0(root)" "^bin$"
case "$out" in *host-visible*) tj_fail initramfs-isolated "the initramfs is visible inside" ;; *) tj_pass initramfs-isolated ;; esac
tj_check_clean initramfs-run

# --- memory.max: past the limit the OOM killer ends the container ------------------
# --stats reports memory.peak where the kernel has it (5.19) and leaves the key out where
# not; the container says which from inside its cgroup.
out=$($TJ --root "$R" --stats --cgroup memory.max=16M --cgroup memory.swap.max=0 -- sh -c '
    test -e /sys/fs/cgroup/memory.peak && echo has=memory.peak
    exec awk "BEGIN { s = \"x\"; while (1) s = s s }"' 2>&1)
rc=$?
if echo "$out" | grep -qx has=memory.peak; then
    tj_expect memory-max-oom $rc 137 "$out" "ran out of memory" "oom_kills=[1-9]" \
        "^tinyjail: stats:.* memory_peak_bytes=[1-9]"
else
    tj_info "no memory.peak (Linux 5.19): --stats must leave memory_peak_bytes out"
    tj_expect memory-max-oom $rc 137 "$out" "ran out of memory" \
        "^tinyjail: stats: cpu_usec=[0-9]*.* oom_kills=[1-9]" "!memory_peak"
fi
tj_check_clean memory-max

# --- pids.max: forks past the limit fail, the container goes on --------------------
out=$($TJ --root "$R" --stats --cgroup pids.max=5 -- sh -c '
    # A shell whose fork fails may give up: fork from a subshell.
    ( for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done ) 2>/tmp/fork-errors
    echo "current=$(cat /sys/fs/cgroup/pids.current)"
    echo "refused=$(grep -c . /tmp/fork-errors)"
    test -e /sys/fs/cgroup/pids.peak && echo has=pids.peak
    echo alive' 2>&1)
rc=$?
if echo "$out" | grep -qx has=pids.peak; then
    tj_expect pids-max $rc 0 "$out" "alive" "refused=[1-9]" "^tinyjail: stats:.* pids_peak=5$"
else
    tj_info "no pids.peak (newer than Linux 5.10): --stats must leave pids_peak out"
    tj_expect pids-max $rc 0 "$out" "alive" "refused=[1-9]" "^tinyjail: stats: cpu_usec=" \
        "!pids_peak"
fi
tj_check_clean pids-max

# --- No cgroup2 at /sys/fs/cgroup: tinyjail mounts the hierarchy privately ----------------
# In a mount namespace without the VM's cgroup2 mount, so that tinyjail cannot take the
# host's. The container waits for /tmp/go-privmnt while the VM looks at its cgroup from
# outside: the same hierarchy, with the limit written.
cat >"$R/tmp/privmnt.sh" <<'EOF'
echo pids_max=$(cat /sys/fs/cgroup/pids.max)
n=0
while [ ! -e /tmp/go-privmnt ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
( for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done ) 2>/dev/null
# Builtins only from here: the forks above left the cgroup at its limit.
while read -r key value; do echo "pids_events_$key=$value"; done </sys/fs/cgroup/pids.events
exit 4
EOF
rm -f "$R/tmp/go-privmnt"
TJ=$TJ R=$R unshare -m sh -c '
    umount /sys/fs/cgroup || exit 90
    if grep -q " /sys/fs/cgroup " /proc/mounts; then echo "cgroup2 still mounted"; exit 91; fi
    exec "$TJ" --root "$R" --id privmnt --cgroup pids.max=5 -- sh /tmp/privmnt.sh
' >/tmp/privmnt.out 2>&1 </dev/null &
tj=$!
seen=
if tj_wait_for 300 grep -q "^pids_max=" /tmp/privmnt.out; then
    seen=$(cat $CG/tinyjail/privmnt/pids.max 2>&1)
fi
touch "$R/tmp/go-privmnt"
wait $tj
rc=$?
out=$(cat /tmp/privmnt.out)
if [ "$seen" != 5 ]; then
    tj_fail private-cgroup-mount "from outside, tinyjail/privmnt/pids.max: ${seen:-not seen}:" \
        "exit $rc: $(tail -n 3 /tmp/privmnt.out | tr '\n' ' ')"
else
    tj_expect private-cgroup-mount $rc 4 "$out" "^pids_max=5$" "^pids_events_max=[1-9]"
fi
if grep -q " $CG cgroup2 " /proc/mounts; then
    tj_pass private-cgroup-mount-host-untouched
else
    tj_fail private-cgroup-mount-host-untouched "the VM's cgroup2 mount is gone"
fi
tj_check_clean private-cgroup-mount

# --- cpu.max: a busy loop gets about 20% of a CPU ----------------------------------
out=$($TJ --root "$R" --cgroup "cpu.max=20000 100000" -- sh -c '
    awk "BEGIN { while (1) {} }" & busy=$!
    sleep 3
    kill $busy
    cat /sys/fs/cgroup/cpu.stat' 2>&1)
rc=$?
usage=$(echo "$out" | awk '$1 == "usage_usec" { print $2 }')
throttled=$(echo "$out" | awk '$1 == "throttled_usec" { print $2 }')
tj_info "cpu.max 20%: usage_usec=$usage over 3 s, throttled_usec=$throttled"
if [ "$rc" = 0 ] && [ -n "$usage" ] && [ "$usage" -gt 300000 ] && [ "$usage" -lt 1500000 ] &&
    [ -n "$throttled" ] && [ "$throttled" -gt 0 ]; then
    tj_pass cpu-max
else
    tj_fail cpu-max "exit $rc usage_usec=$usage throttled_usec=$throttled"
fi
tj_check_clean cpu-max

# --- Delegation: root inside makes a sub-cgroup and moves into it ------------------
out=$($TJ --root "$R" --cgroup pids.max=20 -- sh -c '
    grep "^0::" /proc/self/cgroup
    mkdir /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs &&
    grep "^0::" /proc/self/cgroup && mkdir /sys/fs/cgroup/inner/deeper && echo made' 2>&1)
tj_expect delegation $? 0 "$out" "^0::/$" "^0::/inner$" "made"
tj_check_clean delegation

# --- Background processes die with the container's first process -------------------
out=$($TJ --root "$R" -- sh -c 'sleep 300 & sleep 301 & echo started' 2>&1)
rc=$?
sleep 0.5
if ps -o args | grep -q '^sleep 30[01]'; then
    tj_fail background-killed "sleep still running: $(ps -o pid,args | grep 'sleep 30' | tr '\n' ' ')"
else
    tj_expect background-killed $rc 0 "$out" started
fi
tj_check_clean background

# --- tinyjail stopped by signals: a PID 1 without a handler is ended with the signal's
# status; one with a handler gets the signal --------------------------------------------
$TJ --root "$R" --id sigterm -- sleep 100 &
tj=$!
sleep 1
kill -TERM $tj
wait $tj
tj_expect sigterm-ends $? 143 "x" "x"
tj_check_clean sigterm

# (A job started with & ignores SIGINT, and tinyjail keeps an ignored signal ignored:
# HUP stands in for it here; the host tests send INT.)
$TJ --root "$R" --id sighup -- sh -c 'trap "exit 7" HUP; while :; do sleep 0.1; done' &
tj=$!
sleep 1
kill -HUP $tj
wait $tj
tj_expect sighup-forwarded $? 7 "x" "x"
tj_check_clean sighup

# --- --cgroup-parent: an existing parent is used and kept; only the container's cgroup
# below it is removed ----------------------------------------------------------------
mkdir -p $CG/jobs/web
out=$($TJ --root "$R" --id inparent --cgroup-parent /jobs/web --cgroup pids.max=9 -- cat /sys/fs/cgroup/pids.max 2>&1)
tj_expect cgroup-parent $? 0 "$out" "^9$"
if [ -d $CG/jobs/web ] && [ ! -e $CG/jobs/web/inparent ]; then tj_pass cgroup-parent-kept; else tj_fail cgroup-parent-kept "$(ls $CG/jobs/web 2>&1)"; fi
# Components that did not exist are made for the run and removed after it.
out=$($TJ --root "$R" --id madeparent --cgroup-parent /made/here --cgroup pids.max=7 -- \
    cat /sys/fs/cgroup/pids.max 2>&1)
tj_expect cgroup-parent-made $? 0 "$out" "^7$"
if [ ! -e $CG/made ]; then
    tj_pass cgroup-parent-made-removed
else
    tj_fail cgroup-parent-made-removed "left: $(find $CG/made -type d | tr '\n' ' ')"
fi

# --- Bad options: clear errors, nothing left -----------------------------------------
out=$($TJ --root "$R" --cgroup memory.max=lots -- true 2>&1)
tj_expect bad-value $? 125 "$out" "tinyjail: writing --cgroup memory.max=lots: Invalid argument (EINVAL)"
tj_check_clean bad-value
out=$($TJ --root "$R" --cgroup frobs.max=1 -- true 2>&1)
tj_expect bad-controller $? 125 "$out" "--cgroup frobs.max=1: controller is not available in cgroup v2"
tj_check_clean bad-controller
out=$($TJ --root "$R" --cgroup cgroup.procs=1 -- true 2>&1)
tj_expect bad-core-file $? 125 "$out" "the cgroup.\* files are tinyjail's own"
out=$($TJ --root "$R" --cgroup memory.max -- true 2>&1)
tj_expect bad-no-equals $? 125 "$out" "must be FILE=VALUE"
out=$($TJ --root "$R" --cgroup-parent ../up -- true 2>&1)
tj_expect bad-parent $? 125 "$out" "must stay inside the cgroup hierarchy"
out=$($TJ --root "$R" --cgroup pids.max=1 --cgroup ../x=1 -- true 2>&1)
tj_expect bad-file $? 125 "$out" "--cgroup ../x=1: FILE must be controller.name"
tj_check_clean bad-options

# --- The container itself: exit statuses, /dev, ID maps, hostname ----------------------
$TJ --root "$R" -- sh -c 'exit 42'
tj_expect exit-status $? 42 "x" "x"
out=$($TJ --root "$R" -- /no/such/command 2>&1)
tj_expect exit-not-found $? 127 "$out" "No such file or directory (ENOENT)"
out=$($TJ --root "$R" -- /etc/passwd 2>&1)
tj_expect exit-not-executable $? 126 "$out" "Permission denied (EACCES)"
# Each figure on a line of its own, with its name: the maps word-split onto one line (a
# second map line would show), and the PID directories of /proc counted by the shell's own
# glob, without a fork: PID 1 alone, the shell, once its children have been reaped.
out=$($TJ --root "$R" -- sh -c 'echo x > /dev/null && echo zero=$(head -c 3 /dev/zero | wc -c) &&
    echo uid_map=$(cat /proc/self/uid_map) && echo gid_map=$(cat /proc/self/gid_map) &&
    echo setgroups=$(cat /proc/self/setgroups) && echo hostname=$(hostname) &&
    set -- /proc/[0-9]* && echo procs=$# $*' 2>&1)
tj_expect dev-maps-hostname $? 0 "$out" "^zero= *3$" "^uid_map= *0 1000 1$" "^gid_map= *0 1000 1$" \
    "^setgroups=deny$" "^hostname=tinyjail$" "^procs=1 /proc/1$"
tj_check_clean container-basics

# --- Networking: a bridge in the VM, two containers on it; a peer address ---------------
ip link add vmbr0 type bridge && ip link set vmbr0 up
$TJ --root "$R" --id net1 --network-bridge vmbr0 --ip-address 10.0.100.2/24 -- sleep 30 &
first=$!
sleep 1
out=$($TJ --root "$R" --id net2 --network-bridge vmbr0 --ip-address 10.0.100.3/24 -- \
    ping -c1 -W3 10.0.100.2 2>&1)
tj_expect bridge-ping $? 0 "$out" "1 packets received"
out=$($TJ --root "$R" --id net3 --network-bridge vmbr0 --ip-address fd00::3/64 -- \
    sh -c 'ip -6 addr show dev eth0' 2>&1)
tj_expect bridge-ipv6-address $? 0 "$out" "fd00::3/64"
kill -KILL $first
wait $first 2>/dev/null
out=$($TJ --root "$R" --peer-ip-address 10.0.200.1/24 --ip-address 10.0.200.2/24 \
    --default-route 10.0.200.1 -- sh -c 'ping -c1 -W3 10.0.200.1 >/dev/null && ip route' 2>&1)
tj_expect peer-address-route $? 0 "$out" "default via 10.0.200.1"
sleep 1
left=$(ip -o link | grep -c ': tj' || true)
if [ "$left" = 0 ]; then tj_pass veth-gone; else tj_fail veth-gone "$(ip -o link | grep ': tj')"; fi
ip link del vmbr0

tj_done
