//! Many runs, back to back, in parallel and killed at random moments: afterwards the host's
//! mount table is as it was, no cgroup of these runs is left below <hierarchy>/tinyjail, and
//! no process of theirs still runs. Bounded: each test takes seconds, not minutes, on two
//! busy cores. The tests of this file run one at a time.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;

/// One stress test at a time: they would only slow each other down.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A prefix for the container IDs of one test: 5 characters, unique to this test process,
/// so that leftovers can be told from other runs on the host (IDs are at most 12).
fn prefix(test: char) -> String {
    format!("{test}{:04x}", std::process::id() & 0xffff)
}

/// Where the host shows its cgroup2 hierarchy (read only; tinyjail mounts its own).
fn hierarchy() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        let dash = fields.iter().position(|f| *f == "-")?;
        (fields.get(dash + 1) == Some(&"cgroup2")).then(|| PathBuf::from(fields[4]))
    })
}

/// The cgroups below <hierarchy>/tinyjail whose name starts with `prefix`.
fn cgroups_left(prefix: &str) -> Vec<String> {
    let Some(h) = hierarchy() else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(h.join("tinyjail")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// The state letter of a process (`R`, `S`, `Z`, ...) and its parent; `None` once gone.
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut after = stat[stat.rfind(')')? + 2..].split_whitespace();
    let state = after.next()?.chars().next()?;
    let ppid = after.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is a tinyjail of this test: its command line holds `--id <prefix>...`.
fn is_our_tinyjail(pid: u32, prefix: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"--id" && w[1].starts_with(prefix.as_bytes()))
}

/// Live processes left by the runs of `prefix`: in one of their cgroups, a tinyjail of theirs
/// still running, or a descendant of one. Zombies are dead already: their new parent reaps
/// them when it gets to it.
fn processes_left(prefix: &str) -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Some((state, _)) = stat_of(pid) else {
            continue;
        };
        if pid == me || matches!(state, 'Z' | 'X') {
            continue;
        }
        let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cgroup
            .lines()
            .any(|l| l.starts_with("0::") && l.contains(&format!("/tinyjail/{prefix}")))
        {
            found.push(format!(
                "{pid} in its container's cgroup: {}",
                cgroup.trim()
            ));
            continue;
        }
        // The process itself or an ancestor is one of these tinyjails.
        let mut at = pid;
        for _ in 0..64 {
            if is_our_tinyjail(at, prefix) {
                found.push(format!("{pid} below tinyjail {at}"));
                break;
            }
            match stat_of(at) {
                Some((_, ppid)) if ppid > 1 => at = ppid,
                _ => break,
            }
        }
    }
    found
}

/// The host's mount table as `HostState` takes it, less the named network namespaces that
/// `ip netns` pins under /run/netns: other tools on a shared test host add and remove those
/// at any moment, and tinyjail makes none.
struct HostMounts(Vec<String>);

impl HostMounts {
    fn take() -> HostMounts {
        let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
            .filter(|l| {
                !l.split_whitespace()
                    .nth(2)
                    .is_some_and(|at| at.starts_with("/run/netns/"))
            })
            .collect();
        mounts.sort();
        HostMounts(mounts)
    }

    fn assert_unchanged(&self) {
        let now = HostMounts::take();
        let added: Vec<_> = now.0.iter().filter(|m| !self.0.contains(m)).collect();
        let gone: Vec<_> = self.0.iter().filter(|m| !now.0.contains(m)).collect();
        assert!(
            added.is_empty() && gone.is_empty(),
            "host mounts changed: +{added:#?} -{gone:#?}"
        );
    }
}

/// Asserts that the runs of `prefix` left nothing: mounts, cgroups, processes.
fn assert_nothing_left(before: &HostMounts, prefix: &str) {
    before.assert_unchanged();
    let cgroups = cgroups_left(prefix);
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    let processes = processes_left(prefix);
    assert!(processes.is_empty(), "processes left: {processes:#?}");
}

/// Waits up to `limit` for `check` to hold.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start(root: &Path, id: &str, command: &[&str]) -> Child {
    tinyjail()
        .arg("--root")
        .arg(root)
        .args(["--id", id, "--"])
        .args(command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tinyjail")
}

fn finish(child: Child, id: &str) -> Output {
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{id}: stdout {:?} stderr {:?}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// xorshift64*: a small deterministic generator, so that a failing sequence of kill delays
/// can be run again (`TJ_STRESS_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn five_hundred_runs_back_to_back_leave_nothing() {
    require_root!();
    let _serial = serial();
    let root = shared_root();
    let prefix = prefix('b');
    let before = HostMounts::take();
    let started = Instant::now();
    for i in 0..500 {
        let id = format!("{prefix}{i}");
        finish(start(root, &id, &["/bin/true"]), &id);
    }
    let took = started.elapsed();
    eprintln!(
        "500 runs in {:.2} s ({:.1} ms each)",
        took.as_secs_f64(),
        took.as_secs_f64() * 2.0
    );
    assert_nothing_left(&before, &prefix);
}

#[test]
fn sixteen_in_parallel_ten_rounds_leave_nothing() {
    require_root!();
    let _serial = serial();
    let root = shared_root();
    let prefix = prefix('p');
    let before = HostMounts::take();
    let started = Instant::now();
    for round in 0..10 {
        let children: Vec<(String, Child)> = (0..16)
            .map(|n| {
                let id = format!("{prefix}{round}-{n}");
                // Some work inside, so that the runs overlap.
                let child = start(root, &id, &["/bin/sh", "-c", "echo $$; ls / >/dev/null"]);
                (id, child)
            })
            .collect();
        for (id, child) in children {
            let out = finish(child, &id);
            assert_eq!(stdout(&out), "1\n", "{id}");
        }
    }
    eprintln!(
        "16 x 10 parallel runs in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_nothing_left(&before, &prefix);
}

#[test]
fn killed_at_random_moments_leaves_nothing_after_the_next_start() {
    require_root!();
    let _serial = serial();
    let root = shared_root();
    let prefix = prefix('k');
    let seed = std::env::var("TJ_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7a3b_91c4_5d2e_f068u64);
    let mut rng = Rng(seed | 1);
    let before = HostMounts::take();
    let started = Instant::now();
    let (mut killed, mut finished, mut stale) = (0, 0, 0);
    for i in 0..100 {
        let id = format!("{prefix}{i}");
        let delay = rng.below(31);
        let mut child = start(root, &id, &["/bin/sh", "-c", "sleep 0.05; true"]);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        match out.status.code() {
            None => killed += 1,
            Some(0) => finished += 1,
            // Killed so early that the container's setup saw tinyjail gone, or after it ended.
            Some(code) => panic!(
                "{id} (killed after {delay} ms): exit {code}, stderr {:?} (seed {seed:#x})",
                stderr(&out)
            ),
        }
        // The container dies with tinyjail; its empty cgroup may stay until the next start.
        let gone = eventually(Duration::from_secs(2), || processes_left(&id).is_empty());
        assert!(
            gone,
            "{id} (killed after {delay} ms, seed {seed:#x}): processes left 2 s later: {:#?}",
            processes_left(&id)
        );
        before.assert_unchanged();
        if !cgroups_left(&id).is_empty() {
            stale += 1;
        }
    }
    // One more normal start sweeps what the killed runs left. Another tinyjail starting at the
    // same moment (a test elsewhere) can make a start skip its sweep: a few are allowed.
    let mut sweeps = 0;
    while !cgroups_left(&prefix).is_empty() && sweeps < 5 {
        let id = format!("{prefix}end{sweeps}");
        finish(start(root, &id, &["/bin/true"]), &id);
        sweeps += 1;
    }
    eprintln!(
        "100 kills ({killed} killed, {finished} finished first, {stale} left a stale cgroup) \
         in {:.2} s; {sweeps} sweeping start(s)",
        started.elapsed().as_secs_f64()
    );
    assert_nothing_left(&before, &prefix);
}
