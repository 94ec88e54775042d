//! The container's mount namespace: its root, /proc, /dev and /sys.
//!
//! Every mount is made by descriptor (`open_tree`, `fsopen`/`fsmount`, `move_mount`) and
//! every mount point is opened inside the root one component at a time with `O_NOFOLLOW`,
//! so a symlink in the root cannot point a mount at the host. /proc, /sys and /dev are
//! mounted before `pivot_root`, while the host's own proc and sysfs are still in the
//! namespace: the kernel lets a user namespace mount them only where a full instance is
//! already visible.

use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::error::{Context, Error, Result};
use crate::sys::{self, Errno, Fd, EMPTY};

/// Device nodes bound from the host into the container's /dev (a user namespace cannot
/// create device nodes of its own).
const DEVICES: [&CStr; 6] = [c"null", c"zero", c"full", c"random", c"urandom", c"tty"];
const HOST_DEVICES: [&CStr; 6] = [
    c"/dev/null",
    c"/dev/zero",
    c"/dev/full",
    c"/dev/random",
    c"/dev/urandom",
    c"/dev/tty",
];

/// Symlinks every /dev has.
const DEV_LINKS: [(&CStr, &CStr); 5] = [
    (c"ptmx", c"pts/ptmx"),
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
];

const PROC_HINT: &str =
    "the host hides parts of its /proc (is tinyjail itself running inside a container?)";

/// Where the host has not mounted proc or sysfs (an early initramfs), mounts them for
/// tinyjail alone, in a mount namespace of its own that the container's is then copied
/// from: a user namespace may mount proc and sysfs only where a full instance of each is
/// already visible. Nothing changes for the host. A host without a /proc or /sys directory
/// at all cannot be helped; the container's mount then fails with a hint.
pub fn provide_proc_and_sys() -> Result<()> {
    let proc_missing = sys::openat(sys::CWD, c"/proc/self", k::O_PATH, 0).is_err();
    let sys_missing = sys::openat(sys::CWD, c"/sys/kernel", k::O_PATH, 0).is_err();
    if !proc_missing && !sys_missing {
        return Ok(());
    }
    sys::unshare(k::CLONE_NEWNS).context("making a mount namespace of tinyjail's own", b"")?;
    make_private()?;
    let flags = k::O_PATH | k::O_DIRECTORY | k::O_NOFOLLOW;
    let attrs = k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NODEV | k::MOUNT_ATTR_NOEXEC;
    let wanted: [(bool, &CStr, &CStr, &'static [u8]); 2] = [
        (proc_missing, c"/proc", c"proc", b"/proc"),
        (sys_missing, c"/sys", c"sysfs", b"/sys"),
    ];
    for (missing, path, fstype, shown) in wanted {
        let Ok(at) = sys::openat(sys::CWD, path, flags, 0) else {
            continue;
        };
        if missing {
            let doing = "mounting for tinyjail on";
            let mnt = new_mount(fstype, &[], attrs, doing, shown)?;
            attach(&mnt, &at, doing, shown)?;
        }
    }
    Ok(())
}

/// Stops mount events from travelling between the host and the container, in both
/// directions, whatever the host's propagation (a shared `/` included).
pub fn make_private() -> Result<()> {
    sys::mount(None, c"/", None, k::MS_REC | k::MS_PRIVATE).context("making mounts private", b"/")
}

/// A detached recursive bind mount of the root directory (`mount --rbind DIR DIR`, by
/// descriptor: the same directory that was opened and checked is the one mounted).
///
/// Made by the parent, before the fork: a descriptor opened in the host's mount namespace
/// cannot be cloned from inside the container's. The copy is detached, so the host's mount
/// table never shows it.
///
/// TODO: the mounts below the root (the host's submounts of DIR) come along unlocked: a
/// copy made outside the container's user namespace and moved in is not locked the way a
/// namespace copy is, so root inside can unmount one and see the directory it covers.
/// Attaching the clone in a private mount namespace of tinyjail's before the fork would
/// lock it, at the cost of a mount namespace per run and a new initramfs path.
pub fn clone_root(root: &Fd, root_path: &'static [u8]) -> Result<Fd> {
    sys::open_tree(
        root.dir(),
        EMPTY,
        k::OPEN_TREE_CLONE | k::AT_EMPTY_PATH | k::AT_RECURSIVE,
    )
    .context("bind-mounting the root", root_path)
}

/// Detached bind mounts of the host's device nodes, taken while the host's /dev is still
/// reachable. A node the host lacks is left out.
pub fn clone_host_devices() -> [Option<Fd>; 6] {
    HOST_DEVICES.map(|path| sys::open_tree(sys::CWD, path, k::OPEN_TREE_CLONE).ok())
}

/// Attaches the root's bind mount in the container's mount namespace, over the root
/// directory's path there, so that it is a mount point that `pivot_root` accepts.
///
/// Only the place of the attachment comes from the path, and it must be the directory that
/// was checked: had the owner of a directory on the way swapped it for a symlink since, the
/// root would be attached elsewhere (over the container's /etc, say). What is attached is
/// the tree cloned from the checked descriptor, and the place is gone once the host's root
/// is detached.
pub fn attach_root(tree: &Fd, root_path: &'static CStr) -> Result<()> {
    let shown = root_path.to_bytes();
    let at = sys::openat(sys::CWD, root_path, k::O_PATH | k::O_DIRECTORY, 0)
        .context("opening root", shown)?;
    let checked = sys::statx(tree.dir(), EMPTY, 0).context("checking root", shown)?;
    let found = sys::statx(at.dir(), EMPTY, 0).context("checking root", shown)?;
    if !found.same_file(&checked) {
        return Err(Error::input(
            "--root",
            shown,
            "was replaced while tinyjail started (a directory on its path became a link)",
        ));
    }
    let flags = k::MOVE_MOUNT_F_EMPTY_PATH | k::MOVE_MOUNT_T_EMPTY_PATH;
    sys::move_mount(tree.dir(), EMPTY, at.dir(), EMPTY, flags)
        .context("bind-mounting the root", shown)
}

/// /proc: a new proc instance for the container's PID namespace.
pub fn mount_proc(root: &Fd) -> Result<()> {
    let Some(at) = mount_point(root, c"proc", b"/proc", 0o555)? else {
        return Ok(());
    };
    let attrs = k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NODEV | k::MOUNT_ATTR_NOEXEC;
    let mnt = new_mount(c"proc", &[], attrs, "mounting proc on", b"/proc").map_err(|e| {
        if e.errno == Some(Errno::EPERM) {
            e.hint(PROC_HINT)
        } else {
            e
        }
    })?;
    attach(&mnt, &at, "mounting proc on", b"/proc")
}

/// /sys: sysfs of the container's network namespace, read-only.
pub fn mount_sys(root: &Fd) -> Result<()> {
    let Some(at) = mount_point(root, c"sys", b"/sys", 0o555)? else {
        return Ok(());
    };
    let attrs =
        k::MOUNT_ATTR_RDONLY | k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NODEV | k::MOUNT_ATTR_NOEXEC;
    let mnt = new_mount(c"sysfs", &[], attrs, "mounting sysfs on", b"/sys")?;
    attach(&mnt, &at, "mounting sysfs on", b"/sys")?;
    mount_cgroup(&mnt)
}

/// /sys/fs/cgroup: the container's own cgroup2 view, read-write (the cgroup namespace makes
/// its cgroup the root; what it may change there is what was delegated to it). Skipped
/// where the kernel has no cgroup2 or sysfs has no fs/cgroup.
fn mount_cgroup(sys_mount: &Fd) -> Result<()> {
    let flags = k::O_PATH | k::O_DIRECTORY | k::O_NOFOLLOW;
    let Ok(fs) = sys::openat(sys_mount.dir(), c"fs", flags, 0) else {
        return Ok(());
    };
    let Ok(at) = sys::openat(fs.dir(), c"cgroup", flags, 0) else {
        return Ok(());
    };
    let attrs = k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NODEV | k::MOUNT_ATTR_NOEXEC;
    let doing = "mounting cgroup2 on";
    match new_mount(c"cgroup2", &[], attrs, doing, b"/sys/fs/cgroup") {
        Ok(mnt) => attach(&mnt, &at, doing, b"/sys/fs/cgroup"),
        Err(e) if e.errno == Some(Errno::ENODEV) => Ok(()),
        Err(e) => Err(e),
    }
}

/// /dev: a small tmpfs with the host's null, zero, full, random, urandom and tty bound in,
/// a new devpts instance at /dev/pts with /dev/ptmx, a tmpfs at /dev/shm, and the usual
/// links to /proc/self/fd.
pub fn mount_dev(root: &Fd, devices: &[Option<Fd>; 6]) -> Result<()> {
    let Some(at) = mount_point(root, c"dev", b"/dev", 0o755)? else {
        return Ok(());
    };
    let dev = new_mount(
        c"tmpfs",
        &[(c"mode", c"755"), (c"size", c"65536")],
        k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NOEXEC,
        "mounting tmpfs on",
        b"/dev",
    )?;
    attach(&dev, &at, "mounting tmpfs on", b"/dev")?;

    // The mount's own descriptor is the new /dev: everything below is made through it.
    for (name, node) in DEVICES.iter().zip(devices) {
        let Some(node) = node else { continue };
        let placeholder = k::O_CREAT | k::O_EXCL | k::O_WRONLY | k::O_NOFOLLOW;
        sys::openat(dev.dir(), name, placeholder, 0o666).context("creating", name.to_bytes())?;
        sys::move_mount(
            node.dir(),
            EMPTY,
            dev.dir(),
            name,
            k::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .context("binding the host's device", name.to_bytes())?;
    }

    sys::mkdirat(dev.dir(), c"pts", 0o755).context("creating", b"/dev/pts")?;
    let pts = new_mount(
        c"devpts",
        &[
            (c"newinstance", c""),
            (c"ptmxmode", c"0666"),
            (c"mode", c"0620"),
        ],
        k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NOEXEC,
        "mounting devpts on",
        b"/dev/pts",
    )?;
    sys::move_mount(
        pts.dir(),
        EMPTY,
        dev.dir(),
        c"pts",
        k::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .context("mounting devpts on", b"/dev/pts")?;

    sys::mkdirat(dev.dir(), c"shm", 0o1777).context("creating", b"/dev/shm")?;
    let shm = new_mount(
        c"tmpfs",
        &[(c"mode", c"1777")],
        k::MOUNT_ATTR_NOSUID | k::MOUNT_ATTR_NODEV,
        "mounting tmpfs on",
        b"/dev/shm",
    )?;
    sys::move_mount(
        shm.dir(),
        EMPTY,
        dev.dir(),
        c"shm",
        k::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .context("mounting tmpfs on", b"/dev/shm")?;

    for (name, target) in DEV_LINKS {
        sys::symlinkat(target, dev.dir(), name).context("creating the link", name.to_bytes())?;
    }
    Ok(())
}

/// Makes the attached root the process's root with `pivot_root(2)` and detaches the host's
/// root from the namespace.
///
/// `pivot_root(".", ".")` stacks the old root on top of the new one; unmounting "." then
/// takes exactly the old root away. Where the current root is the kernel's initial rootfs
/// (tinyjail started from an initramfs), pivot_root is refused with EINVAL; then the new
/// root is moved over `/` and entered with chroot, as switch_root does.
pub fn enter_root(tree: &Fd) -> Result<()> {
    sys::fchdir(tree).context("entering the root", b"")?;
    match sys::pivot_root(c".", c".") {
        Ok(()) => {
            sys::umount2(c".", k::MNT_DETACH).context("detaching the host's root", b"")?;
        }
        Err(Errno::EINVAL) => {
            sys::move_mount(
                tree.dir(),
                EMPTY,
                sys::CWD,
                c"/",
                k::MOVE_MOUNT_F_EMPTY_PATH,
            )
            .context("moving the root over /", b"(pivot_root refused)")?;
            sys::chroot(c".").context("changing root to", b".")?;
        }
        Err(e) => return Err(Error::sys("pivot_root into the root", b"", e)),
    }
    sys::chdir(c"/").context("changing directory to", b"/")
}

/// Opens the directory `name` at the top of the root without following a symlink, making
/// it if it is missing. `None` when it is missing and cannot be made (a read-only root).
fn mount_point(
    root: &Fd,
    name: &'static CStr,
    shown: &'static [u8],
    mode: u32,
) -> Result<Option<Fd>> {
    let flags = k::O_PATH | k::O_DIRECTORY | k::O_NOFOLLOW;
    match sys::openat(root.dir(), name, flags, 0) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => {
            if sys::mkdirat(root.dir(), name, mode).is_err() {
                return Ok(None);
            }
            sys::openat(root.dir(), name, flags, 0)
                .context("opening mount point", shown)
                .map(Some)
        }
        // A symlink here could point the mount anywhere, the host included.
        Err(Errno::ENOTDIR | Errno::ELOOP) => Err(Error::input(
            "refusing mount point",
            shown,
            "is a symlink or not a directory in the root",
        )),
        Err(e) => Err(Error::sys("opening mount point", shown, e)),
    }
}

/// A new detached mount of `fstype` with string options, via fsopen/fsconfig/fsmount.
fn new_mount(
    fstype: &'static CStr,
    options: &[(&CStr, &CStr)],
    attrs: u32,
    doing: &'static str,
    shown: &'static [u8],
) -> Result<Fd> {
    let context = sys::fsopen(fstype).context(doing, shown)?;
    for (key, value) in options {
        let set = if value.is_empty() {
            sys::fsconfig_flag(&context, key)
        } else {
            sys::fsconfig_string(&context, key, value)
        };
        set.context(doing, shown)?;
    }
    sys::fsconfig_create(&context).context(doing, shown)?;
    sys::fsmount(&context, attrs).context(doing, shown)
}

/// Attaches a detached mount on the directory `at`.
fn attach(mnt: &Fd, at: &Fd, doing: &'static str, shown: &'static [u8]) -> Result<()> {
    let flags = k::MOVE_MOUNT_F_EMPTY_PATH | k::MOVE_MOUNT_T_EMPTY_PATH;
    sys::move_mount(mnt.dir(), EMPTY, at.dir(), EMPTY, flags).context(doing, shown)
}
