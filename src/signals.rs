//! Signals sent to tinyjail while the container runs: forwarded to its first process.

use linux_raw_sys::general as k;

use crate::error::{Context, Result};
use crate::sys;

const fn bit(signal: u32) -> u64 {
    1 << (signal - 1)
}

/// Forwarded to the container: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH.
pub const FORWARDED: u64 = bit(k::SIGTERM)
    | bit(k::SIGINT)
    | bit(k::SIGHUP)
    | bit(k::SIGQUIT)
    | bit(k::SIGUSR1)
    | bit(k::SIGUSR2)
    | bit(k::SIGWINCH);

/// SIGCHLD: the container's first process changed state.
pub const CHILD: u64 = bit(k::SIGCHLD);

/// Signals that end a process by default. PID 1 of a namespace ignores those it has no
/// handler for, so a second one of them kills the container: as with any other program,
/// two Ctrl-C always end it.
const TERMINATING: u64 = bit(k::SIGTERM) | bit(k::SIGINT) | bit(k::SIGHUP) | bit(k::SIGQUIT);

/// `struct signalfd_siginfo` is 128 bytes; `ssi_signo` (u32) comes first.
const SIGINFO_LEN: usize = 128;

/// Forwards the blocked signals to `pid` until it exits; returns its wait status.
pub fn forward_until_exit(pid: u32) -> Result<u32> {
    let queue = sys::signalfd(FORWARDED | CHILD).context("receiving signals", b"")?;
    let mut terminating_seen = 0;
    loop {
        if let Some(status) = sys::try_wait_pid(pid).context("waiting for the container", b"")? {
            return Ok(status);
        }
        let mut info = [0u8; SIGINFO_LEN];
        let n = sys::read(&queue, &mut info).context("receiving signals", b"")?;
        if n < 4 {
            continue;
        }
        let signal = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
        if signal == k::SIGCHLD || signal == 0 || signal > 64 {
            continue;
        }
        let _ = sys::kill(pid, signal);
        if bit(signal) & TERMINATING != 0 {
            terminating_seen += 1;
            if terminating_seen >= 2 {
                let _ = sys::kill(pid, k::SIGKILL);
            }
        }
    }
}
