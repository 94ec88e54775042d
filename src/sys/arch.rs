//! What the system call layer needs to know per architecture, in one place.
//!
//! System call numbers themselves come from the `syscalls` crate, which has a table per
//! architecture; this file only picks between calls that exist under different names (on
//! 32-bit arm: the 32-bit ID calls, `fcntl64` and the 64-bit time `clock_nanosleep_time64`)
//! and holds the legacy `clone` argument order.
//!
//! Everything else is the same on x86_64, aarch64, arm (EABI) and riscv64: the calls
//! tinyjail makes exist under one name on all four (the `*at` forms, `pipe2`, `wait4`,
//! `getdents64`, ...), their structs (`statx`, `clone_args`, `open_how`, the netlink
//! messages) have one layout, and the flag values that differ between architectures (`O_*`)
//! come from `linux_raw_sys`, which has a table per architecture.
#![allow(unsafe_code)]

use syscalls::{syscall5, Errno, Sysno};

#[cfg(target_arch = "arm")]
mod names {
    use syscalls::Sysno;
    pub const FCNTL: Sysno = Sysno::fcntl64;
    pub const SETRESUID: Sysno = Sysno::setresuid32;
    pub const SETRESGID: Sysno = Sysno::setresgid32;
    pub const SETGROUPS: Sysno = Sysno::setgroups32;
    /// The 64-bit time variant: arm's plain clock_nanosleep takes a 32-bit timespec.
    pub const CLOCK_NANOSLEEP: Sysno = Sysno::clock_nanosleep_time64;
}

#[cfg(not(target_arch = "arm"))]
mod names {
    use syscalls::Sysno;
    pub const FCNTL: Sysno = Sysno::fcntl;
    pub const SETRESUID: Sysno = Sysno::setresuid;
    pub const SETRESGID: Sysno = Sysno::setresgid;
    pub const SETGROUPS: Sysno = Sysno::setgroups;
    pub const CLOCK_NANOSLEEP: Sysno = Sysno::clock_nanosleep;
}

pub use names::*;

/// Legacy `clone(2)` with fork semantics.
///
/// The argument order after `flags` and `stack` differs: x86_64 takes
/// `(parent_tid, child_tid, tls)`, the others `(parent_tid, tls, child_tid)`. With all three
/// null the order does not matter, which is the only way tinyjail calls it.
///
/// # Safety
/// `flags` must not contain `CLONE_VM`, `CLONE_SETTLS` or any flag that makes the kernel
/// write through the (null) TID pointers.
pub unsafe fn clone_fork(flags: u64) -> Result<usize, Errno> {
    let signal = linux_raw_sys::general::SIGCHLD as u64;
    // SAFETY: guaranteed by the caller; a null stack means the child runs on a copy of ours.
    unsafe { syscall5(Sysno::clone, (flags | signal) as usize, 0, 0, 0, 0) }
}
