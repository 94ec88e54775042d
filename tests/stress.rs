//! Many runs, back to back, in parallel and killed at random moments: afterwards the host's
//! mount table is as it was, no cgroup of these runs is left below <hierarchy>/tinyjail, and
//! no process of theirs still runs (the common `LeakCheck`). Bounded: each test takes
//! seconds, not minutes, on two busy cores, and each run at most `DEADLINE`. The tests of
//! this file run one at a time.

mod common;

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;

/// One stress test at a time: they would only slow each other down.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
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
    let out = wait_bounded(child);
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
    let leaks = LeakCheck::start().whole_mount_table();
    let root = shared_root();
    let started = Instant::now();
    for _ in 0..500 {
        let id = leaks.id();
        finish(start(root, &id, &["/bin/true"]), &id);
    }
    let took = started.elapsed();
    eprintln!(
        "500 runs in {:.2} s ({:.1} ms each)",
        took.as_secs_f64(),
        took.as_secs_f64() * 2.0
    );
    leaks.assert_nothing_left("after 500 runs");
}

#[test]
fn sixteen_in_parallel_ten_rounds_leave_nothing() {
    require_root!();
    let _serial = serial();
    let leaks = LeakCheck::start().whole_mount_table();
    let root = shared_root();
    let started = Instant::now();
    for _ in 0..10 {
        let children: Vec<(String, Child)> = (0..16)
            .map(|_| {
                let id = leaks.id();
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
    leaks.assert_nothing_left("after 10 rounds of 16");
}

#[test]
fn killed_at_random_moments_leaves_nothing_after_the_next_start() {
    require_root!();
    let _serial = serial();
    let leaks = LeakCheck::start().whole_mount_table();
    let root = shared_root();
    let seed = std::env::var("TJ_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7a3b_91c4_5d2e_f068u64);
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let (mut killed, mut finished, mut stale) = (0, 0, 0);
    for _ in 0..100 {
        let id = leaks.id();
        // Half the kills within the first 5 ms, where tinyjail is still setting up (a start
        // takes a few ms), the other half up to 30 ms, while the container runs.
        let delay = if rng.below(2) == 0 {
            rng.below(5_000)
        } else {
            rng.below(30_000)
        };
        let mut child = start(root, &id, &["/bin/sh", "-c", "sleep 0.05; true"]);
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let out = wait_bounded(child);
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
        assert!(
            eventually(GRACE, || leaks.processes_left().is_empty()),
            "{id} (killed after {delay} ms, seed {seed:#x}): processes left: {:#?}",
            leaks.processes_left()
        );
        let cgroup = format!("/{id}");
        if leaks.cgroups_left().iter().any(|c| c.ends_with(&cgroup)) {
            stale += 1;
        }
    }
    // One more normal start sweeps what the killed runs left.
    leaks.sweep();
    eprintln!(
        "100 kills ({killed} killed, {finished} finished first, {stale} left a stale cgroup) \
         in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    leaks.assert_nothing_left("after 100 kills and the sweep");
}
