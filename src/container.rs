//! Inside the new namespaces: the steps from the fork to `execve`, in order.
//!
//! The child runs on a copy of the parent's memory. It reports a failure by writing one
//! formatted error line (prefixed with the exit status) into the report pipe; a successful
//! exec closes that pipe (it is close-on-exec), which the parent reads as "started".

use core::convert::Infallible;
use core::ffi::CStr;

use linux_raw_sys::general as k;

use crate::args::{Argv, Slots, StringArea};
use crate::env::Environment;
use crate::error::{Context, Error, Result};
use crate::output::Line;
use crate::plan::{Fallbacks, Plan};
use crate::sys::{self, Errno, Fd};
use crate::{exec, init, mount, net};

/// What the child is handed by the parent.
pub struct Child<'a> {
    pub plan: &'a Plan,
    /// The detached bind mount of the root, made by the parent.
    pub tree: Fd,
    /// Read end of the pipe on which the parent says "ID maps written"; its write end stays
    /// open in the parent for the parent's whole life, so EOF here means the parent died.
    pub go: Fd,
    /// Write end of the report pipe.
    pub report: Fd,
    pub slots: &'a Slots<'static>,
    pub env: Environment,
    pub enter_time_namespace: bool,
    /// The signal mask tinyjail had before it blocked the forwarded signals.
    pub signal_mask: u64,
    /// Kernel features to do without (tests of the older-kernel paths).
    pub fallbacks: Fallbacks,
    /// tinyjail's own argument and environment strings, which `--init` wipes.
    pub strings: Option<StringArea>,
}

/// Runs the child's steps; never returns.
pub fn run(mut child: Child) -> ! {
    let strings = child.strings.take();
    let Err(error) = setup(&child, strings);
    report(&child.report, &error);
    sys::exit(error.status)
}

/// Changes to the working directory, resolved inside the container's root: no `..` above
/// it and no /proc magic link (such as /proc/self/fd/0, a descriptor the caller may have
/// given tinyjail) may lead out. Kernels before 5.6 lack openat2: there the path is taken
/// as it is, after every descriptor but the standard three was closed.
fn enter_workdir(workdir: &'static CStr, no_openat2: bool) -> Result<()> {
    let shown = workdir.to_bytes();
    let root = sys::openat(sys::CWD, c"/", k::O_PATH | k::O_DIRECTORY, 0)
        .context("changing to workdir", shown)?;
    let resolve = u64::from(k::RESOLVE_IN_ROOT | k::RESOLVE_NO_MAGICLINKS);
    let opened = if no_openat2 {
        Err(Errno::ENOSYS)
    } else {
        sys::openat2(root.dir(), workdir, k::O_PATH | k::O_DIRECTORY, resolve)
    };
    match opened {
        Ok(dir) => sys::fchdir(&dir).context("changing to workdir", shown),
        Err(Errno::ENOSYS) => {
            sys::chdir(workdir).context("changing to workdir", shown)?;
            check_inside_root(shown)
        }
        Err(Errno::ELOOP) => Err(Error::sys("changing to workdir", shown, Errno::ELOOP)
            .hint("a symlink loop, or a /proc link to a descriptor, which is refused")),
        Err(e) => Err(Error::sys("changing to workdir", shown, e)),
    }
}

/// Without openat2, checks that the working directory just entered lies below the root:
/// walking up with `..` must reach the root itself. From a directory outside it (reached
/// through a descriptor from the host, such as /proc/self/fd/0 when stdin is a directory),
/// the walk ends at some other top instead.
fn check_inside_root(shown: &'static [u8]) -> Result<()> {
    let root = sys::statx(sys::CWD, c"/", 0).context("checking workdir", shown)?;
    let mut dir = sys::openat(sys::CWD, c".", k::O_PATH | k::O_DIRECTORY, 0)
        .context("checking workdir", shown)?;
    // PATH_MAX allows at most 2048 components.
    for _ in 0..2048 {
        let here = sys::statx(dir.dir(), c"", 0).context("checking workdir", shown)?;
        if here.same_file(&root) {
            return Ok(());
        }
        let up = sys::openat(dir.dir(), c"..", k::O_PATH | k::O_DIRECTORY, 0)
            .context("checking workdir", shown)?;
        if sys::statx(up.dir(), c"", 0).is_ok_and(|above| above.same_file(&here)) {
            break;
        }
        dir = up;
    }
    Err(Error::input(
        "--workdir",
        shown,
        "leads out of the container's root",
    ))
}

/// Where clone3 could not make the time namespace: `unshare(CLONE_NEWTIME)` makes one for
/// this process's children only, so the process then joins it itself through
/// /proc/self/ns/time_for_children (not every kernel moves a process there at its exec).
/// While /proc is still the host's, before the mounts. Kernels without time namespaces say
/// EINVAL: the container runs without one.
fn enter_new_time_namespace() -> Result<()> {
    match sys::unshare(k::CLONE_NEWTIME) {
        Ok(()) => {}
        Err(Errno::EINVAL) => return Ok(()),
        Err(e) => return Err(Error::sys("creating the time namespace", b"", e)),
    }
    // Without a /proc to find it in (not even tinyjail's own), the exec still takes the
    // process there on the kernels that do so.
    let Ok(ns) = sys::openat(sys::CWD, c"/proc/self/ns/time_for_children", k::O_RDONLY, 0) else {
        return Ok(());
    };
    sys::setns(&ns, k::CLONE_NEWTIME).context("entering the time namespace", b"")
}

/// Sends a failure to the parent: the exit status, then the formatted line.
pub fn report(pipe: &Fd, error: &Error) {
    let mut line = Line::new();
    line.push(&[error.status]);
    error.write_to(&mut line);
    let _ = sys::write_fd(pipe, line.as_bytes());
}

fn setup(child: &Child, strings: Option<StringArea>) -> Result<Infallible> {
    let plan = child.plan;

    // The parent writes the ID maps, then one byte. Nothing here may create files or change
    // IDs before that: until then our IDs are unmapped in the new namespace.
    let mut byte = [0u8; 1];
    match sys::read(&child.go, &mut byte) {
        Ok(1) => {}
        _ => sys::exit(crate::error::STATUS_FAILED),
    }

    // Become root of the namespace (the mapped host IDs). Groups first: the supplementary
    // list is already empty (the parent dropped it before the fork).
    sys::setresgid(0).context("setting group ID", b"0")?;
    sys::setresuid(0).context("setting user ID", b"0")?;

    // A session of its own, without a controlling terminal: a container that kept the
    // caller's terminal could type commands into the caller's shell with TIOCSTI, or read
    // what is typed there through /dev/tty (the class of CVE-2017-5226). Standard input,
    // output and error stay whatever they are; the terminal's signals reach tinyjail, which
    // forwards them.
    sys::setsid().context("starting a session", b"")?;

    // Die with the parent. Set after the last ID change, which clears it; then check that
    // the parent did not die before it was set.
    sys::set_parent_death_signal(k::SIGKILL).context("setting", b"PDEATHSIG")?;
    sys::set_nonblocking(&child.go).context("checking the parent", b"")?;
    if sys::read(&child.go, &mut byte) != Err(Errno::EAGAIN) {
        sys::exit(crate::error::STATUS_FAILED);
    }

    // The parent has put us in the container's cgroup: make it the cgroup namespace's root,
    // so that the container sees its cgroup as "/".
    sys::unshare(k::CLONE_NEWCGROUP).context("creating the cgroup namespace", b"")?;

    if child.enter_time_namespace {
        enter_new_time_namespace()?;
    }

    // Mounts: nothing propagates to or from the host from here on.
    mount::make_private()?;
    let tree = &child.tree;
    let devices = mount::clone_host_devices();
    mount::attach_root(tree, plan.root)?;
    // Again, now for the root's clone: made in the host's namespace, it is still a peer of
    // a shared host mount, and mounts made on it would show on the host.
    mount::make_private()?;
    mount::mount_proc(tree)?;
    if !plan.network.host {
        mount::mount_sys(tree)?;
    }
    mount::mount_dev(tree, &devices)?;
    mount::enter_root(tree)?;
    drop(devices);

    if !plan.network.host {
        net::configure_container(&plan.network)?;
    }

    sys::sethostname(plan.hostname).context("setting hostname", plan.hostname)?;

    // Nothing tinyjail holds may stay reachable inside: a descriptor of the host (the cgroup
    // hierarchy, the root's clone) would be a way out through /proc/self/fd. Only the
    // report pipe stays, until the exec closes it.
    sys::close_all_but(child.report.number());

    enter_workdir(plan.workdir, child.fallbacks.no_openat2)?;

    let command = child.slots.arg(plan.command);
    let pointers = child.slots.pointers();
    let argv = &pointers[plan.command..];
    let envp = &pointers[..=child.env.end];
    let path = child.env.path(child.slots);
    match (plan.init, strings) {
        (true, Some(strings)) => init::run(&child.report, strings, child.signal_mask, || {
            exec::exec(command, argv, envp, path)
        }),
        _ => {
            let _ = sys::set_signal_mask(k::SIG_SETMASK, child.signal_mask);
            Err(exec::exec(command, argv, envp, path))
        }
    }
}
