//! `--init`: tinyjail's own minimal init as the container's PID 1. It starts COMMAND as its
//! child, in a process group of its own, forwards the signals it gets to that group, reaps
//! every orphan that the namespace hands it, and exits with COMMAND's status (which ends the
//! namespace and everything left in it).

use core::convert::Infallible;

use linux_raw_sys::general as k;

use crate::args::StringArea;
use crate::error::{Context, Error, Result};
use crate::process;
use crate::signals;
use crate::sys::{self, Fd};

/// Forks COMMAND's process, which runs `exec` (and reports through `report` if that
/// fails), then supervises it. Returns only if the fork fails.
pub fn run(
    report: &Fd,
    strings: StringArea,
    signal_mask: u64,
    exec: impl FnOnce() -> Error,
) -> Result<Infallible> {
    let pid = sys::clone_fork(0).context("starting COMMAND under --init", b"")?;
    if pid == 0 {
        // A process group of COMMAND's own (set on both sides of the fork, so that it is
        // there before either goes on): the init passes each signal on to the whole group,
        // as a terminal would to its foreground job, and never to itself.
        let _ = sys::setpgid(0, 0);
        let _ = sys::set_signal_mask(k::SIG_SETMASK, signal_mask);
        let error = exec();
        crate::container::report(report, &error);
        sys::exit(error.status);
    }

    let _ = sys::setpgid(pid, pid);

    // The report pipe is COMMAND's now: the parent must see it close at COMMAND's exec, not
    // at the init's exit. (The init never returns, so its `Fd` is never closed again.)
    let _ = sys::close_number(report.number());

    // From here on the init is on its own: nothing of tinyjail's command line or of the
    // host's environment stays in its memory, where /proc/1 could show it.
    strings.wipe();
    let _ = sys::set_name(c"init");
    let queue = sys::signalfd(signals::FORWARDED | signals::CHILD).ok();

    loop {
        // Reap everything that has ended: COMMAND, and orphans the namespace gave us.
        while let Ok(Some((ended, status))) = sys::try_wait_any() {
            if ended == pid {
                sys::exit(process::exit_status(status));
            }
        }
        let mut info = [0u8; 128];
        let signal = match &queue {
            Some(queue) => match sys::read(queue, &mut info) {
                Ok(n) if n >= 4 => u32::from_ne_bytes([info[0], info[1], info[2], info[3]]),
                _ => continue,
            },
            None => {
                // Without signalfd, only reap: wait for any child to end.
                let _ = sys::wait_any();
                continue;
            }
        };
        if signal != k::SIGCHLD && sys::kill_group(pid, signal).is_err() {
            let _ = sys::kill(pid, signal);
        }
    }
}
