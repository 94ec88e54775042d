//! cgroup v2 on the test host: what works here. The host's cgroup2 hierarchy has no
//! controllers (cgroup v1 holds cpu, memory and pids), so limits are tested in the VM
//! (tests/vm); here: the cgroup is made, entered, delegated and removed on every way out.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Where the host shows its cgroup2 hierarchy (hybrid: /sys/fs/cgroup/unified).
fn hierarchy() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        (fields.get(dash + 1) == Some(&"cgroup2")).then(|| PathBuf::from(fields[4]))
    })
}

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
    let root = shared_root();
    let script = "cat /proc/self/cgroup | grep '^0::'; stat -c '%u' /sys/fs/cgroup /sys/fs/cgroup/cgroup.procs; \
                  mkdir /sys/fs/cgroup/inner && echo $$ > /sys/fs/cgroup/inner/cgroup.procs && grep '^0::' /proc/self/cgroup";
    let mut child = tinyjail()
        .args(args_for(
            root,
            "cg-made",
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
    // From the host: the cgroup is <hierarchy>/tinyjail/cg-made, owned by the mapped user.
    let dir = h.join("tinyjail/cg-made");
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

    kill_inner(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(!dir.exists(), "the cgroup and its sub-cgroup must be gone");
}

fn kill_inner(tinyjail_pid: u32) {
    let inner =
        fs::read_to_string(format!("/proc/{tinyjail_pid}/task/{tinyjail_pid}/children")).unwrap();
    let pid = inner.split_whitespace().next().unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", pid])
        .status()
        .unwrap();
}

#[test]
fn cgroup_is_removed_on_every_way_out() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let root = shared_root();
    let cases: &[(&str, &[&str], Option<i32>)] = &[
        (
            "cg-exit",
            &["--", "/bin/sh", "-c", "sleep 30 & exit 3"],
            Some(3),
        ),
        ("cg-notfound", &["--", "/no/such"], Some(127)),
        (
            "cg-setup",
            &["--workdir", "/missing", "--", "/bin/true"],
            Some(125),
        ),
    ];
    for (id, rest, code) in cases {
        let out = run(args_for(root, id, rest));
        assert_eq!(out.status.code(), *code, "{id}: {}", stderr(&out));
        assert!(
            !h.join("tinyjail").join(id).exists(),
            "{id} left its cgroup"
        );
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
    let option = format!("{controller}.max=10");
    let out = run(args_for(
        shared_root(),
        "cg-missing",
        &["--cgroup", &option, "--", "/bin/true"],
    ));
    refused(&out, &format!("--cgroup {option}: controller is not available in cgroup v2 here; on a hybrid host cgroup v1 may hold it"));
    assert!(!h.join("tinyjail/cg-missing").exists());
}

#[test]
fn custom_parent_is_used_and_kept() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let out = run(args_for(
        shared_root(),
        "cg-custom",
        &[
            "--cgroup-parent",
            "/tj-test-parent/deeper",
            "--",
            "/bin/sh",
            "-c",
            "cat /proc/self/cgroup",
        ],
    ));
    assert!(ok(&out).lines().any(|l| l == "0::/"));
    assert!(h.join("tj-test-parent/deeper").is_dir());
    assert!(!h.join("tj-test-parent/deeper/cg-custom").exists());
    fs::remove_dir(h.join("tj-test-parent/deeper")).unwrap();
    fs::remove_dir(h.join("tj-test-parent")).unwrap();
}

#[test]
fn running_id_is_refused_and_stale_cgroups_are_swept() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let root = shared_root();
    let mut first = tinyjail()
        .args(args_for(
            root,
            "cg-busy",
            &["--", "/bin/sh", "-c", "echo up; sleep 30"],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = [0u8; 3];
    first.stdout.as_mut().unwrap().read_exact(&mut up).unwrap();
    let out = run(args_for(root, "cg-busy", &["--", "/bin/true"]));
    refused(&out, "is the ID of a running container");

    // tinyjail killed outright: its container dies with it, and the empty cgroup it could
    // not remove is removed by the next start.
    let tinyjail_pid = first.id();
    std::process::Command::new("kill")
        .args(["-KILL", &tinyjail_pid.to_string()])
        .status()
        .unwrap();
    first.wait().unwrap();
    let dir = h.join("tinyjail/cg-busy");
    let deadline = Instant::now() + Duration::from_secs(5);
    while fs::read_to_string(dir.join("cgroup.procs"))
        .map(|p| !p.is_empty())
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "container processes outlived tinyjail"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    ok(&run(args_for(root, "cg-other", &["--", "/bin/true"])));
    assert!(!dir.exists(), "the stale cgroup was not swept");
}

#[test]
fn signals_are_forwarded_or_end_a_container_that_does_not_take_them() {
    require_cgroup2!();
    let h = hierarchy().unwrap();
    let root = shared_root();
    // A handler: the first TERM reaches it.
    let mut child = tinyjail()
        .args(args_for(
            root,
            "cg-sig1",
            &[
                "--",
                "/bin/sh",
                "-c",
                "trap 'exit 42' TERM; echo up; while :; do sleep 0.1; done",
            ],
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = [0u8; 3];
    child.stdout.as_mut().unwrap().read_exact(&mut up).unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(42));
    assert!(!h.join("tinyjail/cg-sig1").exists());

    // No handler: PID 1 would ignore TERM, so tinyjail ends the container, as TERM ends any
    // other process; the status says TERM. Signals that arrive together count too.
    for (id, signal, code) in [("cg-sig2", "-TERM", 143), ("cg-sig3", "-INT", 130)] {
        let mut child = tinyjail()
            .args(args_for(root, id, &["--", "/bin/sleep", "30"]))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(code), "{signal}");
    }
    assert!(!h.join("tinyjail/cg-sig2").exists() && !h.join("tinyjail/cg-sig3").exists());
}

#[test]
fn stats_line() {
    require_cgroup2!();
    let out = run(args_for(
        shared_root(),
        "cg-stats",
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
