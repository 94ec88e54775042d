#!/usr/bin/env bash
# Fetch everything the VM tests need: host tools (qemu, cpio, static busybox)
# and a Debian kernel unpacked into a cache directory, per architecture.
#
# x86_64 takes its kernel through the host's apt sources and its busybox from
# the host's busybox-static. The other architectures (aarch64, armv7,
# riscv64) take both from Debian through a private apt configuration under
# the cache directory (own sources.list, lists and dpkg status), so that the
# host's apt sources, architectures and installed packages stay as they are:
# nothing foreign is installed, the packages are only unpacked. x86_64-5.10
# takes its kernel (bullseye's) that way too, and the host's busybox.
#
# Usage: tests/vm/fetch.sh
# Env:   TJ_ARCH            guest architecture: x86_64 (default), x86_64-5.10,
#                           aarch64, armv7, riscv64 (see arch.sh)
#        TINYJAIL_VM_CACHE  cache directory (default /var/cache/tinyjail-vm)
#        TJ_VM_REFRESH=1    re-resolve and re-download the kernel (and the
#                           busybox of a foreign architecture)
#        TJ_VM_MIRROR, TJ_VM_SECURITY_MIRROR
#                           Debian mirrors of the private apt configuration
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
# Compressed modules (trixie's are .ko.xz) are unpacked on the host.
command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
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

refresh=${TJ_VM_REFRESH:-0}

# Native architecture: keep a private copy of the host's static busybox.
if [ -n "$TJ_BUSYBOX_SRC" ] && [ ! -x "$TJ_BUSYBOX" ]; then
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
need_kernel=1 need_busybox=1
if [ "$refresh" != 1 ] && [ -f "$TJ_KERNEL_ENV" ]; then
    # shellcheck disable=SC1090
    . "$TJ_KERNEL_ENV"
    if [ -f "$TJ_KERNEL" ] && [ -d "$TJ_MODDIR" ]; then
        need_kernel=0
    else
        log "kernel cache at $TJ_ARCH_CACHE is incomplete; fetching again"
    fi
fi
if [ -x "$TJ_BUSYBOX" ] && { [ -n "$TJ_BUSYBOX_SRC" ] || [ "$refresh" != 1 ]; }; then
    need_busybox=0
fi
if [ "$need_kernel" = 0 ] && [ "$need_busybox" = 0 ]; then
    log "using cached kernel $TJ_KVER"
    print_paths
    exit 0
fi

tmp=$(mktemp -d "$TJ_ARCH_CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- 3. Package source --------------------------------------------------------
# pkg_update, pkg_cache ARGS..., pkg_get ARGS...: apt-get update, apt-cache and
# apt-get against the host's sources (native) or the private configuration.
if [ -z "$TJ_DEB_SUITE" ]; then
    pkg_update() { apt_update; }
    pkg_cache() { apt-cache "$@"; }
    pkg_get() { apt-get -o APT::Sandbox::User=root "$@"; }
    pkg_lists_ready=1
else
    [ "$(id -u)" = 0 ] || die "fetching the $TJ_ARCH kernel needs root (or a complete cache at $TJ_ARCH_CACHE)"
    aptdir=$TJ_ARCH_CACHE/.apt
    mkdir -p "$aptdir/sources.list.d" "$aptdir/state/lists/partial" \
        "$aptdir/cache/archives/partial"
    : >"$aptdir/state/status"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "$keyring missing (package debian-archive-keyring)"
    opt="arch=$TJ_DEB_ARCH signed-by=$keyring"
    cat >"$aptdir/sources.list" <<EOF
deb [$opt] $TJ_VM_MIRROR $TJ_DEB_SUITE main
deb [$opt] $TJ_VM_MIRROR $TJ_DEB_SUITE-updates main
deb [$opt] $TJ_VM_SECURITY_MIRROR $TJ_DEB_SUITE-security main
EOF
    # Only this architecture, only Packages indices; the host's apt.conf.d
    # (proxies and the like) still applies.
    apt_opts=(
        -o "Dir::Etc::sourcelist=$aptdir/sources.list"
        -o "Dir::Etc::sourceparts=$aptdir/sources.list.d"
        -o "Dir::State=$aptdir/state"
        -o "Dir::State::status=$aptdir/state/status"
        -o "Dir::Cache=$aptdir/cache"
        -o "APT::Architecture=$TJ_DEB_ARCH"
        -o "APT::Architectures::=$TJ_DEB_ARCH"
        -o "APT::Sandbox::User=root"
        -o "Acquire::Languages=none"
        -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
        -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
        -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
        -o "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false"
    )
    pkg_updated=0
    pkg_update() {
        [ "$pkg_updated" = 1 ] && return 0
        log "running apt-get update for $TJ_DEB_SUITE/$TJ_DEB_ARCH (private configuration in $aptdir)"
        apt-get -qq "${apt_opts[@]}" update >&2 ||
            die "apt-get update for $TJ_DEB_SUITE/$TJ_DEB_ARCH failed: is $TJ_VM_MIRROR reachable?"
        pkg_updated=1
    }
    pkg_cache() { apt-cache "${apt_opts[@]}" "$@"; }
    pkg_get() { apt-get "${apt_opts[@]}" "$@"; }
    pkg_lists_ready=0
    # The lists are only needed while fetching: drop them afterwards.
    trap 'rm -rf "$tmp" "$aptdir/state/lists" "$aptdir/cache"' EXIT
fi

# pkg_download NAME DIR: NAME:TJ_DEB_ARCH's .deb into DIR, its path on stdout;
# retried once after refreshing stale package lists.
pkg_download() {
    local name=$1 dir=$2 deb
    mkdir -p "$dir"
    log "downloading $name ($TJ_DEB_ARCH)"
    if ! (cd "$dir" && pkg_get -qq download "$name:$TJ_DEB_ARCH" >&2); then
        pkg_update
        (cd "$dir" && pkg_get -qq download "$name:$TJ_DEB_ARCH" >&2) ||
            die "download of $name:$TJ_DEB_ARCH failed: is the Debian mirror reachable?"
    fi
    deb=$(find "$dir" -maxdepth 1 -name '*.deb' | head -n 1)
    [ -n "$deb" ] || die "apt-get download produced no .deb for $name"
    echo "$deb"
}
[ "$pkg_lists_ready" = 1 ] || pkg_update

# --- 4. Busybox of a foreign architecture --------------------------------------
if [ "$need_busybox" = 1 ]; then
    deb=$(pkg_download busybox-static "$tmp/busybox-deb")
    dpkg-deb -x "$deb" "$tmp/busybox-tree" || die "dpkg-deb -x $deb failed"
    bb=
    for f in usr/bin/busybox bin/busybox; do
        [ -f "$tmp/busybox-tree/$f" ] && bb=$tmp/busybox-tree/$f && break
    done
    [ -n "$bb" ] || die "no busybox binary in $(basename "$deb")"
    [ "$(tj_elf_machine "$bb")" = "$TJ_ELF_MACHINE" ] ||
        die "$(basename "$deb"): busybox is not an ELF file for $TJ_ARCH"
    cp "$bb" "$TJ_BUSYBOX.tmp"
    chmod 0755 "$TJ_BUSYBOX.tmp"
    mv "$TJ_BUSYBOX.tmp" "$TJ_BUSYBOX"
    log "busybox-static $(dpkg-deb -f "$deb" Version) ($TJ_DEB_ARCH) cached as $TJ_BUSYBOX"
fi

if [ "$need_kernel" = 0 ]; then
    log "using cached kernel $TJ_KVER"
    print_paths
    exit 0
fi

# --- 5. Kernel -----------------------------------------------------------------
# Resolve the versioned kernel package the meta package points at.
resolve_kernel_pkg() {
    pkg_cache depends "$TJ_KERNEL_META:$TJ_DEB_ARCH" 2>/dev/null |
        sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ :]*\).*/\1/p' | head -n 1
}
pkg=$(resolve_kernel_pkg)
if [ -z "$pkg" ]; then
    pkg_update
    pkg=$(resolve_kernel_pkg)
fi
[ -n "$pkg" ] || die "cannot resolve $TJ_KERNEL_META:$TJ_DEB_ARCH to a kernel package (apt sources?)"
kver=${pkg#linux-image-}
kver=${kver%-unsigned}

deb=$(pkg_download "$pkg" "$tmp/kernel-deb")
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
