//! The parent: from the command line to the container's exit status.

use linux_raw_sys::general as k;

use crate::args::{Args, HostEnv, Slots, StringArea};
use crate::cgroup::{self, Cgroup};
use crate::cli::{self, Request, USAGE};
use crate::container::{self, Child};
use crate::error::{Context, Error, Result, STATUS_FAILED};
use crate::output::Line;
use crate::plan::{Fallbacks, Id, Plan};
use crate::process::{self, Side};
use crate::procfs::ProcDir;
use crate::sys::{self, Errno, Fd};
use crate::{env, mount, net, signals, userns};

/// Runs tinyjail with the process's arguments and returns its exit status.
pub fn main(args: Args) -> u8 {
    let (mut slots, host, strings) = args.split();
    let plan = match cli::parse(&slots) {
        Ok(Request::Run(plan)) => plan,
        // Exit 0 only if the text was written (not to a full disk or a closed stdout).
        Ok(Request::Help) => return written(sys::write_all(1, USAGE.as_bytes())),
        Ok(Request::Version) => {
            let mut line = Line::new();
            line.str("tinyjail ")
                .str(env!("CARGO_PKG_VERSION"))
                .str("\n");
            return written(sys::write_all(1, line.as_bytes()));
        }
        Err(e) => {
            e.report();
            return e.status;
        }
    };
    match launch(&plan, &mut slots, &host, strings) {
        Ok(status) => status,
        Err(e) => {
            e.report();
            e.status
        }
    }
}

fn written(result: sys::Result<()>) -> u8 {
    if result.is_ok() {
        0
    } else {
        STATUS_FAILED
    }
}

/// The checked root directory and the IDs its root maps to.
struct Root {
    dir: Fd,
    uid: u32,
    gid: u32,
}

fn launch(
    plan: &Plan,
    slots: &mut Slots<'static>,
    host: &HostEnv,
    strings: StringArea,
) -> Result<u8> {
    // Nothing the caller left open reaches the container, and everything tinyjail opens
    // from here on is close-on-exec.
    close_inherited_descriptors();
    check_standard_descriptors()?;
    // Keep other processes of the same user (the container's, once it runs) from reading
    // or tracing tinyjail's memory while it sets up.
    let _ = sys::set_dumpable(false);

    // Signals for the container wait in a queue until tinyjail forwards them (below), so
    // that none can end tinyjail before it has cleaned up. The child restores the mask.
    let forwarded = signals::forwarded();
    let signal_mask = sys::set_signal_mask(k::SIG_BLOCK, forwarded | signals::CHILD)
        .context("blocking signals", b"")?;

    // Before the root is opened: a descriptor must come from the mount namespace that
    // clones it.
    mount::provide_proc_and_sys()?;
    let root = open_root(plan)?;
    // The bridge must exist and be one before anything is made.
    let bridge = match plan.network.bridge {
        Some(name) => Some(net::find_bridge(name)?),
        None => None,
    };
    let id = match plan.id {
        Some(id) => id,
        None => random_id()?,
    };
    let tree = mount::clone_root(&root.dir, plan.root.to_bytes())?;
    drop(root.dir);

    // Made before the environment reuses the argv slots: the --cgroup options are read
    // from them. Dropping it (on every way out of this function) removes it.
    let fallbacks = Fallbacks::parse(host.value(Fallbacks::VARIABLE).unwrap_or(b""));
    let cgroup = cgroup::create(plan, slots, &id, root.uid, root.gid, fallbacks)?;
    let env = env::build(slots, host)?;

    let (go_read, go_write) = sys::pipe().context("creating a pipe", b"")?;
    let (report_read, report_write) = sys::pipe().context("creating a pipe", b"")?;

    // The container must not inherit the host groups of whoever started tinyjail (root's
    // group 0 above all); with setgroups denied inside, it could never drop them itself.
    sys::clear_groups().context("dropping supplementary groups", b"")?;

    let (pid, in_cgroup) = match process::spawn(
        cgroup.as_ref().map(Cgroup::dir),
        !plan.network.host,
        fallbacks,
    )? {
        Side::Child {
            enter_time_namespace,
        } => {
            drop(go_write);
            drop(report_read);
            container::run(Child {
                plan,
                tree,
                go: go_read,
                report: report_write,
                slots,
                env,
                enter_time_namespace,
                signal_mask,
                fallbacks,
                strings: Some(strings),
            })
        }
        Side::Parent { pid, in_cgroup } => (pid, in_cgroup),
    };
    drop(go_read);
    drop(report_write);
    drop(tree);

    // Everything the child needs from outside before it may go on.
    let outside = Outside {
        plan,
        uid: root.uid,
        gid: root.gid,
        id: &id,
        bridge,
    };
    let proc = match prepare_child(pid, &outside, cgroup.as_ref().filter(|_| !in_cgroup)) {
        Ok(proc) => proc,
        Err(e) => {
            // Closing the go pipe without a byte makes the child exit.
            drop(go_write);
            let _ = sys::wait_pid(pid);
            return Err(e);
        }
    };
    sys::write_fd(&go_write, b"1").context("starting the container process", b"")?;

    // Either the report pipe closes at the exec (started) or the child sends its error.
    let mut report = [0u8; crate::output::LINE_CAPACITY + 1];
    let received = sys::read(&report_read, &mut report).unwrap_or(0);
    if received > 0 {
        let _ = sys::wait_pid(pid);
        let mut line = Line::new();
        line.push(&report[1..received]);
        line.to_stderr();
        return Ok(report[0]);
    }

    let status = signals::forward_until_exit(pid, forwarded, &proc)?;
    drop(go_write);
    if let Some(cgroup) = &cgroup {
        if plan.stats {
            let mut line = Line::new();
            cgroup.write_stats(&mut line);
            line.to_stderr();
        }
        let oom_kills = cgroup.oom_kills();
        if oom_kills > 0 {
            Line::new()
                .str("tinyjail: the container ran out of memory: the OOM killer killed ")
                .number(oom_kills)
                .str(" process(es) (memory.events)")
                .to_stderr();
        }
    }
    Ok(process::exit_status(status))
}

/// What the parent sets up for the child from outside its namespaces.
struct Outside<'a> {
    plan: &'a Plan,
    uid: u32,
    gid: u32,
    id: &'a Id,
    bridge: Option<u32>,
}

/// From outside, before the child may go on: its ID maps and `oom_score_adj`, its cgroup
/// (where clone3 could not start it there), its veth pair. Returns its /proc directory,
/// which the signal forwarding reads later.
fn prepare_child(pid: u32, outside: &Outside, move_into: Option<&Cgroup>) -> Result<ProcDir> {
    let proc = ProcDir::of(pid)?;
    userns::write_id_maps(&proc, outside.uid, outside.gid)?;
    // Whatever tinyjail inherited: lowering it is for the host's root alone.
    proc.write(c"oom_score_adj", b"0")?;
    if let Some(cgroup) = move_into {
        cgroup.add_process(pid)?;
    }
    let net = &outside.plan.network;
    if net.wants_veth() {
        net::make_veth(net, outside.bridge, outside.id, pid)?;
    }
    Ok(proc)
}

/// Opens the root directory once and checks that very object: a directory, not the host's
/// `/`, and (unless `--uid`/`--gid` say so) not owned by host root.
fn open_root(plan: &Plan) -> Result<Root> {
    let path = plan.root;
    let shown = path.to_bytes();
    // Not following a symlink as the last step: whoever can replace the root directory with
    // a link must not be able to point tinyjail at another user's tree.
    // Nor through a /proc magic link such as /proc/self/fd/N: the path must name the same
    // directory again in the container's mount namespace.
    let flags = k::O_PATH | k::O_DIRECTORY | k::O_NOFOLLOW;
    let resolve = u64::from(k::RESOLVE_NO_MAGICLINKS);
    let opened = match sys::openat2(sys::CWD, path, flags, resolve) {
        Err(Errno::ENOSYS) => sys::openat(sys::CWD, path, flags, 0),
        other => other,
    };
    let dir = opened.map_err(|e| {
        let e = Error::sys("opening root", shown, e);
        match e.errno {
            Some(Errno::ENOTDIR) => match sys::statx(sys::CWD, path, k::AT_SYMLINK_NOFOLLOW) {
                Ok(st) if st.mode & k::S_IFMT == k::S_IFLNK => Error::input(
                    "--root",
                    shown,
                    "is a symlink; give the directory it points to",
                ),
                _ => e.hint("--root must be a directory"),
            },
            _ => e,
        }
    })?;
    let st = sys::statx(dir.dir(), c"", 0).context("checking root", shown)?;
    let host_root = sys::statx(sys::CWD, c"/", 0).context("checking", b"/")?;
    if st.same_file(&host_root) {
        return Err(Error::input(
            "--root",
            shown,
            "is the host's / (give the container its own root)",
        ));
    }
    let uid = plan.uid.unwrap_or(st.uid);
    let gid = plan.gid.unwrap_or(st.gid);
    if plan.uid.is_none() && uid == 0 {
        return Err(Error::input(
            "--root",
            shown,
            "is owned by host UID 0; chown -R it to an unprivileged user, or pass --uid 0 to \
             map host root into the container on purpose",
        ));
    }
    if plan.gid.is_none() && gid == 0 {
        return Err(Error::input(
            "--root",
            shown,
            "is owned by host GID 0; chown -R it to an unprivileged group, or pass --gid 0 to \
             map host group 0 into the container on purpose",
        ));
    }
    Ok(Root { dir, uid, gid })
}

fn random_id() -> Result<Id> {
    let mut random = [0u8; 6];
    sys::getrandom(&mut random).context("choosing a container ID", b"")?;
    Ok(Id::from_random(random))
}

/// Refuses a standard input, output or error that is a directory: the container would get
/// a way into the host's filesystem through /proc/self/fd/N.
fn check_standard_descriptors() -> Result<()> {
    const NAMES: [&[u8]; 3] = [b"standard input", b"standard output", b"standard error"];
    for (number, name) in NAMES.iter().enumerate() {
        if sys::statx_number(number as i32).is_ok_and(|st| st.is_dir()) {
            return Err(Error::input(
                "refusing",
                name,
                "is a directory, which would let the container into the host's filesystem",
            ));
        }
    }
    Ok(())
}

/// Closes every descriptor above 2 (`close_range(2)` where the kernel has it, 5.9 and up).
fn close_inherited_descriptors() {
    if sys::close_from(3) == Err(Errno::ENOSYS) {
        for number in 3..1024 {
            let _ = sys::close_number(number);
        }
    }
}
