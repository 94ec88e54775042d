//! Creating the container's first process and collecting its exit status.

use linux_raw_sys::general as k;

use crate::error::{Error, Result};
use crate::plan::Fallbacks;
use crate::sys::{self, Errno, Fd};

/// The namespaces every container gets at clone time. CLONE_NEWTIME is handled apart (see
/// [`spawn`]); the cgroup namespace is entered by the child once it is in its cgroup, so
/// that the namespace's root is the container's cgroup.
pub const NAMESPACES: u64 =
    (k::CLONE_NEWUSER | k::CLONE_NEWNS | k::CLONE_NEWPID | k::CLONE_NEWUTS | k::CLONE_NEWIPC)
        as u64;

/// Which side of the fork this is.
pub enum Side {
    /// The new process. `enter_time_namespace` is set when the time namespace could not be
    /// made at clone time; the child then makes it and joins it itself.
    Child { enter_time_namespace: bool },
    /// `in_cgroup` is false when the child could not be started in its cgroup; the parent
    /// then moves it there before releasing it.
    Parent { pid: u32, in_cgroup: bool },
}

/// Starts the container's first process in new namespaces: `clone3(2)`, falling back to
/// `clone(2)` where clone3 is missing (ENOSYS, also what some seccomp profiles answer).
///
/// `CLONE_NEWTIME` can be given to clone3 only (its bit means something else to clone), and
/// kernels without time namespaces (before 5.6, or built without them) refuse it there with
/// EINVAL; in both cases the child makes the time namespace itself instead.
/// `CLONE_INTO_CGROUP` (5.7) starts the child in its cgroup from its first instruction;
/// where it is refused the parent moves the child instead.
pub fn spawn(cgroup: Option<&Fd>, network: bool, fallbacks: Fallbacks) -> Result<Side> {
    let mut flags = NAMESPACES;
    if network {
        flags |= u64::from(k::CLONE_NEWNET);
    }
    let cgroup = cgroup.filter(|_| !fallbacks.no_into_cgroup);
    let mut args = clone_args(flags | u64::from(k::CLONE_NEWTIME));
    if let Some(dir) = cgroup {
        args.flags |= k::CLONE_INTO_CGROUP;
        args.cgroup = dir.number() as u64;
    }
    let first = if fallbacks.no_clone3 {
        Err(Errno::ENOSYS)
    } else if fallbacks.no_clone3_time {
        Err(Errno::EINVAL)
    } else {
        sys::clone3(&mut args)
    };
    let result = match first {
        Ok(pid) => return Ok(side(pid, false, cgroup.is_some())),
        Err(Errno::EINVAL) => {
            let mut args = clone_args(flags);
            sys::clone3(&mut args)
        }
        Err(Errno::ENOSYS) => sys::clone_fork(flags),
        Err(e) => Err(e),
    };
    match result {
        Ok(pid) => Ok(side(pid, true, false)),
        Err(e) => Err(Error::sys("creating the container process", b"", e).hint(spawn_hint(e))),
    }
}

fn side(pid: u32, enter_time_namespace: bool, in_cgroup: bool) -> Side {
    if pid == 0 {
        Side::Child {
            enter_time_namespace,
        }
    } else {
        Side::Parent { pid, in_cgroup }
    }
}

fn clone_args(flags: u64) -> k::clone_args {
    k::clone_args {
        flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: u64::from(k::SIGCHLD),
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    }
}

fn spawn_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::EPERM => {
            "user namespaces may be disabled (user.max_user_namespaces, \
                         kernel.unprivileged_userns_clone) or tinyjail runs inside a chroot"
        }
        Errno::ENOSPC | Errno::EUSERS => "too many namespaces (see /proc/sys/user/max_*)",
        // clone3 into a cgroup that cannot take a process of its own.
        Errno::EOPNOTSUPP => {
            "the cgroup parent may be threaded (cgroup.type), which cannot hold \
                              a container's cgroup"
        }
        _ => "",
    }
}

/// The exit status tinyjail reports for a raw wait status: the process's own status, or
/// 128 + N when signal N killed it.
pub fn exit_status(wait_status: u32) -> u8 {
    let signal = wait_status & 0x7f;
    if signal == 0 {
        ((wait_status >> 8) & 0xff) as u8
    } else {
        (128 + signal).min(255) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(exit_status(0), 0);
        assert_eq!(exit_status(3 << 8), 3);
        assert_eq!(exit_status(255 << 8), 255);
        assert_eq!(exit_status(9), 137);
        assert_eq!(exit_status(15 | 0x80), 143); // core dumped flag
    }
}
