//! The kernel interface: every system call tinyjail makes goes through one small function
//! here, named after the call, taking typed arguments. Raw numbers and pointers do not leave
//! this module; the rest of the crate sees descriptors, flags, `CStr`s and `Errno`s.
//!
//! What differs between architectures (system call numbers, the legacy `clone` argument
//! order) is taken from the `syscalls` crate or kept in [`arch`].
#![allow(unsafe_code)]

pub mod arch;

use core::ffi::CStr;
use core::mem::size_of;
use core::ptr::{null, null_mut};

use linux_raw_sys::general as k;
use linux_raw_sys::prctl as pr;
use syscalls::{syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6, Sysno};

pub use syscalls::Errno;

/// The result of a system call: its value or the kernel's error number.
pub type Result<T> = core::result::Result<T, Errno>;

/// `AT_FDCWD`: resolve relative paths against the working directory.
pub const CWD: Dir<'static> = dir_at(k::AT_FDCWD);

/// The empty path, for the `*_EMPTY_PATH` flags that act on a descriptor itself.
pub const EMPTY: &CStr = c"";

/// An owned file descriptor, closed when dropped.
#[derive(Debug)]
pub struct Fd(i32);

impl Fd {
    /// The descriptor as a directory to resolve paths against.
    pub fn dir(&self) -> Dir<'_> {
        Dir {
            fd: self.0,
            _borrow: core::marker::PhantomData,
        }
    }

    /// The descriptor number, for messages and for `close_range` bounds.
    pub fn number(&self) -> i32 {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed once.
        let _ = unsafe { syscall1(Sysno::close, self.0 as usize) };
    }
}

/// A borrowed directory descriptor (or the working directory) for the `*at` calls.
#[derive(Clone, Copy)]
pub struct Dir<'a> {
    fd: i32,
    _borrow: core::marker::PhantomData<&'a Fd>,
}

const fn dir_at(fd: i32) -> Dir<'static> {
    Dir {
        fd,
        _borrow: core::marker::PhantomData,
    }
}

impl Dir<'_> {
    fn raw(self) -> usize {
        self.fd as isize as usize
    }
}

fn fd(value: usize) -> Fd {
    Fd(value as i32)
}

fn ptr(s: &CStr) -> usize {
    s.as_ptr() as usize
}

fn opt_ptr(s: Option<&CStr>) -> usize {
    s.map_or(0, ptr)
}

/// `read(2)`, retried when a signal interrupts it.
pub fn read(file: &Fd, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into buf, which we borrow mutably.
        match unsafe {
            syscall3(
                Sysno::read,
                file.0 as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
            )
        } {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// `write(2)` of the whole buffer, continuing after short writes and interruptions.
pub fn write_all(file: i32, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        // SAFETY: the kernel reads at most buf.len() bytes from buf.
        match unsafe {
            syscall3(
                Sysno::write,
                file as usize,
                buf.as_ptr() as usize,
                buf.len(),
            )
        } {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `write(2)` of a whole buffer to an owned descriptor.
pub fn write_fd(file: &Fd, buf: &[u8]) -> Result<()> {
    write_all(file.0, buf)
}

/// `openat(2)`; `O_CLOEXEC` is always added.
pub fn openat(dir: Dir, path: &CStr, flags: u32, mode: u32) -> Result<Fd> {
    let flags = flags | k::O_CLOEXEC;
    // SAFETY: path is NUL-terminated and outlives the call.
    unsafe {
        syscall4(
            Sysno::openat,
            dir.raw(),
            ptr(path),
            flags as usize,
            mode as usize,
        )
    }
    .map(fd)
}

/// `openat2(2)` with `RESOLVE_*` flags; `O_CLOEXEC` is always added.
pub fn openat2(dir: Dir, path: &CStr, flags: u32, resolve: u64) -> Result<Fd> {
    let how = k::open_how {
        flags: u64::from(flags | k::O_CLOEXEC),
        mode: 0,
        resolve,
    };
    // SAFETY: path is NUL-terminated; how is a valid open_how of the size we pass.
    unsafe {
        syscall4(
            Sysno::openat2,
            dir.raw(),
            ptr(path),
            &how as *const k::open_how as usize,
            size_of::<k::open_how>(),
        )
    }
    .map(fd)
}

/// `pipe2(2)` with `O_CLOEXEC`: returns (read end, write end).
pub fn pipe() -> Result<(Fd, Fd)> {
    let mut ends = [0i32; 2];
    // SAFETY: the kernel writes two descriptors into the two-element array.
    unsafe {
        syscall2(
            Sysno::pipe2,
            ends.as_mut_ptr() as usize,
            k::O_CLOEXEC as usize,
        )
    }?;
    Ok((Fd(ends[0]), Fd(ends[1])))
}

/// `fcntl(fd, F_SETFL, O_NONBLOCK)`.
pub fn set_nonblocking(file: &Fd) -> Result<()> {
    // SAFETY: F_SETFL takes an integer argument; no memory is touched.
    unsafe {
        syscall3(
            arch::FCNTL,
            file.0 as usize,
            k::F_SETFL as usize,
            k::O_NONBLOCK as usize,
        )
    }
    .map(drop)
}

/// What tinyjail needs of `statx(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub dev: (u32, u32),
    pub ino: u64,
}

impl Stat {
    pub fn is_dir(&self) -> bool {
        self.mode & k::S_IFMT == k::S_IFDIR
    }

    /// The same inode on the same device.
    pub fn same_file(&self, other: &Stat) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// `statx(2)` of a path relative to `dir`, or of `dir` itself with an empty path.
pub fn statx(dir: Dir, path: &CStr, flags: u32) -> Result<Stat> {
    let mut st = core::mem::MaybeUninit::<k::statx>::zeroed();
    let flags = if path.is_empty() {
        flags | k::AT_EMPTY_PATH
    } else {
        flags
    };
    // SAFETY: the kernel fills at most sizeof(struct statx) bytes of st.
    unsafe {
        syscall5(
            Sysno::statx,
            dir.raw(),
            ptr(path),
            flags as usize,
            k::STATX_BASIC_STATS as usize,
            st.as_mut_ptr() as usize,
        )
    }?;
    // SAFETY: zero-initialised, then filled by the kernel; every bit pattern is a valid statx.
    let st = unsafe { st.assume_init() };
    Ok(Stat {
        mode: u32::from(st.stx_mode),
        uid: st.stx_uid,
        gid: st.stx_gid,
        dev: (st.stx_dev_major, st.stx_dev_minor),
        ino: st.stx_ino,
    })
}

/// `statx(2)` of a descriptor by number (the standard ones tinyjail inherits).
pub fn statx_number(number: i32) -> Result<Stat> {
    statx(dir_at(number), EMPTY, 0)
}

/// `mkdirat(2)`.
pub fn mkdirat(dir: Dir, path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: path is NUL-terminated.
    unsafe { syscall3(Sysno::mkdirat, dir.raw(), ptr(path), mode as usize) }.map(drop)
}

/// `symlinkat(2)`: make `path` in `dir` a symlink to `target`.
pub fn symlinkat(target: &CStr, dir: Dir, path: &CStr) -> Result<()> {
    // SAFETY: both strings are NUL-terminated.
    unsafe { syscall3(Sysno::symlinkat, ptr(target), dir.raw(), ptr(path)) }.map(drop)
}

/// `mount(2)`, used only to change propagation and for the move/chroot fallback.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u32,
) -> Result<()> {
    // SAFETY: all strings are NUL-terminated or null; no data argument.
    unsafe {
        syscall5(
            Sysno::mount,
            opt_ptr(source),
            ptr(target),
            opt_ptr(fstype),
            flags as usize,
            0,
        )
    }
    .map(drop)
}

/// `umount2(2)`.
pub fn umount2(target: &CStr, flags: u32) -> Result<()> {
    // SAFETY: target is NUL-terminated.
    unsafe { syscall2(Sysno::umount2, ptr(target), flags as usize) }.map(drop)
}

/// `pivot_root(2)`.
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<()> {
    // SAFETY: both strings are NUL-terminated.
    unsafe { syscall2(Sysno::pivot_root, ptr(new_root), ptr(put_old)) }.map(drop)
}

/// `chroot(2)`.
pub fn chroot(path: &CStr) -> Result<()> {
    // SAFETY: path is NUL-terminated.
    unsafe { syscall1(Sysno::chroot, ptr(path)) }.map(drop)
}

/// `chdir(2)`.
pub fn chdir(path: &CStr) -> Result<()> {
    // SAFETY: path is NUL-terminated.
    unsafe { syscall1(Sysno::chdir, ptr(path)) }.map(drop)
}

/// `fchdir(2)`.
pub fn fchdir(dir: &Fd) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall1(Sysno::fchdir, dir.0 as usize) }.map(drop)
}

/// `open_tree(2)`; `OPEN_TREE_CLOEXEC` is always added.
pub fn open_tree(dir: Dir, path: &CStr, flags: u32) -> Result<Fd> {
    let flags = flags | k::OPEN_TREE_CLOEXEC;
    // SAFETY: path is NUL-terminated.
    unsafe { syscall3(Sysno::open_tree, dir.raw(), ptr(path), flags as usize) }.map(fd)
}

/// `move_mount(2)`.
pub fn move_mount(from: Dir, from_path: &CStr, to: Dir, to_path: &CStr, flags: u32) -> Result<()> {
    // SAFETY: both paths are NUL-terminated.
    unsafe {
        syscall5(
            Sysno::move_mount,
            from.raw(),
            ptr(from_path),
            to.raw(),
            ptr(to_path),
            flags as usize,
        )
    }
    .map(drop)
}

/// `fsopen(2)` with `FSOPEN_CLOEXEC`.
pub fn fsopen(fstype: &CStr) -> Result<Fd> {
    // SAFETY: fstype is NUL-terminated.
    unsafe { syscall2(Sysno::fsopen, ptr(fstype), k::FSOPEN_CLOEXEC as usize) }.map(fd)
}

/// `fsconfig(2)` with `FSCONFIG_SET_STRING`.
pub fn fsconfig_string(context: &Fd, key: &CStr, value: &CStr) -> Result<()> {
    let cmd = k::fsconfig_command::FSCONFIG_SET_STRING as usize;
    // SAFETY: key and value are NUL-terminated.
    unsafe {
        syscall5(
            Sysno::fsconfig,
            context.0 as usize,
            cmd,
            ptr(key),
            ptr(value),
            0,
        )
    }
    .map(drop)
}

/// `fsconfig(2)` with `FSCONFIG_SET_FLAG`.
pub fn fsconfig_flag(context: &Fd, key: &CStr) -> Result<()> {
    let cmd = k::fsconfig_command::FSCONFIG_SET_FLAG as usize;
    // SAFETY: key is NUL-terminated; a flag takes no value.
    unsafe { syscall5(Sysno::fsconfig, context.0 as usize, cmd, ptr(key), 0, 0) }.map(drop)
}

/// `fsconfig(2)` with `FSCONFIG_CMD_CREATE`: make the superblock.
pub fn fsconfig_create(context: &Fd) -> Result<()> {
    let cmd = k::fsconfig_command::FSCONFIG_CMD_CREATE as usize;
    // SAFETY: the create command takes no pointers.
    unsafe { syscall5(Sysno::fsconfig, context.0 as usize, cmd, 0, 0, 0) }.map(drop)
}

/// `fsmount(2)` with `FSMOUNT_CLOEXEC`: a detached mount of the configured filesystem.
pub fn fsmount(context: &Fd, attrs: u32) -> Result<Fd> {
    // SAFETY: no memory is passed.
    unsafe {
        syscall3(
            Sysno::fsmount,
            context.0 as usize,
            k::FSMOUNT_CLOEXEC as usize,
            attrs as usize,
        )
    }
    .map(fd)
}

/// `sethostname(2)`.
pub fn sethostname(name: &[u8]) -> Result<()> {
    // SAFETY: the kernel reads name.len() bytes from name.
    unsafe { syscall2(Sysno::sethostname, name.as_ptr() as usize, name.len()) }.map(drop)
}

/// `setresuid(2)` with the same ID for real, effective and saved.
pub fn setresuid(id: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall3(arch::SETRESUID, id as usize, id as usize, id as usize) }.map(drop)
}

/// `setresgid(2)` with the same ID for real, effective and saved.
pub fn setresgid(id: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall3(arch::SETRESGID, id as usize, id as usize, id as usize) }.map(drop)
}

/// `setgroups(0, NULL)`: drop every supplementary group.
pub fn clear_groups() -> Result<()> {
    // SAFETY: an empty list; the null pointer is never read.
    unsafe { syscall2(arch::SETGROUPS, 0, 0) }.map(drop)
}

/// `prctl(PR_SET_PDEATHSIG)`: the signal this process gets when its parent dies.
pub fn set_parent_death_signal(signal: u32) -> Result<()> {
    // SAFETY: integer arguments only; no memory is passed.
    unsafe { syscall2(Sysno::prctl, pr::PR_SET_PDEATHSIG as usize, signal as usize) }.map(drop)
}

/// `prctl(PR_SET_DUMPABLE)`: whether processes of the same user may trace this one or read
/// its memory through /proc.
pub fn set_dumpable(dumpable: bool) -> Result<()> {
    // SAFETY: integer arguments only; no memory is passed.
    unsafe {
        syscall2(
            Sysno::prctl,
            pr::PR_SET_DUMPABLE as usize,
            dumpable as usize,
        )
    }
    .map(drop)
}

/// `prctl(PR_SET_NAME)`: the thread's name as /proc/PID/comm shows it (cut to 15 bytes by
/// the kernel).
pub fn set_name(name: &CStr) -> Result<()> {
    // SAFETY: name is NUL-terminated; the kernel reads at most 16 bytes of it.
    unsafe { syscall2(Sysno::prctl, pr::PR_SET_NAME as usize, ptr(name)) }.map(drop)
}

/// `getrandom(2)` filling the whole buffer.
pub fn getrandom(buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the kernel writes at most rest.len() bytes into rest.
        match unsafe { syscall3(Sysno::getrandom, rest.as_mut_ptr() as usize, rest.len(), 0) } {
            Ok(n) => done += n,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `close_range(2)`: close every descriptor from `first` on.
pub fn close_from(first: u32) -> Result<()> {
    // SAFETY: closing descriptors touches no memory of ours; the caller owns none of them.
    unsafe { syscall3(Sysno::close_range, first as usize, u32::MAX as usize, 0) }.map(drop)
}

/// Closes every descriptor above 2 except `keep` (`close_range(2)`, or one by one up to
/// 1024 where it is missing). For a process about to exec: any `Fd` values it still holds
/// must not be used or dropped afterwards.
pub fn close_all_but(keep: i32) {
    let keep = keep as u32;
    let ranges = [(3, keep.saturating_sub(1)), (keep + 1, u32::MAX)];
    for (first, last) in ranges {
        if first > last {
            continue;
        }
        // SAFETY: closing descriptors touches no memory; the caller gives up the others.
        let r = unsafe { syscall3(Sysno::close_range, first as usize, last as usize, 0) };
        if r == Err(Errno::ENOSYS) {
            for number in first..=last.min(1023) {
                // SAFETY: as above.
                let _ = unsafe { syscall1(Sysno::close, number as usize) };
            }
        }
    }
}

/// `close(2)` of a descriptor number that no `Fd` owns (inherited ones).
pub fn close_number(number: i32) -> Result<()> {
    // SAFETY: the caller guarantees no Fd owns this number.
    unsafe { syscall1(Sysno::close, number as usize) }.map(drop)
}

/// `clone3(2)` without `CLONE_VM`: a fork into new namespaces. Returns 0 in the child and
/// the child's PID in the parent.
pub fn clone3(args: &mut k::clone_args) -> Result<u32> {
    // SAFETY: args is a valid clone_args of the size we pass. Without CLONE_VM the child gets
    // a copy of our memory and returns here on its own copy of the stack, like fork().
    unsafe {
        syscall2(
            Sysno::clone3,
            args as *mut k::clone_args as usize,
            size_of::<k::clone_args>(),
        )
    }
    .map(|pid| pid as u32)
}

/// Legacy `clone(2)` as a fork into new namespaces (for kernels or sandboxes without
/// clone3). Returns 0 in the child and the child's PID in the parent.
pub fn clone_fork(flags: u64) -> Result<u32> {
    // SAFETY: no CLONE_VM, a null stack and no TID or TLS pointers: fork semantics, and the
    // child returns here on its own copy of our stack.
    unsafe { arch::clone_fork(flags) }.map(|pid| pid as u32)
}

/// `unshare(2)`.
pub fn unshare(flags: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall1(Sysno::unshare, flags as usize) }.map(drop)
}

/// `setsid(2)`: a new session with this process as its leader, and no controlling terminal.
pub fn setsid() -> Result<()> {
    // SAFETY: no arguments.
    unsafe { syscall0(Sysno::setsid) }.map(drop)
}

/// `setns(2)`: joins the namespace of type `kind` that `ns` refers to.
pub fn setns(ns: &Fd, kind: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall2(Sysno::setns, ns.0 as usize, kind as usize) }.map(drop)
}

/// `wait4(2)` for one child, retried on interruption. Returns the raw wait status.
pub fn wait_pid(pid: u32) -> Result<u32> {
    let mut status = 0i32;
    loop {
        // SAFETY: the kernel writes one int into status; no rusage is requested.
        let r = unsafe {
            syscall4(
                Sysno::wait4,
                pid as usize,
                &mut status as *mut i32 as usize,
                0,
                0,
            )
        };
        match r {
            Ok(_) => return Ok(status as u32),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `kill(2)`.
pub fn kill(pid: u32, signal: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall2(Sysno::kill, pid as usize, signal as usize) }.map(drop)
}

/// `kill(2)` of a process group: `signal` to every process in group `pgid`.
pub fn kill_group(pgid: u32, signal: u32) -> Result<()> {
    let target = -(pgid as i32) as isize as usize;
    // SAFETY: no memory is passed.
    unsafe { syscall2(Sysno::kill, target, signal as usize) }.map(drop)
}

/// `setpgid(2)`: puts process `pid` (0: this one) in the process group `pgid` (0: its own).
pub fn setpgid(pid: u32, pgid: u32) -> Result<()> {
    // SAFETY: no memory is passed.
    unsafe { syscall2(Sysno::setpgid, pid as usize, pgid as usize) }.map(drop)
}

/// `execve(2)`. Returns only on failure.
///
/// `argv` and `envp` are null-terminated arrays of pointers to NUL-terminated strings.
pub fn execve(path: &CStr, argv: &[*const u8], envp: &[*const u8]) -> Errno {
    // Without its terminator the kernel would read pointers past the end of a slice.
    if !argv.last().is_some_and(|p| p.is_null()) || !envp.last().is_some_and(|p| p.is_null()) {
        return Errno::EINVAL;
    }
    // SAFETY: both arrays end with a null pointer (checked above) and every other entry
    // points at a NUL-terminated string that lives until the exec replaces this process
    // (the callers build them from the process's own argument and environment strings).
    match unsafe {
        syscall3(
            Sysno::execve,
            ptr(path),
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
        )
    } {
        Ok(_) => Errno::EINVAL,
        Err(e) => e,
    }
}

/// `exit_group(2)`.
pub fn exit(code: u8) -> ! {
    // SAFETY: exit_group does not return.
    unsafe {
        let _ = syscall1(Sysno::exit_group, code as usize);
    }
    #[allow(clippy::empty_loop)]
    loop {}
}

/// `socket(2)` with `SOCK_CLOEXEC`.
pub fn socket(domain: u32, kind: u32, protocol: u32) -> Result<Fd> {
    let kind = kind | k::O_CLOEXEC;
    // SAFETY: no memory is passed.
    unsafe {
        syscall3(
            Sysno::socket,
            domain as usize,
            kind as usize,
            protocol as usize,
        )
    }
    .map(fd)
}

/// `setsockopt(2)` of an integer option.
pub fn setsockopt_int(socket: &Fd, level: u32, name: u32, value: u32) -> Result<()> {
    // SAFETY: the kernel reads one u32 from value, which lives across the call.
    unsafe {
        syscall5(
            Sysno::setsockopt,
            socket.0 as usize,
            level as usize,
            name as usize,
            &value as *const u32 as usize,
            size_of::<u32>(),
        )
    }
    .map(drop)
}

/// `recvfrom(2)` without an address: one datagram into `buf`.
pub fn recv(file: &Fd, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes into buf; no address is wanted.
        let r = unsafe {
            syscall6(
                Sysno::recvfrom,
                file.0 as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                null_mut::<u8>() as usize,
                null::<u8>() as usize,
            )
        };
        match r {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// `rt_sigprocmask(2)` setting the whole mask; returns the previous one.
pub fn set_signal_mask(how: u32, mask: u64) -> Result<u64> {
    let mut old = 0u64;
    // SAFETY: both sets are 8-byte kernel sigsets that live across the call.
    unsafe {
        syscall4(
            Sysno::rt_sigprocmask,
            how as usize,
            &mask as *const u64 as usize,
            &mut old as *mut u64 as usize,
            size_of::<u64>(),
        )
    }?;
    Ok(old)
}

/// `fchownat(2)`; an empty path changes `dir` itself.
pub fn fchownat(dir: Dir, path: &CStr, uid: u32, gid: u32) -> Result<()> {
    let flags = if path.is_empty() {
        k::AT_EMPTY_PATH
    } else {
        k::AT_SYMLINK_NOFOLLOW
    };
    // SAFETY: path is NUL-terminated.
    unsafe {
        syscall5(
            Sysno::fchownat,
            dir.raw(),
            ptr(path),
            uid as usize,
            gid as usize,
            flags as usize,
        )
    }
    .map(drop)
}

/// `faccessat(2)` with `W_OK`: whether `path` in `dir` may be written (EROFS on a read-only
/// mount).
pub fn access_writable(dir: &Fd, path: &CStr) -> Result<()> {
    // SAFETY: path is NUL-terminated.
    unsafe {
        syscall3(
            Sysno::faccessat,
            dir.0 as usize,
            ptr(path),
            k::W_OK as usize,
        )
    }
    .map(drop)
}

/// `unlinkat(2)` with `AT_REMOVEDIR`: remove an empty directory.
pub fn rmdirat(dir: Dir, path: &CStr) -> Result<()> {
    // SAFETY: path is NUL-terminated.
    unsafe {
        syscall3(
            Sysno::unlinkat,
            dir.raw(),
            ptr(path),
            k::AT_REMOVEDIR as usize,
        )
    }
    .map(drop)
}

/// `fsetxattr(2)`: sets the extended attribute `name` of an open file to `value`.
pub fn fsetxattr(file: &Fd, name: &CStr, value: &[u8]) -> Result<()> {
    // SAFETY: name is NUL-terminated; the kernel reads value.len() bytes of value.
    unsafe {
        syscall5(
            Sysno::fsetxattr,
            file.0 as usize,
            ptr(name),
            value.as_ptr() as usize,
            value.len(),
            0,
        )
    }
    .map(drop)
}

/// `fgetxattr(2)`: reads the extended attribute `name` of an open file into `buf`; its
/// length, or ENODATA where the file has none of that name.
pub fn fgetxattr(file: &Fd, name: &CStr, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: name is NUL-terminated; the kernel writes at most buf.len() bytes into buf.
    unsafe {
        syscall4(
            Sysno::fgetxattr,
            file.0 as usize,
            ptr(name),
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    }
}

/// How [`flock`] locks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Shared, waiting for it.
    Shared,
    /// Exclusive, or `Err(EWOULDBLOCK)` at once when another holds the lock.
    TryExclusive,
    Unlock,
}

/// `flock(2)`.
pub fn flock(file: &Fd, how: Lock) -> Result<()> {
    let op = match how {
        Lock::Shared => k::LOCK_SH,
        Lock::TryExclusive => k::LOCK_EX | k::LOCK_NB,
        Lock::Unlock => k::LOCK_UN,
    };
    loop {
        // SAFETY: no memory is passed.
        match unsafe { syscall2(Sysno::flock, file.0 as usize, op as usize) } {
            Err(Errno::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

/// `getdents64(2)`: fills `buf` with directory entries; 0 at the end.
pub fn getdents(dir: &Fd, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    unsafe {
        syscall3(
            Sysno::getdents64,
            dir.0 as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    }
}

/// `signalfd4(2)` with `SFD_CLOEXEC` for the signals in `mask`.
pub fn signalfd(mask: u64) -> Result<Fd> {
    // SAFETY: the kernel reads one 8-byte sigset from mask.
    unsafe {
        syscall4(
            Sysno::signalfd4,
            usize::MAX, // -1: a new descriptor
            &mask as *const u64 as usize,
            size_of::<u64>(),
            k::O_CLOEXEC as usize,
        )
    }
    .map(fd)
}

/// `wait4(2)` with `WNOHANG`: `Ok(None)` while the child runs.
pub fn try_wait_pid(pid: u32) -> Result<Option<u32>> {
    let mut status = 0i32;
    // SAFETY: the kernel writes one int into status; no rusage is requested.
    let r = unsafe {
        syscall4(
            Sysno::wait4,
            pid as usize,
            &mut status as *mut i32 as usize,
            k::WNOHANG as usize,
            0,
        )
    }?;
    Ok(if r == 0 { None } else { Some(status as u32) })
}

/// `wait4(-1, WNOHANG)`: a child that has ended, with its wait status; `Ok(None)` when
/// none has (yet), `Err(ECHILD)` when there are no children.
pub fn try_wait_any() -> Result<Option<(u32, u32)>> {
    let mut status = 0i32;
    // SAFETY: the kernel writes one int into status; no rusage is requested.
    let pid = unsafe {
        syscall4(
            Sysno::wait4,
            usize::MAX, // -1: any child
            &mut status as *mut i32 as usize,
            k::WNOHANG as usize,
            0,
        )
    }?;
    Ok(if pid == 0 {
        None
    } else {
        Some((pid as u32, status as u32))
    })
}

/// `wait4(-1)`: blocks until any child ends; returns its PID.
pub fn wait_any() -> Result<u32> {
    let mut status = 0i32;
    // SAFETY: the kernel writes one int into status; no rusage is requested.
    unsafe {
        syscall4(
            Sysno::wait4,
            usize::MAX,
            &mut status as *mut i32 as usize,
            0,
            0,
        )
    }
    .map(|pid| pid as u32)
}

/// Sleeps for `micros` microseconds on the monotonic clock.
pub fn sleep_micros(micros: u32) {
    let time = k::__kernel_timespec {
        tv_sec: i64::from(micros / 1_000_000),
        tv_nsec: i64::from(micros % 1_000_000) * 1000,
    };
    // SAFETY: the kernel reads one 64-bit timespec from time; no remainder is wanted.
    let _ = unsafe {
        syscall4(
            arch::CLOCK_NANOSLEEP,
            k::CLOCK_MONOTONIC as usize,
            0,
            &time as *const k::__kernel_timespec as usize,
            0,
        )
    };
}

/// Whether `signal`'s disposition is SIG_IGN (`rt_sigaction(2)` reading only).
pub fn signal_ignored(signal: u32) -> bool {
    // The kernel's struct sigaction starts with the handler on every architecture; 32 bytes
    // hold the whole struct on each (handler, flags, restorer where there is one, mask).
    let mut old = [0usize; 32 / size_of::<usize>()];
    // SAFETY: no new action is set; the kernel writes at most sizeof(struct sigaction) bytes
    // into old, which is large enough on every architecture.
    let r = unsafe {
        syscall4(
            Sysno::rt_sigaction,
            signal as usize,
            0,
            old.as_mut_ptr() as usize,
            8,
        )
    };
    r.is_ok() && old[0] == 1
}

/// `getpid(2)`.
pub fn getpid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { syscalls::syscall0(Sysno::getpid) }.unwrap_or(0) as u32
}
