#!/usr/bin/env bash
# Boot a small cgroup-v2-only Linux VM and run cases scripts inside it, in one boot.
#
# Usage: tests/vm/run.sh TINYJAIL_BINARY CASES_SCRIPT...
#
# The guest has /bin/tinyjail (TINYJAIL_BINARY), busybox, a container root
# at /rootfs owned by uid/gid 1000, cgroup2 at /sys/fs/cgroup, and the
# helpers /lib/tj.sh. Each CASES_SCRIPT runs in turn, in the same boot, as
# root under busybox sh, and prints
#   TJRESULT <case> PASS | TJRESULT <case> FAIL <reason> | TJRESULT <case> SKIP <reason>
# lines and finally TJDONE. Exit status 0 only if every script printed
# TJDONE and exited 0, at least one result was reported, no case failed and
# no case name was reported twice.
#
# Env: TJ_ARCH            guest architecture: x86_64 (default), x86_64-5.10,
#                         aarch64, armv7, riscv64 (see arch.sh)
#      TINYJAIL_VM_CACHE  kernel cache (default /var/cache/tinyjail-vm)
#      TJ_VM_TIMEOUT      seconds before the VM is killed (default 300)
#      TJ_VM_MEM          guest memory in MiB (default 512)
#      TJ_VM_SMP          guest CPUs (default 2)
#      TJ_VM_MODULES      kernel modules to load (default "veth bridge");
#                         dependencies are added automatically
#      TJ_VM_APPEND       extra kernel command line arguments
#      TJ_VM_OVERLAY      directory whose contents are copied over the
#                         guest root (extra files for the cases)
#      TJ_VM_LOG          keep the console log at this path
#      TJ_VM_VERBOSE=1    stream the console while the VM runs
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=arch.sh
. "$here/arch.sh"

log() { echo "run.sh: $*" >&2; }
die() { echo "run.sh: error: $*" >&2; exit 2; }

[ "$#" -ge 2 ] || die "usage: $0 TINYJAIL_BINARY CASES_SCRIPT..."
tj_bin=$1
shift
cases=("$@")
[ -f "$tj_bin" ] || die "tinyjail binary not found: $tj_bin"
declare -A case_seen=()
for c in "${cases[@]}"; do
    [ -f "$c" ] || die "cases script not found: $c"
    [ -z "${case_seen[${c##*/}]:-}" ] || die "two cases scripts named ${c##*/}"
    case_seen[${c##*/}]=1
done
# An ELF binary must be one for the guest (a script is taken as it is).
tj_elf=$(tj_elf_machine "$tj_bin")
if [ -n "$tj_elf" ] && [ "$tj_elf" != "$TJ_ELF_MACHINE" ]; then
    die "$tj_bin is not built for $TJ_ARCH (ELF class and machine $tj_elf, wanted $TJ_ELF_MACHINE)"
fi

timeout_s=${TJ_VM_TIMEOUT:-300}
mem=${TJ_VM_MEM:-512}
smp=${TJ_VM_SMP:-2}
modules=${TJ_VM_MODULES-veth bridge}

# Kernel and host tools: no network if the cache is complete.
"$here/fetch.sh" >/dev/null || die "fetch.sh failed"
# shellcheck disable=SC1090
. "$TJ_KERNEL_ENV"

work=$(mktemp -d "${TMPDIR:-/tmp}/tinyjail-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
root=$work/root

# --- Guest root --------------------------------------------------------------
mkdir -p "$root"/{bin,cases,dev,etc,lib/modules,proc,root,sys,tmp,newroot}
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
chmod 1777 "$root/tmp"
# Console for PID 1 even on kernels without a built-in default initramfs.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
cp "$TJ_BUSYBOX" "$root/bin/busybox"
cp "$tj_bin" "$root/bin/tinyjail"
chmod 0755 "$root/bin/busybox" "$root/bin/tinyjail"
cp "$here/init.sh" "$root/init"
cp "$here/tj-lib.sh" "$root/lib/tj.sh"
# The cases scripts by name, and the order /init runs them in.
for c in "${cases[@]}"; do
    cp "$c" "$root/cases/${c##*/}"
    chmod 0755 "$root/cases/${c##*/}"
    echo "${c##*/}" >>"$root/cases/order"
done
chmod 0755 "$root/init"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tj:x:1000:1000:tj:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
tj:x:1000:
nogroup:x:65534:
EOF

# A dynamically linked tinyjail needs its libraries (native arch only).
if [ "$TJ_MACHINE" = "$(uname -m)" ] && ldd "$tj_bin" >/dev/null 2>&1; then
    log "tinyjail binary is dynamically linked; copying its libraries"
    ldd "$tj_bin" | grep -o '/[^ ]*' | while read -r lib; do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
fi

# Container root: busybox root for uid/gid 1000. Applet links and ownership
# are set up inside the guest by /init (works for any guest architecture).
rfs=$root/rootfs
mkdir -p "$rfs"/{bin,dev,etc,proc,sys,tmp}
chmod 1777 "$rfs/tmp"
cp "$TJ_BUSYBOX" "$rfs/bin/busybox"
cat >"$rfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF

# --- Kernel modules, resolved through their depends= fields -------------------
declare -A modfile=() seen=()
order=()
while IFS= read -r f; do
    b=${f##*/}
    b=${b%%.ko*}
    modfile[${b//-/_}]=$f
done < <(find "$TJ_MODDIR/kernel" -name '*.ko*')

mod_depends() {
    case "$1" in
        *.ko) cat "$1" ;;
        *.ko.xz) xz -dc "$1" ;;
        *.ko.zst) zstd -dcq "$1" ;;
        *.ko.gz) gzip -dc "$1" ;;
        *) die "unknown module format: $1" ;;
    esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

add_module() {
    local name=${1//-/_} f dep
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    f=${modfile[$name]:-}
    if [ -z "$f" ]; then
        if grep -q "/${name}.ko\$\|/${1}.ko\$" "$TJ_MODDIR/modules.builtin" 2>/dev/null; then
            log "module $1 is built into the kernel"
            return 0
        fi
        die "kernel module $1 not found in $TJ_MODDIR"
    fi
    for dep in $(mod_depends "$f"); do
        add_module "$dep"
    done
    order+=("$name.ko")
    case "$f" in
        *.ko) cp "$f" "$root/lib/modules/$name.ko" ;;
        *.ko.xz) xz -dc "$f" >"$root/lib/modules/$name.ko" ;;
        *.ko.zst) zstd -dcq "$f" >"$root/lib/modules/$name.ko" ;;
        *.ko.gz) gzip -dc "$f" >"$root/lib/modules/$name.ko" ;;
    esac
}
for m in $modules; do
    add_module "$m"
done
printf '%s\n' "${order[@]+"${order[@]}"}" >"$root/lib/modules/load-order"
[ "${#order[@]}" -eq 0 ] || log "modules: ${order[*]}"

# Extra files for the cases.
if [ -n "${TJ_VM_OVERLAY:-}" ]; then
    [ -d "$TJ_VM_OVERLAY" ] || die "TJ_VM_OVERLAY is not a directory: $TJ_VM_OVERLAY"
    cp -a "$TJ_VM_OVERLAY/." "$root/"
fi

# --- initramfs ---------------------------------------------------------------
# All files root-owned in the archive; /init chowns /rootfs to 1000.
initrd=$work/initrd.cpio.gz
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd"

# --- Boot --------------------------------------------------------------------
console_log=${TJ_VM_LOG:-$work/console.log}
append="console=$TJ_CONSOLE quiet panic=-1 cgroup_no_v1=all rdinit=/init ${TJ_VM_APPEND:-}"
# shellcheck disable=SC2206
qemu_cmd=("$TJ_QEMU" $TJ_QEMU_MACHINE -smp "$smp" -m "$mem"
    -nographic -no-reboot -net none
    -kernel "$TJ_KERNEL" -initrd "$initrd" -append "$append")

log "booting $TJ_ARCH VM (kernel $TJ_KVER, ${mem} MiB, $smp CPUs, timeout ${timeout_s}s)"
start=$(date +%s.%N)
qemu_rc=0
if [ "${TJ_VM_VERBOSE:-0}" = 1 ]; then
    timeout -k 5 "$timeout_s" "${qemu_cmd[@]}" </dev/null 2>&1 | tee "$console_log" || qemu_rc=$?
else
    timeout -k 5 "$timeout_s" "${qemu_cmd[@]}" </dev/null >"$console_log" 2>&1 || qemu_rc=$?
fi
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

# --- Results -----------------------------------------------------------------
clean=$work/console.clean
# Drop carriage returns and the firmware's terminal escape sequences, which
# otherwise stick to the front of the first guest line.
sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g' \
    "$console_log" >"$clean"

problems=()
[ "$qemu_rc" = 124 ] && problems+=("VM timed out after ${timeout_s}s")
[ "$qemu_rc" != 0 ] && [ "$qemu_rc" != 124 ] && problems+=("qemu exited with status $qemu_rc")

# The protocol lines, in order: TJSCRIPT NAME uptime=S opens a script's lines,
# TJDONE ends them, TJEXIT NAME STATUS uptime=S follows its exit (from /init).
declare -A result_seen=() script_done=() script_status=() script_start=() script_time=()
current=
passed=0 failed=0 skipped=0
while IFS= read -r line; do
    read -r kind name status uptime _ <<<"$line"
    if [ "$kind" != TJDONE ] && [ "$kind" != TJINFO ] && [ -z "${status:-}" ]; then
        failed=$((failed + 1))
        problems+=("malformed line: $line")
        continue
    fi
    case $kind in
        TJSCRIPT)
            echo "$line"
            current=$name
            uptime=${status#uptime=}
            script_start[$name]=${uptime%s}
            ;;
        TJDONE) [ -z "$current" ] || script_done[$current]=1 ;;
        TJEXIT)
            script_status[$name]=$status
            uptime=${uptime#uptime=}
            script_time[$name]=$(awk -v a="${script_start[$name]:-0}" -v b="${uptime%s}" \
                'BEGIN { printf "%.1f", b - a }')
            current=
            ;;
        TJINFO) echo "$line" ;;
        TJRESULT)
            echo "$line"
            case "${status:-}" in
                PASS) passed=$((passed + 1)) ;;
                SKIP) skipped=$((skipped + 1)) ;;
                FAIL) failed=$((failed + 1)) ;;
                *) failed=$((failed + 1)); problems+=("malformed result line: $line") ;;
            esac
            if [ -n "${result_seen[$name]:-}" ]; then
                problems+=("case $name reported twice")
            fi
            result_seen[$name]=1
            ;;
    esac
done < <(grep -E '^TJ(RESULT|INFO|SCRIPT|EXIT) |^TJDONE$' "$clean" || true)

boot_line=$(grep -m1 '^TJBOOT ' "$clean" || true)
[ $((passed + failed + skipped)) -gt 0 ] || problems+=("no TJRESULT lines")
times=()
for c in "${cases[@]}"; do
    c=${c##*/}
    if [ -z "${script_start[$c]:-}" ]; then
        problems+=("$c did not start")
        continue
    fi
    [ -n "${script_done[$c]:-}" ] || problems+=("$c: TJDONE not seen")
    case ${script_status[$c]:-} in
        0) ;;
        '') problems+=("$c did not finish") ;;
        *) problems+=("$c exited with status ${script_status[$c]}") ;;
    esac
    times+=("$c ${script_time[$c]:-?}s")
done
[ "$failed" -eq 0 ] || problems+=("$failed case(s) failed")

log "${boot_line:-no TJBOOT line}; wall time ${wall}s"
log "cases scripts: $(printf '%s, ' "${times[@]}" | sed 's/, $//')"
if [ "${#problems[@]}" -gt 0 ]; then
    echo "===== console log =====" >&2
    cat "$clean" >&2
    echo "===== end console log =====" >&2
    for p in "${problems[@]}"; do log "FAILED: $p"; done
    [ -z "${TJ_VM_LOG:-}" ] || log "console log kept at $TJ_VM_LOG"
fi
echo "vm: $passed passed, $failed failed, $skipped skipped"
[ "${#problems[@]}" -eq 0 ]
