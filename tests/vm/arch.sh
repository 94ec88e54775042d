# shellcheck shell=bash disable=SC2034
# Per-architecture settings for the VM test harness.
# Sourced (not executed) by fetch.sh and run.sh after TJ_ARCH is set.
#
# Every architecture defines:
#   TJ_DEB_ARCH       Debian architecture name of the kernel/busybox packages
#   TJ_KERNEL_META    Debian meta package whose dependency is the kernel image
#   TJ_KERNEL_GLOB    kernel image inside the unpacked package (%V = version)
#   TJ_QEMU           qemu system emulator binary
#   TJ_QEMU_PKG       Debian package providing TJ_QEMU
#   TJ_QEMU_MACHINE   machine/cpu arguments for qemu
#   TJ_CONSOLE        serial console device name for the kernel command line
#   TJ_BUSYBOX_SRC    static busybox for the guest, copied into the cache
#
# Adding an architecture means adding a branch below; fetch.sh and run.sh
# only use these variables.

TJ_ARCH="${TJ_ARCH:-x86_64}"

case "$TJ_ARCH" in
    x86_64)
        TJ_DEB_ARCH=amd64
        TJ_KERNEL_META=linux-image-cloud-amd64
        TJ_KERNEL_GLOB='boot/vmlinuz-%V'
        TJ_QEMU=qemu-system-x86_64
        TJ_QEMU_PKG=qemu-system-x86
        # KVM guests hang on the machines this runs on: always use TCG.
        TJ_QEMU_MACHINE='-machine pc -accel tcg -cpu max'
        TJ_CONSOLE=ttyS0
        # Native architecture: the host's busybox-static is the guest's.
        TJ_BUSYBOX_SRC=/bin/busybox
        ;;
    # Sketches for later (not implemented; each needs the foreign Debian
    # architecture enabled with `dpkg --add-architecture` so that
    # `apt-get download PKG:ARCH` works, and busybox-static:ARCH fetched
    # into the cache instead of the host's /bin/busybox):
    #   aarch64: TJ_DEB_ARCH=arm64  TJ_KERNEL_META=linux-image-cloud-arm64
    #            TJ_QEMU=qemu-system-aarch64 (qemu-system-arm)
    #            TJ_QEMU_MACHINE='-machine virt -accel tcg -cpu max'
    #            TJ_CONSOLE=ttyAMA0
    #   armv7:   TJ_DEB_ARCH=armhf  TJ_KERNEL_META=linux-image-armmp-lpae
    #            TJ_QEMU=qemu-system-arm (qemu-system-arm)
    #            TJ_QEMU_MACHINE='-machine virt -accel tcg -cpu max'
    #            TJ_CONSOLE=ttyAMA0
    #   riscv64: TJ_DEB_ARCH=riscv64 TJ_KERNEL_META=linux-image-riscv64
    #            (not a bookworm release architecture: needs trixie or later)
    #            TJ_QEMU=qemu-system-riscv64 (qemu-system-misc)
    #            TJ_QEMU_MACHINE='-machine virt -accel tcg -cpu max'
    #            TJ_CONSOLE=ttyS0
    aarch64|armv7|riscv64)
        echo "tinyjail-vm: TJ_ARCH=$TJ_ARCH is not implemented yet (see tests/vm/arch.sh)" >&2
        exit 2
        ;;
    *)
        echo "tinyjail-vm: unknown TJ_ARCH=$TJ_ARCH (known: x86_64)" >&2
        exit 2
        ;;
esac

# Where fetched kernels are kept between runs.
TJ_VM_CACHE="${TINYJAIL_VM_CACHE:-/var/cache/tinyjail-vm}"
TJ_ARCH_CACHE="$TJ_VM_CACHE/$TJ_ARCH"
# Written last by fetch.sh; its presence means the cache is complete.
TJ_KERNEL_ENV="$TJ_ARCH_CACHE/kernel.env"
# Cached copy of the guest busybox (independent of later host changes).
TJ_BUSYBOX="$TJ_ARCH_CACHE/busybox"
