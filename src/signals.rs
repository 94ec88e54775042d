//! Signals sent to tinyjail while the container runs: forwarded to its first process.

use linux_raw_sys::general as k;

use crate::error::{Context, Result};
use crate::procfs::ProcDir;
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

/// Signals that end a process by default. PID 1 of a namespace ignores those it neither
/// handles nor blocks, where any other process would die of them: tinyjail then ends the
/// container itself, so that Ctrl-C or SIGTERM works on any COMMAND.
const TERMINATING: u64 = bit(k::SIGTERM) | bit(k::SIGINT) | bit(k::SIGHUP) | bit(k::SIGQUIT);

/// `struct signalfd_siginfo` is 128 bytes: `ssi_signo` (u32) at 0, `ssi_errno` (i32) at 4,
/// `ssi_code` (i32) at 8.
const SIGINFO_LEN: usize = 128;
const CODE_AT: usize = 8;
/// `SI_KERNEL`: sent by the kernel itself, which is how a terminal's Ctrl-C (SIGINT),
/// Ctrl-\ (SIGQUIT) and window change (SIGWINCH) reach its foreground process group.
const SI_KERNEL: i32 = 0x80;

/// The forwarded signals that tinyjail was not started with ignored: a signal ignored at
/// start (`nohup`, a shell's `&` for SIGINT) stays ignored, for tinyjail and the container.
pub fn forwarded() -> u64 {
    let mut mask = 0;
    for signal in 1..=64 {
        if FORWARDED & bit(signal) != 0 && !sys::signal_ignored(signal) {
            mask |= bit(signal);
        }
    }
    mask
}

/// Forwards the signals in `mask` to `pid` until it exits; returns its wait status. A
/// terminating signal that the container's first process does not take (no handler, not
/// blocked, not ignored: see /proc/PID/status) ends the container with SIGKILL, and the
/// status then reads as if that signal had killed it.
///
/// The container has a session of its own, away from tinyjail's terminal, so what the
/// terminal sends to its foreground process group (tinyjail's) goes on to the container's
/// process group, that of its first process: as if the container were in the foreground
/// of the terminal. Signals sent to tinyjail by a process go to the first process alone.
pub fn forward_until_exit(pid: u32, mask: u64, proc: &ProcDir) -> Result<u32> {
    let queue = sys::signalfd(mask | CHILD).context("receiving signals", b"")?;
    let mut ended_by = None;
    loop {
        if let Some(status) = sys::try_wait_pid(pid).context("waiting for the container", b"")? {
            return Ok(match ended_by {
                Some(signal) if status & 0x7f == k::SIGKILL => signal,
                _ => status,
            });
        }
        let mut info = [0u8; SIGINFO_LEN];
        let n = sys::read(&queue, &mut info).context("receiving signals", b"")?;
        if n < 4 {
            continue;
        }
        let signal = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
        if signal == 0 || signal > 64 || bit(signal) & mask == 0 {
            continue;
        }
        let code = i32::from_ne_bytes([
            info[CODE_AT],
            info[CODE_AT + 1],
            info[CODE_AT + 2],
            info[CODE_AT + 3],
        ]);
        if code == SI_KERNEL {
            let _ = sys::kill_group(pid, signal);
        } else {
            let _ = sys::kill(pid, signal);
        }
        if bit(signal) & TERMINATING != 0 && !takes(proc, signal) {
            let _ = sys::kill(pid, k::SIGKILL);
            ended_by = Some(signal);
        }
    }
}

/// Whether the process handles, blocks or ignores `signal` (SigCgt, SigBlk and SigIgn of
/// /proc/PID/status). When the file cannot be read, it is assumed to: never kill in doubt.
fn takes(proc: &ProcDir, signal: u32) -> bool {
    let mut buf = [0u8; 2048];
    let Some(status) = proc.read(c"status", &mut buf) else {
        return true;
    };
    let mut taken = 0u64;
    for line in status.split(|&b| b == b'\n') {
        for key in [&b"SigCgt:"[..], b"SigBlk:", b"SigIgn:"] {
            if let Some(hex) = line.strip_prefix(key) {
                taken |= parse_hex(hex.trim_ascii());
            }
        }
    }
    taken & bit(signal) != 0
}

fn parse_hex(text: &[u8]) -> u64 {
    text.iter().fold(0u64, |n, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0,
        };
        n << 4 | u64::from(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            parse_hex(b"0000000000004002"),
            bit(k::SIGINT) | bit(k::SIGTERM)
        );
        assert_eq!(TERMINATING & bit(k::SIGUSR1), 0);
        assert_ne!(FORWARDED & bit(k::SIGWINCH), 0);
    }
}
