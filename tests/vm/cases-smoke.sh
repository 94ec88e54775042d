#!/bin/sh
# Smoke cases for the VM harness itself (no tinyjail needed): cgroup v2 with
# cpu/memory/pids, working limits, user namespaces, pivot_root into /rootfs,
# veth and bridge. Run with: tests/vm/run.sh /bin/busybox tests/vm/cases-smoke.sh
# (run-all.sh runs it first, in the same boot as the other cases scripts).
set -eu
# shellcheck source=tj-lib.sh
. /lib/tj.sh

cg=/sys/fs/cgroup

# Kill everything in a cgroup, wait until it is empty, remove it. Before
# Linux 5.14 there is no cgroup.kill: SIGKILL to each listed process instead.
cg_remove() {
    if [ -e "$1/cgroup.kill" ]; then
        echo 1 >"$1/cgroup.kill"
    else
        for p in $(cat "$1/cgroup.procs"); do kill -KILL "$p" 2>/dev/null || true; done
    fi
    i=0
    while ! grep -qx 'populated 0' "$1/cgroup.events" && [ "$i" -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    rmdir "$1"
}

# --- cgroup v2 only ----------------------------------------------------------
if grep -q " $cg cgroup2 " /proc/mounts; then
    tj_pass cgroup2-mounted
else
    tj_fail cgroup2-mounted "no cgroup2 at $cg"
fi

if grep -q ' cgroup ' /proc/mounts || ! grep -qw cgroup_no_v1=all /proc/cmdline; then
    tj_fail cgroup-v1-disabled "cgroup v1 mounted or cgroup_no_v1=all missing"
else
    tj_pass cgroup-v1-disabled
fi

for c in cpu memory pids; do
    if grep -qw "$c" "$cg/cgroup.controllers"; then
        tj_pass "controller-$c"
    else
        tj_fail "controller-$c" "not in cgroup.controllers: $(cat "$cg/cgroup.controllers")"
    fi
done
tj_info "controllers: $(cat "$cg/cgroup.controllers")"

# --- What the kernel has of what tinyjail uses --------------------------------
# Each with the release that brought it. What an older kernel lacks, the cases check
# tinyjail's fallback for instead. What a kernel lacks although its release has it
# (required) means a probe here is wrong or the kernel is built without it, and the
# cases would check the wrong path: that fails. Time namespaces need the
# architecture's support too (32-bit arm has none), hence optional.
#
# The system calls are found by their symbols (sys_X after the architecture's prefix,
# such as __x64_), CLONE_INTO_CGROUP by a function it brought, in /proc/kallsyms:
# read only up to the last one found (all in its first sixth), since reading it whole
# takes seconds under TCG.
syms=$(awk '{ n = $3; sub(/^_*[a-z0-9]*_sys_/, "sys_", n) }
    n ~ /^(sys_clone3|sys_openat2|sys_close_range|cgroup_css_set_put_fork)$/ && !(n in seen) {
        seen[n] = 1; printf "%s ", n; if (++found == 4) exit }' /proc/kallsyms 2>/dev/null) || true
have= missing= wrong=
# feature NAME RELEASE required|optional PROBE...: NAME is had if PROBE succeeds.
feature() {
    _name=$1 _since=$2 _need=$3
    shift 3
    if "$@"; then
        have="$have $_name"
    else
        missing="$missing $_name($_since)"
        if [ "$_need" = required ] && tj_kernel_at_least "$_since"; then
            wrong="$wrong $_name($_since)"
        fi
    fi
}
in_syms() { case " $syms " in *" $1 "*) return 0 ;; esac; return 1; }
feature clone3 5.3 required in_syms sys_clone3
feature openat2 5.6 required in_syms sys_openat2
feature time-namespaces 5.6 optional test -e /proc/self/ns/time
# The exec enters a time namespace unshared before it (not in 6.1, in 6.12).
feature exec-enters-time-namespace "after 6.1" optional \
    tj_kernel_symbol exec_task_namespaces switch_task_namespaces
feature CLONE_INTO_CGROUP 5.7 required in_syms cgroup_css_set_put_fork
feature close_range 5.9 required in_syms sys_close_range
feature cgroup.kill 5.14 required tj_cgroup_has cgroup.kill
feature memory.peak 5.19 required tj_cgroup_has memory.peak
# Not in 5.10, in 6.1: which release brought it is not checked here.
feature pids.peak "after 5.10" optional tj_cgroup_has pids.peak
tj_info "kernel $(uname -r) has:${have:- nothing}; lacks:${missing:- nothing}"
if [ -z "$syms" ]; then
    tj_fail kernel-features "no system call symbols in /proc/kallsyms"
elif [ -n "$wrong" ]; then
    tj_fail kernel-features "missing though the release has them:$wrong"
else
    tj_pass kernel-features
fi

# --- Limits are enforced -----------------------------------------------------
echo "+cpu +memory +pids" >"$cg/cgroup.subtree_control"

# memory.max: a 64 MiB buffer in a 16 MiB cgroup gets OOM-killed.
mkdir "$cg/smoke-mem"
echo 16M >"$cg/smoke-mem/memory.max"
echo 0 >"$cg/smoke-mem/memory.swap.max"
rc=0
sh -c "echo \$\$ >$cg/smoke-mem/cgroup.procs; exec dd if=/dev/zero of=/dev/null bs=64M count=1" \
    2>/dev/null || rc=$?
oom=$(sed -n 's/^oom_kill //p' "$cg/smoke-mem/memory.events")
if [ "$rc" -ne 0 ] && [ "${oom:-0}" -ge 1 ]; then
    tj_pass memory-max-enforced
else
    tj_fail memory-max-enforced "dd exit $rc, oom_kill=${oom:-?}"
fi
cg_remove "$cg/smoke-mem"

# pids.max: forking past the limit fails and is counted in pids.events.
mkdir "$cg/smoke-pids"
echo 4 >"$cg/smoke-pids/pids.max"
sh -c "echo \$\$ >$cg/smoke-pids/cgroup.procs
       for i in 1 2 3 4 5 6 7 8; do sleep 30 & done" 2>/dev/null || true
hits=$(sed -n 's/^max //p' "$cg/smoke-pids/pids.events")
if [ "${hits:-0}" -ge 1 ]; then
    tj_pass pids-max-enforced
else
    tj_fail pids-max-enforced "pids.events max=${hits:-?}, pids.current=$(cat "$cg/smoke-pids/pids.current")"
fi
cg_remove "$cg/smoke-pids"

# cpu.max: a busy loop under a 10% quota gets throttled.
mkdir "$cg/smoke-cpu"
echo "10000 100000" >"$cg/smoke-cpu/cpu.max"
sh -c "echo \$\$ >$cg/smoke-cpu/cgroup.procs; exec timeout 1 sh -c 'while :; do :; done'" \
    2>/dev/null || true
throttled=$(sed -n 's/^nr_throttled //p' "$cg/smoke-cpu/cpu.stat")
usage=$(sed -n 's/^usage_usec //p' "$cg/smoke-cpu/cpu.stat")
if [ "${throttled:-0}" -ge 1 ] && [ "${usage:-0}" -lt 500000 ]; then
    tj_pass cpu-max-enforced
else
    tj_fail cpu-max-enforced "nr_throttled=${throttled:-?} usage_usec=${usage:-?}"
fi
tj_info "cpu.max 10%: usage_usec=${usage:-?} over ~1s, nr_throttled=${throttled:-?}"
cg_remove "$cg/smoke-cpu"
# Back to no controllers enabled at the root, as the VM starts, for the cases scripts
# that run after this one in the same boot.
echo "-cpu -memory -pids" >"$cg/cgroup.subtree_control"

# --- User namespaces ---------------------------------------------------------
if ! busybox unshare --help >/dev/null 2>&1; then
    tj_skip userns-root "busybox has no unshare applet"
    tj_skip userns-unprivileged "busybox has no unshare applet"
else
    out=$(unshare -U -r id -u 2>&1) || true
    if [ "$out" = 0 ]; then
        tj_pass userns-root
    else
        tj_fail userns-root "unshare -U -r id -u: $out"
    fi
    out=$(su tj -s /bin/sh -c 'unshare -U -r id -u' 2>&1) || true
    if [ "$out" = 0 ]; then
        tj_pass userns-unprivileged
    else
        tj_fail userns-unprivileged "uid 1000: unshare -U -r id -u: $out"
    fi
fi

# --- Container root ----------------------------------------------------------
owner=$(stat -c %u:%g /rootfs /rootfs/bin /rootfs/bin/busybox /rootfs/etc/passwd | sort -u)
if [ "$owner" = 1000:1000 ]; then
    tj_pass rootfs-owner
else
    tj_fail rootfs-owner "owners: $(echo "$owner" | tr '\n' ' ')"
fi

# pivot_root works from a tmpfs root, and is refused from the initramfs root.
case " $(cat /proc/cmdline) " in
*" tj.tmpfsroot "*) ;;
*)
    out=$(unshare -m sh -c 'mount --make-rprivate / && mount --bind /rootfs /rootfs &&
        cd /rootfs && pivot_root . tmp' 2>&1) && tj_fail pivot-root-initramfs "accepted" ||
        tj_pass pivot-root-initramfs
    ;;
esac
if [ -e /.tj-stage2 ]; then
    out=$(unshare -m sh -c 'mount --make-rprivate / &&
        mount --bind /rootfs /rootfs && cd /rootfs && pivot_root . tmp &&
        exec /bin/sh -c "umount -l /tmp && cat /etc/passwd"' 2>&1) || true
    if echo "$out" | grep -q '^nobody:' && ! echo "$out" | grep -q '^tj:'; then
        tj_pass pivot-root-rootfs
    else
        tj_fail pivot-root-rootfs "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
    fi
fi

if [ -x /bin/tinyjail ]; then
    tj_pass tinyjail-present
else
    tj_fail tinyjail-present "/bin/tinyjail missing"
fi

# --- veth and bridge ---------------------------------------------------------
for m in veth bridge; do
    if [ -d "/sys/module/$m" ]; then
        tj_pass "module-$m"
    else
        tj_fail "module-$m" "/sys/module/$m missing"
    fi
done

# busybox ip cannot name the peer; the kernel then picks vethN for it.
if ip link add tjv0 type veth 2>/dev/null && [ -e /sys/class/net/tjv0 ]; then
    tj_pass veth-create
    tj_info "links: $(cd /sys/class/net && echo *)"
else
    tj_info "busybox ip cannot create veth (module loaded; use tinyjail or netlink)"
fi

if ip link add tjbr0 type bridge 2>/dev/null || brctl addbr tjbr0 2>/dev/null; then
    if [ -e /sys/class/net/tjv0 ] && ! ip link set tjv0 master tjbr0 2>/dev/null; then
        tj_fail bridge-create "cannot attach tjv0 to tjbr0"
    else
        tj_pass bridge-create
    fi
else
    tj_info "busybox cannot create a bridge (module loaded)"
fi
ip link del tjv0 2>/dev/null || true
ip link del tjbr0 2>/dev/null || true

tj_done
