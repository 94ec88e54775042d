//! The root's owner changes the tree while tinyjail sets up: a mount point that flips
//! between a directory and a symlink to the host, many times a millisecond. Whatever moment
//! tinyjail looks, it must either mount inside the root or refuse with one line; nothing may
//! ever be mounted on, or written to, the host directory the link names. Bounded: a fixed
//! number of runs, and the flipping thread stops with them.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use common::*;

/// Runs per mount point.
const RUNS: usize = 40;

/// Swaps the names `a` and `b` in one step (`renameat2(RENAME_EXCHANGE)`): at no moment is
/// either name missing, so tinyjail always finds the directory or the link.
fn exchange(a: &Path, b: &Path) {
    let a = CString::new(a.as_os_str().as_bytes()).unwrap();
    let b = CString::new(b.as_os_str().as_bytes()).unwrap();
    // SAFETY: both paths are NUL-terminated strings that live across the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(rc, 0, "renameat2: {}", std::io::Error::last_os_error());
}

/// Flips `root/name` between the real directory and a symlink to `target` until `stop`.
fn flip(root: &Path, name: &str, target: &Path, stop: &AtomicBool) {
    let real = root.join(name);
    let link = root.join(format!("{name}.link"));
    symlink(target, &link).unwrap();
    let mut flips = 0u64;
    while !stop.load(Ordering::Relaxed) {
        exchange(&real, &link);
        flips += 1;
        if flips.is_multiple_of(2) {
            thread::yield_now();
        }
    }
    if flips % 2 == 1 {
        exchange(&real, &link);
    }
    fs::remove_file(&link).unwrap();
}

#[test]
fn mount_points_swapped_for_host_links_during_setup() {
    require_root!();
    let leaks = LeakCheck::start().whole_mount_table();
    for name in ["proc", "dev", "sys"] {
        let host = Marker::new(&format!("race-{name}-host"));
        let root = leaks.watch(own_root(&format!("race-{name}")));
        let stop = Arc::new(AtomicBool::new(false));
        let flipper = {
            let (root, target, stop) = (root.clone(), host.dir.clone(), stop.clone());
            thread::spawn(move || flip(&root, name, &target, &stop))
        };

        let (mut started, mut refused_runs) = (0, 0);
        for _ in 0..RUNS {
            let out = leaks.run([
                "--root".as_ref(),
                root.as_os_str(),
                "--".as_ref(),
                "/bin/sh".as_ref(),
                "-c".as_ref(),
                // Inside, the mount point is whatever tinyjail mounted there, or nothing.
                "echo x > /dev/null; ls /proc/1 >/dev/null; true".as_ref(),
            ]);
            match out.status.code() {
                Some(0) => started += 1,
                Some(125) | Some(1) | Some(2) => {
                    // Refused: one line that names the mount point, or the container saw
                    // no /dev/null or /proc while the link stood (tinyjail left it alone).
                    let err = stderr(&out);
                    if out.status.code() == Some(125) {
                        assert_eq!(err.lines().count(), 1, "{name}: {err}");
                        assert!(err.starts_with("tinyjail: "), "{name}: {err}");
                    }
                    refused_runs += 1;
                }
                other => panic!("{name}: exit {other:?}: {}", stderr(&out)),
            }
        }
        stop.store(true, Ordering::Relaxed);
        flipper.join().unwrap();

        host.assert_untouched(&format!("/{name} flipping to {}", host.dir.display()));
        leaks.assert_nothing_left(&format!("after flipping /{name}"));
        assert!(root.join(name).is_dir());
        eprintln!("/{name}: {started} runs started, {refused_runs} refused or saw no mount");
    }
}
