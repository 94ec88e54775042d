//! Hostile roots and escape attempts, in the manner of the runc, crun, youki and bubblewrap
//! suites: each test sets up the attack from the host and asserts that the bad thing did not
//! happen there (a marker outside the root stays untouched, the host's mount table and
//! cgroups are as they were, no host descriptor, directory or variable reaches the
//! container).

mod common;

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The tests that compare the host's mount table, or change it, run one at a time.
static MOUNT_TABLE: Mutex<()> = Mutex::new(());

fn mount_table_lock() -> MutexGuard<'static, ()> {
    MOUNT_TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mounts in `now` that `before` did not have (both as [`mounts`] gives them).
fn added_mounts(before: &[String], now: &[String]) -> Vec<String> {
    now.iter()
        .filter(|m| !before.contains(m))
        .cloned()
        .collect()
}

/// A relative symlink target that climbs from anywhere in the root to its top and then
/// names `host_path`: on the host it would reach `host_path` itself.
fn climbing_target(host_path: &Path) -> PathBuf {
    let rel = host_path.strip_prefix("/").unwrap();
    PathBuf::from("../".repeat(40)).join(rel)
}

/// Makes `root/rel` and every directory on the way, owned by the test roots' owner.
fn make_owned_dirs(root: &Path, rel: &Path) -> PathBuf {
    let mut at = root.to_path_buf();
    for component in rel.components() {
        at.push(component);
        if !at.exists() {
            fs::create_dir(&at).unwrap();
            chown(&at, OWNER);
        }
    }
    at
}

fn args_with_root(root: &Path, rest: &[&str]) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec!["--root".into(), root.as_os_str().to_owned()];
    a.extend(rest.iter().map(OsString::from));
    a
}

/// A running tinyjail, killed (and reaped) when the test ends, however it ends.
struct Running(Option<Child>);

impl Running {
    fn spawn(cmd: &mut Command) -> Running {
        Running(Some(cmd.spawn().expect("starting tinyjail")))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// Reads stdout until `line` (with its newline) has arrived.
    fn wait_for_line(&mut self, line: &str) -> String {
        let stdout = self.child().stdout.as_mut().expect("stdout piped");
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        let want = format!("{line}\n");
        while !String::from_utf8_lossy(&seen).contains(&want) {
            let n = stdout.read(&mut byte).unwrap();
            assert!(
                n > 0,
                "the container ended before printing {line:?}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.push(byte[0]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    fn finish(mut self) -> Output {
        wait_bounded(self.0.take().unwrap())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Asserts a run that did not crash: an exit status (no signal), not the shell's 134/139,
/// and at most one line on stderr, which is tinyjail's own when it refused.
fn assert_no_crash(out: &Output, what: &str) {
    let err = stderr(out);
    let code = out.status.code();
    assert!(
        code.is_some(),
        "{what}: tinyjail was killed: {:?}",
        out.status
    );
    assert!(
        !matches!(code, Some(134) | Some(139)),
        "{what}: exit {code:?}, stderr: {err}"
    );
    assert!(
        err.lines().count() <= 1,
        "{what}: more than one line on stderr: {err:?}"
    );
    if code == Some(125) {
        assert!(err.starts_with("tinyjail: "), "{what}: {err:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile roots
// ---------------------------------------------------------------------------------------------

/// /proc, /dev and /sys replaced by symlinks to a host directory, absolute and climbing
/// (`../../../..<host dir>`): refused, and nothing is mounted on or written to the host
/// directory.
#[test]
fn mount_points_symlinked_to_the_host_are_refused_and_the_host_is_untouched() {
    require_root!();
    let _lock = mount_table_lock();
    let leaks = LeakCheck::start().whole_mount_table();
    for dir in ["proc", "dev", "sys"] {
        for climbing in [false, true] {
            let kind = if climbing { "climbing" } else { "absolute" };
            let marker = Marker::new(&format!("hostile-{dir}-{kind}-host"));
            let root = leaks.watch(own_root(&format!("hostile-{dir}-{kind}")));
            fs::remove_dir(root.join(dir)).unwrap();
            let target = if climbing {
                climbing_target(&marker.dir)
            } else {
                marker.dir.clone()
            };
            symlink(&target, root.join(dir)).unwrap();
            chown(&root.join(dir), OWNER);
            let out = leaks.run(args_with_root(&root, &["--", "/bin/true"]));
            refused(&out, &format!("refusing mount point /{dir}: is a symlink"));
            marker.assert_untouched(&format!("/{dir} -> {}", target.display()));
            assert!(fs::symlink_metadata(root.join(dir))
                .unwrap()
                .file_type()
                .is_symlink());
        }
    }
}

/// A workdir that is a symlink out of the root is resolved inside the container, after
/// pivot_root: it can never name the host directory it would reach on the host.
#[test]
fn workdir_symlink_out_of_the_root_stays_inside() {
    require_root!();
    let leaks = LeakCheck::start();
    let marker = Marker::new("workdir-symlink-host");
    let root = leaks.watch(own_root("workdir-symlink"));
    symlink(&marker.dir, root.join("abs")).unwrap();
    chown(&root.join("abs"), OWNER);
    symlink(climbing_target(&marker.dir), root.join("climb")).unwrap();
    chown(&root.join("climb"), OWNER);
    let script = "pwd -P; readlink /proc/self/cwd; echo from-the-container > written-here";

    // The target does not exist inside the root: refused, nothing written anywhere.
    for workdir in ["/abs", "/climb"] {
        let out = leaks.run(args_with_root(
            &root,
            &["--workdir", workdir, "--", "/bin/sh", "-c", script],
        ));
        refused(
            &out,
            &format!("changing to workdir {workdir}: No such file or directory (ENOENT)"),
        );
        marker.assert_untouched(&format!("--workdir {workdir} (missing inside)"));
    }

    // The same path exists inside the root: the container works there, in its own copy.
    let inside = make_owned_dirs(&root, marker.dir.strip_prefix("/").unwrap());
    for workdir in ["/abs", "/climb"] {
        let _ = fs::remove_file(inside.join("written-here"));
        let out = leaks.run(args_with_root(
            &root,
            &["--workdir", workdir, "--", "/bin/sh", "-c", script],
        ));
        let shown = marker.dir.display().to_string();
        assert_eq!(
            ok(&out),
            format!("{shown}\n{shown}\n"),
            "--workdir {workdir}"
        );
        assert_eq!(
            fs::read_to_string(inside.join("written-here")).unwrap(),
            "from-the-container\n",
            "--workdir {workdir}: the file must land inside the root"
        );
        marker.assert_untouched(&format!("--workdir {workdir} (present inside)"));
    }
}

/// `--root` naming a symlink is refused: the last component is opened without following
/// links, so whoever can swap the root directory for a link cannot point tinyjail at
/// another tree. Links higher up in the path are followed as usual, and the directory
/// opened and checked is the one mounted. A link to the host's / is refused too.
#[test]
fn root_given_as_a_symlink_is_refused_and_links_above_it_are_followed() {
    require_root!();
    let leaks = LeakCheck::start();
    let target = leaks.watch(own_root("root-symlink-target"));
    let links = leaks.watch(scratch("root-symlink-links"));
    let link = links.join("root");
    symlink(&target, &link).unwrap();
    let script = "echo made > /tmp/made-inside; ls -a /tmp";
    let out = leaks.run(args_with_root(&link, &["--", "/bin/sh", "-c", script]));
    refused(
        &out,
        &format!(
            "--root {}: is a symlink; give the directory it points to",
            link.display()
        ),
    );
    assert!(!target.join("tmp/made-inside").exists());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    let to_host_root = links.join("host-root");
    symlink("/", &to_host_root).unwrap();
    let out = leaks.run(args_with_root(&to_host_root, &["--", "/bin/true"]));
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    // Through a link to / the root is the host's / again.
    let out = leaks.run(args_with_root(
        &to_host_root.join("."),
        &["--", "/bin/true"],
    ));
    refused(&out, "is the host's /");

    // A symlink to the root's parent directory: followed; the container runs in the target.
    let parent_link = links.join("parent");
    symlink(target.parent().unwrap(), &parent_link).unwrap();
    let through = parent_link.join(target.file_name().unwrap());
    let out = leaks.run(args_with_root(&through, &["--", "/bin/sh", "-c", script]));
    assert_eq!(ok(&out), ".\n..\nmade-inside\n");
    assert_eq!(
        fs::read_to_string(target.join("tmp/made-inside")).unwrap(),
        "made\n"
    );
}

/// A root owned by host UID or GID 0 maps host root into the container only when both
/// `--uid 0` and `--gid 0` ask for it.
#[test]
fn root_owned_by_host_root_is_refused_unless_asked_for() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("root-owned-by-0"));
    chown(&root, 0);
    let cases: &[(&[&str], &str)] = &[
        (&[], "is owned by host UID 0"),
        (&["--uid", "0"], "is owned by host GID 0"),
        (&["--gid", "0"], "is owned by host UID 0"),
        (&["--uid", "1000"], "is owned by host GID 0"),
    ];
    for (options, expected) in cases {
        let mut rest = options.to_vec();
        rest.extend(["--", "/bin/true"]);
        let out = leaks.run(args_with_root(&root, &rest));
        refused(&out, expected);
    }
    let out = leaks.run(args_with_root(
        &root,
        &[
            "--uid",
            "0",
            "--gid",
            "0",
            "--",
            "/bin/cat",
            "/proc/self/uid_map",
            "/proc/self/gid_map",
        ],
    ));
    let maps: Vec<Vec<String>> = ok(&out)
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect();
    assert_eq!(maps, [["0", "0", "1"], ["0", "0", "1"]]);

    // Group 0 alone is refused too.
    let root = leaks.watch(own_root("root-group-0"));
    std::os::unix::fs::lchown(&root, Some(OWNER), Some(0)).unwrap();
    let out = leaks.run(args_with_root(&root, &["--", "/bin/true"]));
    refused(&out, "is owned by host GID 0");
}

// ---------------------------------------------------------------------------------------------
// Descriptors and directories of the host (CVE-2024-21626 class)
// ---------------------------------------------------------------------------------------------

/// Walks up from the working directory with `cd -P ..` until it stops moving and says
/// whether it ended at the container's `/` (`inside`) or somewhere else (`OUTSIDE ...`).
const WALK_UP: &str = "i=0; while [ $i -lt 64 ]; do cd -P .. || break; i=$((i+1)); done; \
    if [ \"$(stat -c %d:%i .)\" = \"$(stat -c %d:%i /)\" ]; then echo inside; \
    else echo \"OUTSIDE at $(readlink /proc/self/cwd):\" $(ls); fi";

/// [`WALK_UP`], then, from wherever that ended, an attempt to write into the host directory
/// `host_dir` by its host path: it succeeds only where the walk reached the host's `/`.
fn walk_up_and_write(host_dir: &Path) -> String {
    let rel = host_dir.strip_prefix("/").unwrap().display();
    format!(
        "{WALK_UP}; if [ -d './{rel}' ]; then \
           echo from-the-container > './{rel}/escaped-'$$ && echo 'WROTE INTO THE HOST'; fi"
    )
}

/// tinyjail started from a host directory with extra descriptors open (bash `exec 5</etc
/// 6</ 7<marker`): inside, only 0, 1 and 2 are open, the working directory is `/`, and
/// neither /proc/self/cwd nor /proc/1/cwd or /proc/1/root lead back to the host directory.
#[test]
fn no_host_descriptor_or_working_directory_reaches_the_container() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let host_cwd = Marker::new("host-cwd");
    let name = Marker::FILE;
    let mut script = String::from(
        "echo self-fd; ls /proc/self/fd; echo pid1-fd; ls /proc/1/fd; echo cwd; \
         readlink /proc/self/cwd; readlink /proc/1/cwd; readlink /proc/1/root; echo marker; ",
    );
    script.push_str(&format!(
        "for p in /proc/self/cwd /proc/1/cwd /proc/1/root; do \
           for up in '' /.. /../.. /../../.. /../../../.. /../../../../..; do \
             test -e \"$p$up/{name}\" && echo \"LEAK $p$up\"; \
           done; \
         done; echo walk; {WALK_UP}"
    ));
    let out = output(
        Command::new("/bin/bash")
            .current_dir(&host_cwd.dir)
            .arg("-c")
            .arg(format!(
            "exec 5</etc 6</ 7<{name} 8<.; exec \"$@\" --root \"$ROOT\" -- /bin/sh -c \"$SCRIPT\""
        ))
            .arg("bash")
            .arg(env!("CARGO_BIN_EXE_tinyjail"))
            .args(["--id", &leaks.id()])
            .env("ROOT", root)
            .env("SCRIPT", &script)
            .stdin(Stdio::null()),
    );
    let text = ok(&out);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "self-fd", "0", "1", "2", "3", // ls's own directory
            "pid1-fd", "0", "1", "2", "cwd", "/", "/", "/", "marker", "walk", "inside",
        ],
        "{text}"
    );
    host_cwd.assert_untouched("tinyjail started from this directory");
}

/// `--workdir /proc/self/fd/N` (and /proc/1/fd/N, /proc/thread-self/fd/N), the way of
/// CVE-2024-21626: the working directory is entered after pivot_root, when the container's
/// /proc already shows the descriptors tinyjail holds (its cgroup directories, say) and
/// those it was given (here stdin is a host directory). Each must be refused or stay
/// inside the root, and the world-writable host directory must stay untouched.
#[test]
fn workdir_through_a_descriptor_of_tinyjail_stays_inside() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    // World-writable, so that even the unprivileged mapped user could write here.
    let marker = {
        let dir = scratch("workdir-fd-host");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        Marker::at(dir)
    };
    let script = walk_up_and_write(&marker.dir);
    let mut escapes = Vec::new();
    for (prefix, init) in [
        ("/proc/self/fd", false),
        ("/proc/1/fd", false),
        ("/proc/thread-self/fd", false),
        ("/proc/self/fd", true),
    ] {
        for n in 0..=9 {
            let workdir = format!("{prefix}/{n}");
            let mut rest = vec!["--workdir", &workdir];
            if init {
                rest.push("--init");
            }
            rest.extend(["--", "/bin/sh", "-c", &script]);
            // The caller's own descriptors count too: stdin is the host directory itself.
            let stdin = fs::File::open(&marker.dir).unwrap();
            let out = output(
                leaks
                    .tinyjail()
                    .args(args_with_root(root, &rest))
                    .stdin(stdin),
            );
            let workdir = if init {
                format!("{workdir} --init")
            } else {
                workdir
            };
            assert_no_crash(&out, &workdir);
            match out.status.code() {
                Some(125) => {}
                Some(0) if stdout(&out) == "inside\n" => {}
                _ => escapes.push(format!(
                    "--workdir {workdir}: exit {:?}: {}{}",
                    out.status.code(),
                    stdout(&out),
                    stderr(&out)
                )),
            }
        }
    }
    let written = marker.changes();
    assert!(
        escapes.is_empty() && written.is_none(),
        "the working directory escaped the root ({written:?}):\n{}",
        escapes.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

/// Nothing of tinyjail's environment is readable inside, from any process's
/// /proc/N/environ; PID 1 has exactly PATH and the `--env` entries; no process inside runs
/// tinyjail's own binary.
#[test]
fn host_environment_is_not_readable_from_any_process_inside() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let secret = "s3cr3t-value-4711";
    let script = "sleep 30 & sh -c 'sleep 30' & \
        for f in /proc/[0-9]*/environ; do echo \"== $f\"; cat \"$f\"; echo; done; \
        echo '== exe'; for f in /proc/[0-9]*/exe; do readlink \"$f\"; done; \
        echo '== comm'; cat /proc/[0-9]*/comm";
    let out = output(
        leaks
            .tinyjail()
            .env_clear()
            .env("TJ_HOST_SECRET", secret)
            .env("HOME", "/root/host-home")
            .env("PATH", "/host/only/path:/usr/bin:/bin")
            .args(args_with_root(
                root,
                &["--env", "A=1", "--", "/bin/sh", "-c", script],
            )),
    );
    let text = ok(&out);
    for leaked in [secret, "TJ_HOST_SECRET", "host-home", "/host/only/path"] {
        assert!(
            !text.contains(leaked),
            "{leaked:?} is visible inside:\n{text}"
        );
    }
    let sections: Vec<&str> = text.split("== ").skip(1).collect();
    let pid1 = sections
        .iter()
        .find(|s| s.starts_with("/proc/1/environ\n"))
        .expect("PID 1's environ");
    assert_eq!(
        pid1.trim_start_matches("/proc/1/environ\n").trim_end(),
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\0A=1\0"
    );
    let environs = sections
        .iter()
        .filter(|s| s.starts_with("/proc/") && s.contains("/environ\n"))
        .count();
    assert!(environs >= 3, "expected PID 1 and two more: {text}");
    let exe = sections.iter().find(|s| s.starts_with("exe\n")).unwrap();
    for line in exe.lines().skip(1) {
        assert_eq!(line, "/bin/busybox", "{text}");
    }
    let comm = sections.iter().find(|s| s.starts_with("comm\n")).unwrap();
    assert!(!comm.lines().any(|l| l == "tinyjail"), "{text}");
}

/// With `--init`, PID 1 is tinyjail's own code, forked and never executed anew: its
/// command line (the root's host path among it) and environment are wiped, and it is not
/// dumpable, so neither /proc/1/environ nor /proc/1/exe (tinyjail's binary on the host, the
/// CVE-2019-5736 way in) can be read from inside.
#[test]
fn init_shows_nothing_of_the_host_through_proc() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let secret = "s3cr3t-init-4711";
    let script = "for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do \
          echo \"== $f\"; cat \"$f\" 2>/dev/null; echo; \
        done; \
        echo '== exe'; readlink /proc/1/exe 2>/dev/null; head -c 4 /proc/1/exe 2>/dev/null; \
        echo; echo '== comm'; cat /proc/1/comm";
    let out = output(
        leaks
            .tinyjail()
            .env_clear()
            .env("TJ_HOST_SECRET", secret)
            .args(args_with_root(
                root,
                &["--init", "--env", "A=1", "--", "/bin/sh", "-c", script],
            )),
    );
    let text = ok(&out);
    let root_path = root.display().to_string();
    for leaked in [
        secret,
        "TJ_HOST_SECRET",
        root_path.as_str(),
        "--root",
        "ELF",
        "tinyjail",
    ] {
        assert!(
            !text.contains(leaked),
            "{leaked:?} is visible inside:\n{text:?}"
        );
    }
    let pid1_cmdline = text
        .split("== ")
        .find(|s| s.starts_with("/proc/1/cmdline\n"))
        .expect("PID 1's cmdline");
    assert!(
        pid1_cmdline
            .trim_start_matches("/proc/1/cmdline\n")
            .bytes()
            .all(|b| b == 0 || b == b'\n'),
        "PID 1's command line still shows something: {pid1_cmdline:?}"
    );
    assert!(text.ends_with("== comm\ninit\n"), "{text:?}");
}

// ---------------------------------------------------------------------------------------------
// Mount propagation
// ---------------------------------------------------------------------------------------------

/// A tmpfs of the test's own, mounted shared on a scratch directory; unmounted (lazily,
/// with everything below it) when dropped, however the test ends.
struct SharedTmpfs {
    dir: PathBuf,
}

impl SharedTmpfs {
    fn mount(name: &str) -> SharedTmpfs {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("tj-tests")
            .join(name);
        // Left over from an interrupted run.
        while is_mount_point(&dir) {
            Command::new("umount").arg("-l").arg(&dir).status().unwrap();
        }
        let dir = scratch(name);
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m,mode=755", "tj-hardening"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs on {}", dir.display());
        let guard = SharedTmpfs { dir };
        let status = Command::new("mount")
            .arg("--make-shared")
            .arg(&guard.dir)
            .status()
            .unwrap();
        assert!(status.success());
        guard
    }
}

impl Drop for SharedTmpfs {
    fn drop(&mut self) {
        while is_mount_point(&self.dir) {
            if !Command::new("umount")
                .arg("-l")
                .arg(&self.dir)
                .status()
                .is_ok_and(|s| s.success())
            {
                break;
            }
        }
    }
}

/// A root below a shared mount on the host: nothing tinyjail mounts for the container
/// (/proc, /sys, /dev and what is below them), and nothing the container mounts itself,
/// may appear in the host's mount table, while the container runs or after it.
#[test]

fn mounts_do_not_propagate_to_a_shared_host_mount() {
    require_root!();
    let _lock = mount_table_lock();
    let shared = SharedTmpfs::mount("propagation");
    let root = shared.dir.join("root");
    make_busybox_root(&root, OWNER);
    fs::write(root.join("tmp/host-marker"), "host\n").unwrap();
    // Checked before the tmpfs is unmounted again: a leak check started now ends first.
    let leaks = LeakCheck::start().whole_mount_table();
    let root = leaks.watch(root);
    let before = mounts();

    let mut running = Running::spawn(
        leaks
            .tinyjail()
            .args(args_with_root(
                &root,
                &[
                    "--",
                    "/bin/sh",
                    "-c",
                    "mount -t tmpfs inner /tmp && echo made > /tmp/inside-only; \
                     echo up; exec sleep 30",
                ],
            ))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    running.wait_for_line("up");
    let during = added_mounts(&before, &mounts());
    let host_view_intact = root.join("tmp/host-marker").exists()
        && !root.join("tmp/inside-only").exists()
        && !is_mount_point(&root.join("tmp"));

    // PID 1 (sleep) has no handler: SIGTERM ends the container with TERM's status.
    let pid = running.child().id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = running.finish();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let after = added_mounts(&before, &mounts());

    assert!(
        during.is_empty() && after.is_empty() && host_view_intact,
        "mounts reached the host: while running +{during:#?}\nafter the run +{after:#?}\n\
         host's view of the root's /tmp intact: {host_view_intact}"
    );
}

// ---------------------------------------------------------------------------------------------
// Process attributes inherited from tinyjail's caller
// ---------------------------------------------------------------------------------------------

/// An oom_score_adj given to tinyjail (so that the OOM killer spares tinyjail, or picks it
/// first) is tinyjail's alone: the container starts at 0 either way. A negative value
/// inherited would shield the container from the OOM killer.
#[test]
fn oom_score_adj_of_tinyjail_is_not_inherited() {
    require_root!();
    let leaks = LeakCheck::start();
    for adj in ["500", "-500"] {
        let out = output(
            Command::new("/bin/bash")
                .arg("-c")
                .arg(format!(
                    "echo {adj} 2>/dev/null > /proc/self/oom_score_adj || exit 99; exec \"$@\""
                ))
                .arg("bash")
                .arg(env!("CARGO_BIN_EXE_tinyjail"))
                .args(["--id", &leaks.id()])
                .args(args_with_root(
                    shared_root(),
                    &["--", "/bin/cat", "/proc/self/oom_score_adj"],
                ))
                .stdin(Stdio::null()),
        );
        if out.status.code() == Some(99) {
            // Lowering it takes CAP_SYS_RESOURCE, which a test host in a container may lack.
            eprintln!("skipped oom_score_adj {adj}: this host does not let root set it");
            continue;
        }
        assert_eq!(ok(&out), "0\n", "tinyjail started with oom_score_adj {adj}");
    }
}

// ---------------------------------------------------------------------------------------------
// Parent death
// ---------------------------------------------------------------------------------------------

/// tinyjail killed with SIGKILL: its container dies within [`GRACE`] (PDEATHSIG), and the
/// next start removes the empty cgroup it left.
#[test]
fn container_dies_with_tinyjail_and_its_cgroup_is_swept() {
    require_root!();
    let leaks = LeakCheck::start();
    let mut running = Running::spawn(
        leaks
            .tinyjail()
            .args(args_with_root(
                shared_root(),
                &["--", "/bin/sh", "-c", "echo up; exec sleep 100"],
            ))
            .stdout(Stdio::piped()),
    );
    running.wait_for_line("up");
    let tinyjail_pid = running.child().id();
    let inner = children_of(tinyjail_pid);
    assert_eq!(inner.len(), 1, "the container's first process: {inner:?}");
    let inner = inner[0];
    assert!(!is_dead(inner), "{inner}: {:?}", state_of(inner));

    running.child().kill().unwrap();
    let status = running.finish().status;
    assert_eq!(status.code(), None, "tinyjail must have been killed");
    assert!(
        eventually(GRACE, || is_dead(inner)
            && leaks.processes_left().is_empty()),
        "the container still runs after tinyjail was killed: {:#?}",
        leaks.processes_left()
    );

    // The sweep runs when no other start holds tinyjail's parent cgroup at that moment;
    // other tests may be starting containers too, so a few starts are allowed.
    leaks.sweep();
    let left = leaks.cgroups_left();
    assert!(left.is_empty(), "not removed by the next starts: {left:?}");
}

// ---------------------------------------------------------------------------------------------
// Input limits
// ---------------------------------------------------------------------------------------------

/// 5000 `--env` entries and 20000 arguments: they work, or tinyjail refuses them with one
/// line; it never crashes.
#[test]
fn many_env_entries_and_arguments_work_or_are_refused_cleanly() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();

    let mut args = args_with_root(root, &[]);
    for i in 0..5000 {
        args.push("--env".into());
        args.push(format!("K{i}=v{i}").into());
    }
    args.extend(
        [
            "--",
            "/bin/sh",
            "-c",
            "tr '\\0' '\\n' < /proc/1/environ | wc -l; echo \"$K0 $K4999\"",
        ]
        .map(OsString::from),
    );
    let out = leaks.run(&args);
    assert_no_crash(&out, "5000 --env");
    if out.status.code() == Some(125) {
        assert!(stderr(&out).contains("--env"), "{}", stderr(&out));
    } else {
        let text = ok(&out);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert_eq!(lines, ["5001", "v0 v4999"]);
    }

    let mut args = args_with_root(
        root,
        &["--", "/bin/sh", "-c", "echo $# \"$1\" \"$#\"", "sh"],
    );
    args.extend((1..=20000).map(|i| OsString::from(format!("a{i}"))));
    let out = leaks.run(&args);
    assert_no_crash(&out, "20000 arguments");
    if out.status.code() != Some(125) {
        assert_eq!(ok(&out), "20000 a1 20000\n");
    }
}

/// Values far beyond every limit (100 KB each, below the kernel's 128 KB per argument):
/// refused with one line, never a crash.
#[test]
fn huge_option_values_never_crash() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let long = "x".repeat(100_000);
    let long_path = format!("/{}", "d".repeat(99_999));
    let cases: Vec<(String, Vec<String>)> = vec![
        ("--id".into(), vec!["--id".into(), long.clone()]),
        ("--hostname".into(), vec!["--hostname".into(), long.clone()]),
        (
            "--workdir".into(),
            vec!["--workdir".into(), long_path.clone()],
        ),
        (
            "--cgroup".into(),
            vec!["--cgroup".into(), format!("pids.max={long}")],
        ),
        (
            "--cgroup FILE".into(),
            vec!["--cgroup".into(), format!("{long}.max=1")],
        ),
        (
            "--cgroup-parent".into(),
            vec!["--cgroup-parent".into(), long.clone()],
        ),
        ("--uid".into(), vec!["--uid".into(), "9".repeat(100_000)]),
        ("--env KEY".into(), vec!["--env".into(), long.clone()]),
        ("unknown option".into(), vec![format!("--{long}")]),
    ];
    for (what, options) in &cases {
        let mut args = args_with_root(root, &[]);
        args.extend(options.iter().map(OsString::from));
        args.extend(["--", "/bin/true"].map(OsString::from));
        // A second `--id` would be refused as such: the long one stands alone.
        let out = if options[0] == "--id" {
            run(&args)
        } else {
            leaks.run(&args)
        };
        assert_no_crash(&out, what);
    }
    // A root path beyond PATH_MAX.
    let out = leaks.run(["--root", &long_path, "--", "/bin/true"]);
    assert_no_crash(&out, "--root");
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).starts_with("tinyjail: opening root /ddd"));
}

/// The reason for refusing a long value must survive the one-line limit: the value is cut,
/// not the reason.
#[test]

fn reason_survives_a_long_refused_value() {
    require_root!();
    let _leaks = LeakCheck::start();
    let root = shared_root();
    let long = "x".repeat(3000);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--id".into(), long.clone()],
            "must be 1 to 12 characters of A-Z a-z 0-9 _ -",
        ),
        (
            vec!["--hostname".into(), long.clone()],
            "must be 1 to 64 bytes",
        ),
        (
            vec!["--cgroup".into(), format!("pids.max={long}\n")],
            "VALUE must not contain a newline",
        ),
        (
            vec!["--cgroup-parent".into(), long.clone()],
            "is longer than 200 bytes",
        ),
        (vec![format!("--{long}")], "see tinyjail --help"),
    ];
    for (options, reason) in cases {
        let mut args = args_with_root(root, &[]);
        args.extend(options.iter().map(OsString::from));
        args.extend(["--", "/bin/true"].map(OsString::from));
        // Refused while parsing, before anything is made: no ID of the leak check needed.
        let out = run(&args);
        refused(&out, reason);
    }
}
