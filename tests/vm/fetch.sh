#!/usr/bin/env bash
# Fetch everything the VM tests need: host tools (qemu, cpio, static busybox)
# and a Debian cloud kernel unpacked into a cache directory.
#
# Usage: tests/vm/fetch.sh
# Env:   TJ_ARCH            guest architecture (default x86_64)
#        TINYJAIL_VM_CACHE  cache directory (default /var/cache/tinyjail-vm)
#        TJ_VM_REFRESH=1    re-resolve and re-download the kernel
#
# A rerun with a complete cache uses no network. On success the paths are
# printed on stdout as KEY=VALUE lines; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=arch.sh
. "$here/arch.sh"

log() { echo "fetch.sh: $*" >&2; }
die() { echo "fetch.sh: error: $*" >&2; exit 1; }

# Run `apt-get update` at most once per invocation.
apt_updated=0
apt_update() {
    [ "$apt_updated" = 1 ] && return 0
    log "running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed: is the Debian mirror reachable?"
    apt_updated=1
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- 1. Host tools -----------------------------------------------------------
missing=()
command -v "$TJ_QEMU" >/dev/null 2>&1 || missing+=("$TJ_QEMU_PKG")
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
# The guest busybox must be the static build (busybox-static, not busybox);
# only needed until a copy is cached.
if [ ! -x "$TJ_BUSYBOX" ] && [ "$TJ_BUSYBOX_SRC" = /bin/busybox ] &&
    ! pkg_installed busybox-static; then
    missing+=(busybox-static)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); install them as root"
    apt_update
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi

# --- 2. Cache: busybox and kernel --------------------------------------------
mkdir -p "$TJ_ARCH_CACHE" || die "cannot create cache directory $TJ_ARCH_CACHE"
# Serialize concurrent fetches of the same cache.
exec 9>"$TJ_ARCH_CACHE/.lock"
flock 9

# Keep a private copy of the guest busybox.
if [ ! -x "$TJ_BUSYBOX" ]; then
    [ -x "$TJ_BUSYBOX_SRC" ] || die "static busybox not found at $TJ_BUSYBOX_SRC"
    cp "$TJ_BUSYBOX_SRC" "$TJ_BUSYBOX.tmp"
    chmod 0755 "$TJ_BUSYBOX.tmp"
    mv "$TJ_BUSYBOX.tmp" "$TJ_BUSYBOX"
fi

print_paths() {
    echo "TJ_ARCH=$TJ_ARCH"
    echo "TJ_KVER=$TJ_KVER"
    echo "TJ_KERNEL_PKG=$TJ_KERNEL_PKG"
    echo "TJ_KERNEL=$TJ_KERNEL"
    echo "TJ_MODDIR=$TJ_MODDIR"
    echo "TJ_BUSYBOX=$TJ_BUSYBOX"
    echo "TJ_QEMU=$(command -v "$TJ_QEMU")"
    echo "TJ_KERNEL_ENV=$TJ_KERNEL_ENV"
}

# Reuse a complete cache without touching the network.
if [ "${TJ_VM_REFRESH:-0}" != 1 ] && [ -f "$TJ_KERNEL_ENV" ]; then
    # shellcheck disable=SC1090
    . "$TJ_KERNEL_ENV"
    if [ -f "$TJ_KERNEL" ] && [ -d "$TJ_MODDIR" ]; then
        log "using cached kernel $TJ_KVER"
        print_paths
        exit 0
    fi
    log "cache at $TJ_ARCH_CACHE is incomplete; fetching again"
fi

# Resolve the versioned kernel package the meta package points at.
resolve_kernel_pkg() {
    apt-cache depends "$TJ_KERNEL_META:$TJ_DEB_ARCH" 2>/dev/null |
        sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ :]*\).*/\1/p' | head -n 1
}
pkg=$(resolve_kernel_pkg)
if [ -z "$pkg" ]; then
    apt_update
    pkg=$(resolve_kernel_pkg)
fi
[ -n "$pkg" ] || die "cannot resolve $TJ_KERNEL_META:$TJ_DEB_ARCH to a kernel package (apt sources?)"
kver=${pkg#linux-image-}
kver=${kver%-unsigned}

tmp=$(mktemp -d "$TJ_ARCH_CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Download the .deb; retry once after refreshing stale package lists.
download() {
    (cd "$tmp" && apt-get -qq -o APT::Sandbox::User=root download "$pkg:$TJ_DEB_ARCH" >&2)
}
log "downloading $pkg ($TJ_DEB_ARCH)"
if ! download; then
    apt_update
    download || die "download of $pkg:$TJ_DEB_ARCH failed: is the Debian mirror reachable?"
fi
deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
[ -n "$deb" ] || die "apt-get download produced no .deb for $pkg"

# Unpack and locate the kernel image and module tree.
log "unpacking $(basename "$deb")"
dpkg-deb -x "$deb" "$tmp/tree" || die "dpkg-deb -x $deb failed"
kimg="$tmp/tree/${TJ_KERNEL_GLOB//%V/$kver}"
[ -f "$kimg" ] || die "kernel image ${TJ_KERNEL_GLOB//%V/$kver} not found in $pkg"
moddir=""
for d in "lib/modules/$kver" "usr/lib/modules/$kver"; do
    [ -d "$tmp/tree/$d" ] && moddir=$d && break
done
[ -n "$moddir" ] || die "module directory for $kver not found in $pkg"

# Move into place under a versioned name, drop older versions, then write
# the env file last so that its presence marks a complete cache.
dest="$TJ_ARCH_CACHE/kernel-$kver"
rm -rf "$dest"
mv "$tmp/tree" "$dest"
for old in "$TJ_ARCH_CACHE"/kernel-*; do
    [ "$old" = "$dest" ] || rm -rf "$old"
done
TJ_KVER=$kver
TJ_KERNEL_PKG="$pkg $(dpkg-deb -f "$deb" Version)"
TJ_KERNEL="$dest/${TJ_KERNEL_GLOB//%V/$kver}"
TJ_MODDIR="$dest/$moddir"
{
    printf 'TJ_KVER=%q\n' "$TJ_KVER"
    printf 'TJ_KERNEL_PKG=%q\n' "$TJ_KERNEL_PKG"
    printf 'TJ_KERNEL=%q\n' "$TJ_KERNEL"
    printf 'TJ_MODDIR=%q\n' "$TJ_MODDIR"
} >"$tmp/kernel.env"
mv "$tmp/kernel.env" "$TJ_KERNEL_ENV"
log "kernel $kver cached in $dest"
print_paths
