//! The paths older kernels take, forced on this one with `TINYJAIL_TEST_FALLBACKS`: legacy
//! clone instead of clone3, the time namespace entered by unshare, the process moved into
//! its cgroup by the parent, and the kill loop instead of cgroup.kill.

mod common;

use std::fs;

use common::*;

fn own_namespace(kind: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fallback_still_gives_the_whole_container() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let host_time = own_namespace("time");
    for fallback in [
        "clone3",
        "clone3-time",
        "into-cgroup",
        "cgroup-kill",
        "clone3,cgroup-kill",
    ] {
        let out = output(
            leaks
                .tinyjail()
                .env("TINYJAIL_TEST_FALLBACKS", fallback)
                .args(["--root".as_ref(), root.as_os_str(), "--".as_ref()])
                .args([
                    "/bin/sh",
                    "-c",
                    "echo $$; readlink /proc/$$/ns/time; grep '^0::' /proc/self/cgroup; \
                     mkdir /sys/fs/cgroup/sub && sleep 60 & sleep 0.1; echo $! > /sys/fs/cgroup/sub/cgroup.procs; \
                     ip -o link | grep -c UP; exit 5",
                ]),
        );
        assert_eq!(out.status.code(), Some(5), "{fallback}: {}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "1", "{fallback}: {text}");
        assert!(
            lines[1].starts_with("time:[") && lines[1] != host_time,
            "{fallback}: no new time namespace: {text}"
        );
        assert_eq!(lines[2], "0::/", "{fallback}: {text}");
        assert_eq!(lines[3], "1", "{fallback}: lo not up: {text}");
        // The sleep in the sub-cgroup too: killed, and the cgroups removed.
        leaks.assert_nothing_left(&format!("with fallback {fallback}"));
    }
}

#[test]
fn workdir_stays_inside_without_openat2_too() {
    require_root!();
    let leaks = LeakCheck::start();
    let host = Marker::new("fallback-host-dir");
    for fallback in ["", "openat2"] {
        // A directory as stdin is refused up front: through /proc/self/fd/0 it would be a
        // way out, for the workdir and for COMMAND alike.
        let stdin = fs::File::open(&host.dir).unwrap();
        let out = output(
            leaks
                .tinyjail()
                .env("TINYJAIL_TEST_FALLBACKS", fallback)
                .stdin(stdin)
                .args(["--root".as_ref(), shared_root().as_os_str()])
                .args([
                    "--workdir",
                    "/proc/self/fd/0",
                    "--",
                    "/bin/touch",
                    "escaped",
                ]),
        );
        refused(&out, "refusing standard input: is a directory");
        host.assert_untouched(&format!("stdin a directory, fallback {fallback:?}"));
        // A magic link is refused (or checked, without openat2); ".." stays inside.
        let out = output(
            leaks
                .tinyjail()
                .env("TINYJAIL_TEST_FALLBACKS", fallback)
                .args(["--root".as_ref(), shared_root().as_os_str()])
                .args(["--workdir", "/proc/self/fd/1", "--", "/bin/pwd"]),
        );
        assert_eq!(out.status.code(), Some(125), "{fallback}: {}", stderr(&out));
        let out = output(
            leaks
                .tinyjail()
                .env("TINYJAIL_TEST_FALLBACKS", fallback)
                .args(["--root".as_ref(), shared_root().as_os_str()])
                .args(["--workdir", "/tmp/../../../tmp", "--", "/bin/pwd"]),
        );
        assert_eq!(ok(&out), "/tmp\n");
    }
}
