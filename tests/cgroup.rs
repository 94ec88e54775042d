//! cgroup v2 on the test host: what works here. The host's cgroup2 hierarchy has no
//! controllers (cgroup v1 holds cpu, memory and pids), so limits are tested in the VM
//! (tests/vm); here: the cgroup is made, entered, delegated and removed on every way out.

mod common;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use common::*;

macro_rules! require_cgroup2 {
    () => {
        require_root!();
        let Some(h) = hierarchy() else {
            eprintln!("skipped: the host shows no cgroup2 hierarchy to look at");
            return;
        };
        let _ = &h;
    };
}

fn args_for(root: &Path, id: &str, rest: &[&str]) -> Vec<String> {
    let mut a = vec![
        "--root".to_owned(),
        root.display().to_string(),
        "--id".to_owned(),
        id.to_owned(),
    ];
    a.extend(rest.iter().map(|s| s.to_string()));
    a
}

#[test]
fn cgroup_is_made_entered_delegated_and_removed() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let leaks = LeakCheck::start();
    let id = leaks.id();
    let root = shared_root();
    let script = "cat /proc/self/cgroup | grep '^0::'; stat -c '%u' /sys/fs/cgroup /sys/fs/cgroup/cgroup.procs; \
                  mkdir /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs && grep '^0::' /proc/self/cgroup";
    let mut child = tinyjail()
        .args(args_for(
            root,
            &id,
            &[
                "--",
                "/bin/sh",
                "-c",
                &format!("{script}; echo done; sleep 30"),
            ],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    let stdout = child.stdout.as_mut().unwrap();
    let mut buf = [0u8; 256];
    while !out.contains("done\n") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "container ended early: {out}");
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert_eq!(out, "0::/\n0\n0\n0::/inner\ndone\n");
    // From the host: the cgroup is <hierarchy>/tinyjail/ID, owned by the mapped user.
    let dir = h.join("tinyjail").join(&id);
    let procs = fs::read_to_string(dir.join("inner/cgroup.procs")).unwrap();
    assert_eq!(procs.lines().count(), 1, "{procs}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&dir).unwrap().uid(), OWNER);
    assert_eq!(fs::metadata(dir.join("cgroup.procs")).unwrap().uid(), OWNER);
    assert_eq!(
        fs::metadata(dir.join("cgroup.subtree_control"))
            .unwrap()
            .uid(),
        OWNER
    );
    assert_eq!(
        fs::metadata(dir.join("cgroup.threads")).unwrap().uid(),
        OWNER
    );
    assert_eq!(
        fs::metadata(dir.join("cgroup.max.depth")).unwrap().uid(),
        0,
        "only the delegation files"
    );

    // The leak check sees that the cgroup and its sub-cgroup are gone.
    let inner = children_of(child.id())[0];
    std::process::Command::new("kill")
        .args(["-KILL", &inner.to_string()])
        .status()
        .unwrap();
    assert_eq!(wait_bounded(child).status.code(), Some(137));
}

#[test]
fn cgroup_is_removed_on_every_way_out() {
    require_cgroup2!();
    let leaks = LeakCheck::start();
    let cases: &[(&str, &[&str], Option<i32>)] = &[
        (
            "exit",
            &["--", "/bin/sh", "-c", "sleep 30 & exit 3"],
            Some(3),
        ),
        ("not found", &["--", "/no/such"], Some(127)),
        (
            "failed setup",
            &["--workdir", "/missing", "--", "/bin/true"],
            Some(125),
        ),
    ];
    for (way_out, rest, code) in cases {
        let out = run(args_for(shared_root(), &leaks.id(), rest));
        assert_eq!(out.status.code(), *code, "{way_out}: {}", stderr(&out));
        leaks.assert_nothing_left(&format!("after {way_out}"));
    }
}

#[test]
fn missing_controller_is_a_clear_error_and_leaves_nothing() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let offered = fs::read_to_string(h.join("cgroup.controllers")).unwrap();
    let controller = ["pids", "memory", "cpu", "hugetlb"]
        .into_iter()
        .find(|c| !offered.split_whitespace().any(|o| o == *c));
    let Some(controller) = controller else {
        eprintln!("skipped: this host's cgroup2 offers every controller");
        return;
    };
    let leaks = LeakCheck::start();
    let option = format!("{controller}.max=10");
    let out = run(args_for(
        shared_root(),
        &leaks.id(),
        &["--cgroup", &option, "--", "/bin/true"],
    ));
    refused(&out, &format!("--cgroup {option}: controller is not available in cgroup v2 here; on a hybrid host cgroup v1 may hold it"));
}

#[test]
fn custom_parent_is_used_and_what_the_run_made_of_it_is_removed() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    // A parent of this test's own, so that runs elsewhere cannot share it.
    let top = format!("tj-parent-{}", std::process::id());
    let parent = format!("/{top}/deeper");
    let leaks = LeakCheck::start().cgroup_parent(&parent);
    let id = leaks.id();

    // Neither component exists: both are made for the run, and removed after it.
    let mut child = tinyjail()
        .args(args_for(
            shared_root(),
            &id,
            &[
                "--cgroup-parent",
                &parent,
                "--",
                "/bin/sh",
                "-c",
                "echo ready; sleep 100 & wait",
            ],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut child);
    let inner = children_of(child.id())[0];
    let cgroup = fs::read_to_string(format!("/proc/{inner}/cgroup")).unwrap();
    assert!(
        cgroup.lines().any(|l| l == format!("0::{parent}/{id}")),
        "{cgroup}"
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(wait_bounded(child).status.code(), Some(128 + 15));
    assert!(!h.join(&top).exists(), "the parent the run made is left");

    // A component that existed before the run is kept.
    fs::create_dir(h.join(&top)).unwrap();
    let out = run(args_for(
        shared_root(),
        &leaks.id(),
        &["--cgroup-parent", &parent, "--", "/bin/true"],
    ));
    ok(&out);
    let kept = h.join(&top).is_dir() && !h.join(&top).join("deeper").exists();
    fs::remove_dir(h.join(&top)).unwrap();
    assert!(kept, "only what the run made is removed");
}

#[test]
fn running_id_is_refused_and_stale_cgroups_are_swept() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let leaks = LeakCheck::start();
    let id = leaks.id();
    let root = shared_root();
    let mut first = tinyjail()
        .args(args_for(
            root,
            &id,
            &["--", "/bin/sh", "-c", "echo ready; sleep 30"],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut first);
    let out = run(args_for(root, &id, &["--", "/bin/true"]));
    refused(&out, "is the ID of a running container");

    // tinyjail killed outright: its container dies with it, and the empty cgroup it could
    // not remove is removed by the next start.
    let tinyjail_pid = first.id();
    std::process::Command::new("kill")
        .args(["-KILL", &tinyjail_pid.to_string()])
        .status()
        .unwrap();
    wait_bounded(first);
    let dir = h.join("tinyjail").join(&id);
    assert!(
        eventually(GRACE, || leaks.processes_left().is_empty()),
        "container processes outlived tinyjail: {:#?}",
        leaks.processes_left()
    );
    ok(&run(args_for(root, &leaks.id(), &["--", "/bin/true"])));
    assert!(!dir.exists(), "the stale cgroup was not swept");
}

#[test]
fn stats_line() {
    require_cgroup2!();
    let leaks = LeakCheck::start();
    let out = run(args_for(
        shared_root(),
        &leaks.id(),
        &["--stats", "--", "/bin/true"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.starts_with("tinyjail: stats:") && err.contains(" cpu_usec="),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

/// The value of the extended attribute tinyjail marks its cgroups with, if any.
fn mark_of(dir: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    let mut value = [0u8; 16];
    // SAFETY: both names are NUL-terminated and the kernel writes at most value.len() bytes.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"trusted.tinyjail".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    (n >= 0).then(|| value[..n as usize].to_vec())
}

/// Below a --cgroup-parent, which other programs share, a killed run's cgroup (marked as
/// tinyjail's) is swept by the next start, and a cgroup of somebody else's is never touched,
/// even when it is named like the container.
#[test]
fn below_a_custom_parent_only_tinyjails_marked_cgroups_are_removed() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let top = format!("tj-marks-{}", std::process::id());
    let parent = format!("/{top}");
    fs::create_dir(h.join(&top)).unwrap();
    let leaks = LeakCheck::start().cgroup_parent(&parent);
    let root = shared_root();

    // A run killed outright leaves its cgroup, with the mark.
    let killed = leaks.id();
    let mut first = tinyjail()
        .args(args_for(
            root,
            &killed,
            &[
                "--cgroup-parent",
                &parent,
                "--",
                "/bin/sh",
                "-c",
                "echo ready; sleep 30",
            ],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut first);
    let left = h.join(&top).join(&killed);
    assert_eq!(mark_of(&left).as_deref(), Some(&b"1"[..]));
    std::process::Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status()
        .unwrap();
    wait_bounded(first);
    assert!(
        eventually(GRACE, || leaks.processes_left().is_empty()),
        "container processes outlived tinyjail: {:#?}",
        leaks.processes_left()
    );
    assert!(left.is_dir());

    // Somebody else's cgroup, named like the next container.
    let foreign = leaks.id();
    fs::create_dir(h.join(&top).join(&foreign)).unwrap();
    let out = run(args_for(
        root,
        &foreign,
        &["--cgroup-parent", &parent, "--", "/bin/true"],
    ));
    refused(
        &out,
        &format!("--id {foreign}: names a cgroup that exists already and is not one of tinyjail's"),
    );

    // The next start in that parent removes the killed run's cgroup and only that.
    ok(&run(args_for(
        root,
        &leaks.id(),
        &["--cgroup-parent", &parent, "--", "/bin/true"],
    )));
    let foreign_kept = h.join(&top).join(&foreign).is_dir();
    let swept = !left.exists();
    fs::remove_dir(h.join(&top).join(&foreign)).unwrap();
    fs::remove_dir(h.join(&top)).unwrap();
    assert!(swept, "the killed run's cgroup was not swept");
    assert!(foreign_kept, "a cgroup that is not tinyjail's was removed");
}

/// Even in `/tinyjail`, a cgroup that tinyjail did not make (no mark) is never swept while
/// it holds processes, and the processes in it are never killed.
#[test]
fn a_foreign_cgroup_in_tinyjails_parent_is_left_alone() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let leaks = LeakCheck::start();
    let foreign = h.join("tinyjail").join(leaks.id());
    fs::create_dir_all(&foreign).unwrap();
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    fs::write(foreign.join("cgroup.procs"), sleeper.id().to_string()).unwrap();

    ok(&leaks.run_in_root(&["/bin/true"]));
    let alive = sleeper.try_wait().unwrap().is_none();
    let kept = foreign.is_dir();
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(eventually(GRACE, || fs::remove_dir(&foreign).is_ok()));
    assert!(alive, "a process of somebody else's cgroup was killed");
    assert!(kept, "somebody else's cgroup was removed");
}
