#!/bin/sh
# Cases run inside the VM: the paths older kernels take, forced with
# TINYJAIL_TEST_FALLBACKS on this one (see README "Host requirements"), each alone, none
# and all together, on a kernel with real cgroup v2 controllers. The legacy clone(2)
# path matters most on the foreign architectures, whose clone argument order differs
# from x86_64's.
#
# Each run checks from inside: the exit status passes through, the shell is PID 1 of a
# new PID namespace, it and its children are in one new time namespace where the kernel
# has them (on the clone3 and clone3-time paths tinyjail joins the namespace it unshared
# itself, since not every kernel's exec enters it), its cgroup is 0::/, the ID
# maps are 0 1000 1, the workdir, and forks past the --cgroup pids.max limit fail. And
# from outside: the container's first process is in tinyjail/<ID>, and a process the VM
# moved into the container's sub-cgroup (outside the container's PID namespace, so only
# cgroup.kill or the kill loop can end it) is killed with SIGKILL, no sleep of the
# container is left, and the cgroup is removed.
. /lib/tj.sh

TJ=${TJ_BIN:-/bin/tinyjail}
R=${TJ_ROOTFS:-/rootfs}
CG=/sys/fs/cgroup

host_pidns=$(readlink /proc/self/ns/pid)
host_timens=$(readlink /proc/self/ns/time 2>/dev/null)
tj_info "kernel $(uname -r); host ${host_pidns}; ${host_timens:-no time namespaces}"
# Where the time namespace is unshared after the clone (the clone3 and clone3-time
# paths), only kernels with exec_task_namespaces (6.12, not 6.1) move the first process
# there at its exec; tinyjail joins it before, so that it is there on every kernel.
if [ -n "$host_timens" ] && ! tj_kernel_symbol exec_task_namespaces switch_task_namespaces; then
    tj_info "no exec_task_namespaces in this kernel: the first process is in its time" \
        "namespace on the clone3 and clone3-time paths only because tinyjail joins it"
fi
if ! tj_cgroup_has cgroup.kill; then
    tj_info "no cgroup.kill (Linux 5.14): every run here must clean up with the kill loop"
fi

# The container's side, run as `sh /tmp/fallback-probe.sh ID` with --workdir /tmp and
# --cgroup pids.max=8. It prints one key=value line per figure, makes the sub-cgroup
# `sub` with one of its two sleeps in it, says `ready`, and waits for /tmp/go-ID.
cat >"$R/tmp/fallback-probe.sh" <<'EOF'
id=$1
echo pid=$$
echo pidns=$(readlink /proc/self/ns/pid)
echo timens=$(readlink /proc/$$/ns/time 2>/dev/null)
echo timens_children=$(readlink /proc/$$/ns/time_for_children 2>/dev/null)
echo cgroup=$(grep "^0::" /proc/self/cgroup)
echo uid_map=$(cat /proc/self/uid_map)
echo gid_map=$(cat /proc/self/gid_map)
echo pwd=$(pwd)
echo pids_max=$(cat /sys/fs/cgroup/pids.max)
sleep 100 &
sleep 100 &
inner=$!
mkdir /sys/fs/cgroup/sub && echo $inner >/sys/fs/cgroup/sub/cgroup.procs && echo sub=made
echo ready
n=0
while [ ! -e /tmp/go-$id ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
# Five processes now (this shell, two sleeps, the VM's sleep, the subshell): three of the
# ten forks succeed. A shell whose fork fails gives up, hence the subshell.
( for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done ) 2>/dev/null
# Builtins only from here: the cgroup is at its limit.
while read -r key value; do echo "pids_events_$key=$value"; done </sys/fs/cgroup/pids.events
exit 3
EOF

# The line KEY=... of OUTPUT, without the key.
value_of() {
    echo "$2" | sed -n "s/^$1=//p" | head -n 1
}

# fallback NAME ID LIST: one container with TINYJAIL_TEST_FALLBACKS=LIST and container ID
# ID; results fallback-NAME, fallback-NAME-kill and fallback-NAME-cleanup.
fallback() {
    name=$1 id=$2 list=$3
    log=/tmp/$id.out
    rm -f "$R/tmp/go-$id"
    TINYJAIL_TEST_FALLBACKS=$list $TJ --root "$R" --id "$id" --workdir /tmp \
        --cgroup pids.max=8 -- sh /tmp/fallback-probe.sh "$id" >"$log" 2>&1 </dev/null &
    tj=$!

    # From outside, once the container is ready: where its first process is, and a
    # process of the VM's moved into its sub-cgroup.
    where= outsider= moved=
    if tj_wait_for 300 grep -qx ready "$log"; then
        for child in $(cat /proc/$tj/task/$tj/children 2>/dev/null); do
            where="$where$(grep '^0::' /proc/$child/cgroup 2>/dev/null)"
        done
        sleep 102 &
        outsider=$!
        echo $outsider >"$CG/tinyjail/$id/sub/cgroup.procs" && moved=1
    fi
    touch "$R/tmp/go-$id"
    wait $tj
    rc=$?
    out=$(cat "$log")

    # The container's own view.
    problem=
    pidns=$(value_of pidns "$out")
    timens=$(value_of timens "$out")
    timens_children=$(value_of timens_children "$out")
    case $pidns in
        pid:\[*\]) [ "$pidns" != "$host_pidns" ] || problem="the host's PID namespace" ;;
        *) problem="no PID namespace seen: '$pidns'" ;;
    esac
    if [ -n "$host_timens" ]; then
        case $timens_children in
            time:\[*\]) [ "$timens_children" != "$host_timens" ] ||
                problem="its children in the host's time namespace" ;;
            *) problem="no time namespace for its children seen: '$timens_children'" ;;
        esac
        if [ "$timens" != "$timens_children" ]; then
            problem="first process in '$timens', its children in $timens_children"
        fi
    fi
    if [ "$where" != "0::/tinyjail/$id" ]; then
        problem="first process, seen from outside, in '${where:-nothing}', not 0::/tinyjail/$id"
    elif echo "$out" | grep -q '^tinyjail:'; then
        problem="tinyjail said: $(echo "$out" | grep '^tinyjail:' | tr '\n' ' ')"
    fi
    if [ -n "$problem" ]; then
        tj_fail "fallback-$name" "$problem"
    else
        tj_expect "fallback-$name" $rc 3 "$out" "^pid=1$" "^cgroup=0::/$" \
            "^uid_map= *0 1000 1$" "^gid_map= *0 1000 1$" "^pwd=/tmp$" "^pids_max=8$" \
            "^sub=made$" "^pids_events_max=[1-9]"
    fi

    # The VM's process in the container's cgroup, and the container's sleeps.
    if [ -z "$moved" ]; then
        [ -z "$outsider" ] || { kill -KILL $outsider; wait $outsider; }
        tj_fail "fallback-$name-kill" "no process moved into the container's cgroup"
    else
        state=$(cut -d' ' -f3 /proc/$outsider/stat 2>/dev/null)
        if [ -n "$state" ] && [ "$state" != Z ]; then
            kill -KILL $outsider
            wait $outsider
            tj_fail "fallback-$name-kill" "the VM's process in the container's cgroup survived"
        else
            wait $outsider
            status=$?
            left=$(ps -o pid,args | grep 'sleep 10[0-2]$' | grep -v grep | tr '\n' ' ')
            if [ "$status" != 137 ]; then
                tj_fail "fallback-$name-kill" "the VM's process ended with status $status, not 137"
            elif [ -n "$left" ]; then
                tj_fail "fallback-$name-kill" "left running: $left"
            else
                tj_pass "fallback-$name-kill"
            fi
        fi
    fi
    tj_check_clean "fallback-$name"
}

fallback none fb-none ""
fallback clone3 fb-clone3 clone3
fallback clone3-time fb-c3time clone3-time
fallback into-cgroup fb-intocg into-cgroup
fallback cgroup-kill fb-cgkill cgroup-kill
fallback openat2 fb-openat2 openat2
fallback all fb-all clone3,clone3-time,into-cgroup,cgroup-kill,openat2

tj_done
