#!/bin/sh
# Cases run inside the VM: tinyjail from the initramfs (pivot_root refused, so the
# move-and-chroot fallback is used), with a cgroup-v2-only kernel where the cpu, memory and
# pids controllers are real. One TJRESULT line per case.
. /lib/tj.sh

TJ=${TJ_BIN:-/bin/tinyjail}
R=${TJ_ROOTFS:-/rootfs}
CG=/sys/fs/cgroup

# Passes when no container cgroup is left below tinyjail's parent.
check_clean() {
    left=$(find "$CG/tinyjail" -mindepth 1 -type d 2>/dev/null | tr '\n' ' ')
    if [ -z "$left" ]; then tj_pass "$1-cleanup"; else tj_fail "$1-cleanup" "left: $left"; fi
}

# expect NAME RC WANTED_RC OUTPUT PATTERN...: every pattern must be found in OUTPUT.
expect() {
    name=$1 rc=$2 want=$3 out=$4
    shift 4
    if [ "$rc" != "$want" ]; then
        tj_fail "$name" "exit $rc, wanted $want: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
        return
    fi
    for pattern in "$@"; do
        if ! echo "$out" | grep -q -- "$pattern"; then
            tj_fail "$name" "no '$pattern' in: $(echo "$out" | tail -n 4 | tr '\n' ' ')"
            return
        fi
    done
    tj_pass "$name"
}

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
expect initramfs-run $? 0 "$out" "pid=1" "^0::/$" "uid=0(root)" "^bin$"
case "$out" in *host-visible*) tj_fail initramfs-isolated "the initramfs is visible inside" ;; *) tj_pass initramfs-isolated ;; esac
check_clean initramfs-run

# --- memory.max: past the limit the OOM killer ends the container ------------------
out=$($TJ --root "$R" --stats --cgroup memory.max=16M --cgroup memory.swap.max=0 -- \
    awk 'BEGIN { s = "x"; while (1) s = s s }' 2>&1)
expect memory-max-oom $? 137 "$out" "ran out of memory" "oom_kills=[1-9]" "memory_peak_bytes="
check_clean memory-max

# --- pids.max: forks past the limit fail, the container goes on --------------------
out=$($TJ --root "$R" --stats --cgroup pids.max=5 -- sh -c '
    # A shell whose fork fails may give up: fork from a subshell.
    ( for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done ) 2>/tmp/fork-errors
    echo "current=$(cat /sys/fs/cgroup/pids.current)"
    echo "refused=$(grep -c . /tmp/fork-errors)"
    echo alive' 2>&1)
rc=$?
expect pids-max $rc 0 "$out" "alive" "refused=[1-9]" "pids_peak=5"
check_clean pids-max

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
check_clean cpu-max

# --- Delegation: root inside makes a sub-cgroup and moves into it ------------------
out=$($TJ --root "$R" --cgroup pids.max=20 -- sh -c '
    grep "^0::" /proc/self/cgroup
    mkdir /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs &&
    grep "^0::" /proc/self/cgroup && mkdir /sys/fs/cgroup/inner/deeper && echo made' 2>&1)
expect delegation $? 0 "$out" "^0::/$" "^0::/inner$" "made"
check_clean delegation

# --- Background processes die with the container's first process -------------------
out=$($TJ --root "$R" -- sh -c 'sleep 300 & sleep 301 & echo started' 2>&1)
rc=$?
sleep 0.5
if ps -o args | grep -q '^sleep 30[01]'; then
    tj_fail background-killed "sleep still running: $(ps -o pid,args | grep 'sleep 30' | tr '\n' ' ')"
else
    expect background-killed $rc 0 "$out" started
fi
check_clean background

# --- tinyjail stopped by signals: a PID 1 without a handler is ended with the signal's
# status; one with a handler gets the signal --------------------------------------------
$TJ --root "$R" --id sigterm -- sleep 100 &
tj=$!
sleep 1
kill -TERM $tj
wait $tj
expect sigterm-ends $? 143 "x" "x"
check_clean sigterm

# (A job started with & ignores SIGINT, and tinyjail keeps an ignored signal ignored:
# HUP stands in for it here; the host tests send INT.)
$TJ --root "$R" --id sighup -- sh -c 'trap "exit 7" HUP; while :; do sleep 0.1; done' &
tj=$!
sleep 1
kill -HUP $tj
wait $tj
expect sighup-forwarded $? 7 "x" "x"
check_clean sighup

# --- --cgroup-parent -----------------------------------------------------------------
out=$($TJ --root "$R" --id inparent --cgroup-parent /jobs/web --cgroup pids.max=9 -- cat /sys/fs/cgroup/pids.max 2>&1)
expect cgroup-parent $? 0 "$out" "^9$"
if [ -d $CG/jobs/web ] && [ ! -e $CG/jobs/web/inparent ]; then tj_pass cgroup-parent-kept; else tj_fail cgroup-parent-kept "$(ls $CG/jobs/web 2>&1)"; fi

# --- Bad options: clear errors, nothing left -----------------------------------------
out=$($TJ --root "$R" --cgroup memory.max=lots -- true 2>&1)
expect bad-value $? 125 "$out" "tinyjail: writing --cgroup memory.max=lots: Invalid argument (EINVAL)"
check_clean bad-value
out=$($TJ --root "$R" --cgroup frobs.max=1 -- true 2>&1)
expect bad-controller $? 125 "$out" "--cgroup frobs.max=1: controller is not available in cgroup v2"
check_clean bad-controller
out=$($TJ --root "$R" --cgroup cgroup.procs=1 -- true 2>&1)
expect bad-core-file $? 125 "$out" "the cgroup.\* files are tinyjail's own"
out=$($TJ --root "$R" --cgroup memory.max -- true 2>&1)
expect bad-no-equals $? 125 "$out" "must be FILE=VALUE"
out=$($TJ --root "$R" --cgroup-parent ../up -- true 2>&1)
expect bad-parent $? 125 "$out" "must stay inside the cgroup hierarchy"
out=$($TJ --root "$R" --cgroup pids.max=1 --cgroup ../x=1 -- true 2>&1)
expect bad-file $? 125 "$out" "--cgroup ../x=1: FILE must be controller.name"
check_clean bad-options

# --- The container itself: exit statuses, /dev, ID maps, hostname ----------------------
$TJ --root "$R" -- sh -c 'exit 42'
expect exit-status $? 42 "x" "x"
out=$($TJ --root "$R" -- /no/such/command 2>&1)
expect exit-not-found $? 127 "$out" "No such file or directory (ENOENT)"
out=$($TJ --root "$R" -- /etc/passwd 2>&1)
expect exit-not-executable $? 126 "$out" "Permission denied (EACCES)"
out=$($TJ --root "$R" -- sh -c 'echo x > /dev/null && head -c 3 /dev/zero | wc -c &&
    cat /proc/self/uid_map && hostname && ls /proc | grep -c "^[0-9]"' 2>&1)
expect dev-maps-hostname $? 0 "$out" "^3$" "^ *0 *1000 *1$" "^tinyjail$"
check_clean container-basics

# --- Networking: a bridge in the VM, two containers on it; a peer address ---------------
ip link add vmbr0 type bridge && ip link set vmbr0 up
$TJ --root "$R" --id net1 --network-bridge vmbr0 --ip-address 10.0.100.2/24 -- sleep 30 &
first=$!
sleep 1
out=$($TJ --root "$R" --id net2 --network-bridge vmbr0 --ip-address 10.0.100.3/24 -- \
    ping -c1 -W3 10.0.100.2 2>&1)
expect bridge-ping $? 0 "$out" "1 packets received"
out=$($TJ --root "$R" --id net3 --network-bridge vmbr0 --ip-address fd00::3/64 -- \
    sh -c 'ip -6 addr show dev eth0' 2>&1)
expect bridge-ipv6-address $? 0 "$out" "fd00::3/64"
kill -KILL $first
wait $first 2>/dev/null
out=$($TJ --root "$R" --peer-ip-address 10.0.200.1/24 --ip-address 10.0.200.2/24 \
    --default-route 10.0.200.1 -- sh -c 'ping -c1 -W3 10.0.200.1 >/dev/null && ip route' 2>&1)
expect peer-address-route $? 0 "$out" "default via 10.0.200.1"
sleep 1
left=$(ip -o link | grep -c ': tj' || true)
if [ "$left" = 0 ]; then tj_pass veth-gone; else tj_fail veth-gone "$(ip -o link | grep ': tj')"; fi
ip link del vmbr0

tj_done
