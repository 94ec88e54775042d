# shellcheck shell=bash disable=SC2034
# Per-architecture settings for the VM test harness.
# Sourced (not executed) by fetch.sh, run.sh and run-all.sh after TJ_ARCH is set.
#
# Every architecture defines:
#   TJ_DEB_ARCH       Debian architecture name of the kernel/busybox packages
#   TJ_DEB_SUITE      Debian suite the kernel and busybox come from; empty: the
#                     host's own apt sources (native architecture only).
#                     Otherwise fetch.sh uses a private apt configuration in
#                     the cache (its own sources, lists and status) and leaves
#                     the host's apt and dpkg setup alone.
#   TJ_KERNEL_META    Debian meta package whose dependency is the kernel image
#   TJ_KERNEL_GLOB    kernel image inside the unpacked package (%V = version)
#   TJ_QEMU           qemu system emulator binary
#   TJ_QEMU_PKG       Debian package providing TJ_QEMU
#   TJ_QEMU_MACHINE   machine/cpu/firmware arguments for qemu
#   TJ_CONSOLE        serial console device name for the kernel command line
#   TJ_BUSYBOX_SRC    static busybox for the guest, copied into the cache; empty:
#                     busybox-static of TJ_DEB_SUITE/TJ_DEB_ARCH is downloaded
#   TJ_MACHINE        the guest's `uname -m`
#   TJ_ELF_MACHINE    ELF class and e_machine of the guest's binaries ("64 62")
#   TJ_RUST_TARGET    Rust target of the tinyjail binary (scripts/build-all);
#                     empty: the host's own, target/release/tinyjail
#
# Adding an architecture, or another kernel for one (x86_64-5.10), means
# adding a branch below; the scripts only use these variables.

TJ_ARCH="${TJ_ARCH:-x86_64}"

case "$TJ_ARCH" in
    x86_64)
        TJ_DEB_ARCH=amd64
        TJ_DEB_SUITE=
        TJ_KERNEL_META=linux-image-cloud-amd64
        TJ_KERNEL_GLOB='boot/vmlinuz-%V'
        TJ_QEMU=qemu-system-x86_64
        TJ_QEMU_PKG=qemu-system-x86
        # KVM guests hang on the machines this runs on: always use TCG.
        TJ_QEMU_MACHINE='-machine pc -accel tcg -cpu max'
        TJ_CONSOLE=ttyS0
        # Native architecture: the host's busybox-static is the guest's.
        TJ_BUSYBOX_SRC=/bin/busybox
        TJ_MACHINE=x86_64
        TJ_ELF_MACHINE='64 62'
        TJ_RUST_TARGET=
        ;;
    x86_64-5.10)
        # The old-kernel row: x86_64 with bullseye's 5.10 LTS kernel, below
        # several features tinyjail uses where they exist (cgroup.kill 5.14,
        # memory.peak 5.19; see README.md). Same busybox, initramfs and
        # cases as x86_64; the kernel comes through the private apt
        # configuration, as for the foreign architectures.
        TJ_DEB_ARCH=amd64
        TJ_DEB_SUITE=bullseye
        TJ_KERNEL_META=linux-image-cloud-amd64
        TJ_KERNEL_GLOB='boot/vmlinuz-%V'
        TJ_QEMU=qemu-system-x86_64
        TJ_QEMU_PKG=qemu-system-x86
        TJ_QEMU_MACHINE='-machine pc -accel tcg -cpu max'
        TJ_CONSOLE=ttyS0
        TJ_BUSYBOX_SRC=/bin/busybox
        TJ_MACHINE=x86_64
        TJ_ELF_MACHINE='64 62'
        TJ_RUST_TARGET=
        ;;
    aarch64)
        TJ_DEB_ARCH=arm64
        TJ_DEB_SUITE=bookworm
        TJ_KERNEL_META=linux-image-cloud-arm64
        TJ_KERNEL_GLOB='boot/vmlinuz-%V'
        TJ_QEMU=qemu-system-aarch64
        TJ_QEMU_PKG=qemu-system-arm
        # cortex-a57 rather than max: max (pointer authentication and more,
        # all emulated) makes TCG about three times slower.
        TJ_QEMU_MACHINE='-machine virt -accel tcg -cpu cortex-a57'
        TJ_CONSOLE=ttyAMA0
        TJ_BUSYBOX_SRC=
        TJ_MACHINE=aarch64
        TJ_ELF_MACHINE='64 183'
        TJ_RUST_TARGET=aarch64-unknown-linux-musl
        ;;
    armv7)
        TJ_DEB_ARCH=armhf
        TJ_DEB_SUITE=bookworm
        # armmp-lpae, not armmp: the plain armmp kernel has no hugetlb
        # controller.
        TJ_KERNEL_META=linux-image-armmp-lpae
        TJ_KERNEL_GLOB='boot/vmlinuz-%V'
        TJ_QEMU=qemu-system-arm
        TJ_QEMU_PKG=qemu-system-arm
        TJ_QEMU_MACHINE='-machine virt -accel tcg -cpu cortex-a15'
        TJ_CONSOLE=ttyAMA0
        TJ_BUSYBOX_SRC=
        TJ_MACHINE=armv7l
        TJ_ELF_MACHINE='32 40'
        TJ_RUST_TARGET=armv7-unknown-linux-musleabihf
        ;;
    riscv64)
        TJ_DEB_ARCH=riscv64
        # Not a bookworm release architecture: trixie is the first.
        TJ_DEB_SUITE=trixie
        TJ_KERNEL_META=linux-image-riscv64
        TJ_KERNEL_GLOB='boot/vmlinux-%V'
        TJ_QEMU=qemu-system-riscv64
        TJ_QEMU_PKG=qemu-system-misc
        # OpenSBI from qemu's own firmware files.
        TJ_QEMU_MACHINE='-machine virt -accel tcg -bios default'
        TJ_CONSOLE=ttyS0
        TJ_BUSYBOX_SRC=
        TJ_MACHINE=riscv64
        TJ_ELF_MACHINE='64 243'
        TJ_RUST_TARGET=riscv64gc-unknown-linux-musl
        ;;
    *)
        echo "tinyjail-vm: unknown TJ_ARCH=$TJ_ARCH (known: x86_64 x86_64-5.10 aarch64 armv7 riscv64)" >&2
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
# Debian mirrors for the private apt configuration of foreign architectures.
TJ_VM_MIRROR="${TJ_VM_MIRROR:-http://deb.debian.org/debian}"
TJ_VM_SECURITY_MIRROR="${TJ_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# tj_elf_machine FILE: "CLASS MACHINE" of an ELF file ("64 183" for aarch64),
# comparable with TJ_ELF_MACHINE; empty output if FILE is not ELF.
tj_elf_machine() {
    local magic class machine
    magic=$(od -An -c -N4 "$1" 2>/dev/null | tr -d ' ')
    [ "$magic" = '177ELF' ] || return 0
    class=$(od -An -tu1 -j4 -N1 "$1" | tr -d ' ')
    machine=$(od -An -tu2 -j18 -N2 "$1" | tr -d ' ')
    case "$class" in
        1) echo "32 $machine" ;;
        2) echo "64 $machine" ;;
    esac
}
