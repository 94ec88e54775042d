#!/bin/busybox sh
# PID 1 of the test VM, installed as /init by tests/vm/run.sh.
#
# By default everything runs straight from the initramfs, as initramfs
# tooling does: there the root is the kernel's rootfs, which pivot_root
# refuses (EINVAL), and tinyjail must fall back to moving the container root
# over / and chrooting. With `tj.tmpfsroot` on the kernel command line,
# stage 1 first copies the initramfs onto a tmpfs and switch_roots to it, so
# that pivot_root works. Stage 2 mounts the usual filesystems, loads kernel
# modules, runs the scripts in /cases (in the order of /cases/order) and
# powers off.

bb=/bin/busybox
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

# Report an init failure through the result protocol and stop the VM.
die() {
    echo "TJRESULT vm-init FAIL $*"
    echo "TJDONE"
    $bb poweroff -f
    exit 1
}

tmpfsroot=
if [ ! -e /.tj-stage2 ]; then
    $bb mkdir -p /proc
    $bb mount -t proc proc /proc || die "mount proc"
    read -r cmdline </proc/cmdline
    $bb umount /proc
    case " $cmdline " in *" tj.tmpfsroot "*) tmpfsroot=1 ;; esac
fi

if [ -n "$tmpfsroot" ] && [ ! -e /.tj-stage2 ]; then
    # --- Stage 1: move onto a tmpfs root -----------------------------------
    $bb mkdir -p /newroot
    $bb mount -t tmpfs -o mode=0755 tmpfs /newroot || die "mount tmpfs /newroot"
    for e in /* /.[!.]*; do
        [ -e "$e" ] || continue
        [ "$e" = /newroot ] && continue
        $bb cp -a "$e" /newroot/ || die "copy $e to tmpfs root"
    done
    $bb touch /newroot/.tj-stage2
    # shellcheck disable=SC2093
    exec $bb switch_root /newroot /init
    die "switch_root failed"
fi

# --- Stage 2 -----------------------------------------------------------------
# The firmware leaves its last console line unterminated: end it so that the
# first protocol line starts a line of its own.
echo
# Applet links for the VM root (absolute links to /bin/busybox).
$bb --install -s /bin || die "busybox --install"

# Kernel messages stay in dmesg (dumped at the end) so that they cannot be
# interleaved with result lines on the serial console.
mount -t proc proc /proc || die "mount proc"
echo 1 >/proc/sys/kernel/printk

mount -t sysfs sysfs /sys || die "mount sysfs"
mount -t devtmpfs devtmpfs /dev || die "mount devtmpfs"
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts || die "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || die "mount /dev/shm"
mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "mount cgroup2"
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "mount /tmp"
hostname tjvm
ip link set lo up || die "ip link set lo up"

# Container root: applet links inside it point at /bin/busybox, which is
# /rootfs/bin/busybox once /rootfs is the container's root. Owned by 1000.
busybox --install -s /rootfs/bin || die "busybox --install in /rootfs"
chown -R -h 1000:1000 /rootfs || die "chown /rootfs"

# Kernel modules, dependencies first (order written by run.sh).
if [ -f /lib/modules/load-order ]; then
    while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lib/modules/$m" || die "insmod $m"
    done </lib/modules/load-order
fi

echo "TJBOOT uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r) cpus=$(nproc)"

# Run the cases scripts in the order run.sh wrote, one after the other in
# this boot; each prints TJRESULT lines and finally TJDONE.
export TJ_ROOTFS=/rootfs TJ_BIN=/bin/tinyjail HOME=/root
cd /
while read -r script; do
    [ -n "$script" ] || continue
    echo "TJSCRIPT $script uptime=$(cut -d' ' -f1 /proc/uptime)s"
    sh "/cases/$script" </dev/null 2>&1
    echo "TJEXIT $script $? uptime=$(cut -d' ' -f1 /proc/uptime)s"
done </cases/order
echo "TJEND uptime=$(cut -d' ' -f1 /proc/uptime)s"

# Kernel log for post-mortem reading (run.sh shows the whole log on failure).
echo "----- dmesg -----"
dmesg
echo "----- end dmesg -----"

poweroff -f
# Fallback: with panic=-1 and qemu -no-reboot, exiting PID 1 stops the VM.
exit 0
