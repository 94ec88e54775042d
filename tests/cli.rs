//! The command line: help, version, and bad input, which must change nothing.

mod common;

use std::fs;

use common::*;

#[test]
fn help_goes_to_stdout() {
    let _leaks = LeakCheck::start();
    for flag in ["-h", "--help"] {
        let out = run([flag]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.starts_with("Usage: tinyjail --root DIR"), "{text}");
        for option in [
            "--root",
            "--id",
            "--env",
            "--workdir",
            "--cgroup",
            "--use-host-network",
            "--network-bridge",
            "--ip-address",
            "--peer-ip-address",
            "--default-route",
            "--hostname",
            "--uid",
            "--gid",
        ] {
            assert!(text.contains(option), "help lacks {option}");
        }
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn version() {
    let _leaks = LeakCheck::start();
    for flag in ["-V", "--version"] {
        let out = run([flag]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            stdout(&out),
            format!("tinyjail {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let _leaks = LeakCheck::start().whole_mount_table();
    let root = shared_root().to_str().unwrap().to_owned();
    let file = scratch("a-file").join("f");
    fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--", "/bin/true"], "--root is required"),
        (&["/bin/true"], "--root is required"),
        (
            &["--root", "/does/not/exist", "--", "/bin/true"],
            "opening root /does/not/exist: No such file or directory (ENOENT)",
        ),
        (
            &["--root", file, "--", "/bin/true"],
            "Not a directory (ENOTDIR)",
        ),
        (
            &["--root", "/", "--", "/bin/true"],
            "--root /: is the host's /",
        ),
        (&["--root", "/..", "--", "/bin/true"], "is the host's /"),
        (
            &["--root", &root, "--frobnicate", "--", "/bin/true"],
            "unknown option --frobnicate",
        ),
        (&["--root", &root, "-x", "/bin/true"], "unknown option -x"),
        (&["--root"], "option --root: needs a value"),
        (&["--root", &root, "--id"], "option --id: needs a value"),
        (
            &["--root", &root, "--id", "abcdefghijklm", "--", "/bin/true"],
            "--id abcdefghijklm: must be 1 to 12 characters",
        ),
        (
            &["--root", &root, "--id", "a/b", "--", "/bin/true"],
            "--id a/b: must be",
        ),
        (
            &["--root", &root, "--id", "..", "--", "/bin/true"],
            "--id ..: must be",
        ),
        (
            &["--root", &root, "--id", "", "--", "/bin/true"],
            "--id must be 1 to 12",
        ),
        (
            &["--root", &root, "--env", "=x", "--", "/bin/true"],
            "--env =x: needs a KEY",
        ),
        (
            &["--root", &root, "--env", "", "--", "/bin/true"],
            "needs a KEY",
        ),
        (&["--root", &root], "COMMAND is missing"),
        (&["--root", &root, "--"], "COMMAND is missing"),
        (
            &["--root", &root, "--workdir", "tmp", "--", "/bin/true"],
            "--workdir tmp: must be an absolute path",
        ),
        (
            &["--root", &root, "--hostname", "", "--", "/bin/true"],
            "--hostname",
        ),
        (
            &["--root", &root, "--uid", "x", "--", "/bin/true"],
            "--uid x: must be a number",
        ),
        (
            &["--root", &root, "--gid", "-1", "--", "/bin/true"],
            "--gid -1: must be a number",
        ),
        (
            &[
                "--root",
                &root,
                "--use-host-network",
                "--network-bridge",
                "br0",
                "--",
                "/bin/true",
            ],
            "cannot be combined",
        ),
        (
            &["--root", &root, "--help=yes", "--", "/bin/true"],
            "takes no value",
        ),
        (
            &["--root", &root, "--cgroup", "pids.max", "--", "/bin/true"],
            "--cgroup pids.max: must be FILE=VALUE",
        ),
        (
            &["--root", &root, "--cgroup", "=1", "--", "/bin/true"],
            "--cgroup =1: FILE must be",
        ),
        (
            &[
                "--root",
                &root,
                "--cgroup",
                "cgroup.procs=1",
                "--",
                "/bin/true",
            ],
            "the cgroup.* files are tinyjail's own",
        ),
        (
            &["--root", &root, "--cgroup", "../x=1", "--", "/bin/true"],
            "FILE must be controller.name",
        ),
        (
            &["--root", &root, "--cgroup", "a/b.max=1", "--", "/bin/true"],
            "FILE may hold only",
        ),
        (
            &[
                "--root",
                &root,
                "--cgroup",
                "memory.max=1\n2",
                "--",
                "/bin/true",
            ],
            "must not contain a newline",
        ),
        (
            &[
                "--root",
                &root,
                "--cgroup-parent",
                "../up",
                "--",
                "/bin/true",
            ],
            "must stay inside the cgroup hierarchy",
        ),
        (
            &[
                "--root",
                &root,
                "--cgroup-parent",
                "a/../../b",
                "--",
                "/bin/true",
            ],
            "must stay inside",
        ),
        (
            &["--root", &root, "--cgroup", "pids.max=", "--", "/bin/true"],
            "--cgroup pids.max=: VALUE is empty",
        ),
        (
            &["--root", &root, "--hostname", "--", "/bin/true"],
            "option --hostname: needs a value",
        ),
        (
            &[
                "--root",
                &root,
                "--network-bridge",
                "br0",
                "--ip-address",
                "0.0.0.0/24",
                "--",
                "/bin/true",
            ],
            "--ip-address 0.0.0.0/24: is not a host address",
        ),
        (
            &[
                "--root",
                &root,
                "--peer-ip-address",
                "10.9.1.1/30",
                "--ip-address",
                "ff02::1/64",
                "--",
                "/bin/true",
            ],
            "--ip-address ff02::1/64: is a multicast address",
        ),
        (
            &[
                "--root",
                &root,
                "--peer-ip-address",
                "10.9.1.1/30",
                "--ip-address",
                "fd00::2/64",
                "--",
                "/bin/true",
            ],
            "--ip-address must be of the same family (IPv4 or IPv6) as --peer-ip-address",
        ),
    ];
    for (args, expected) in cases {
        let out = run(*args);
        refused(&out, expected);
    }
}

#[test]
fn root_owned_by_host_root_needs_explicit_ids() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(scratch("root-owned-by-0"));
    make_busybox_root(&root, 0);
    let args = ["--root", root.to_str().unwrap(), "--", "/bin/true"];
    refused(&leaks.run(args), "is owned by host UID 0; chown -R it");
    let out = leaks.run([
        "--root",
        root.to_str().unwrap(),
        "--uid",
        "0",
        "--gid",
        "0",
        "--",
        "/bin/id",
        "-u",
    ]);
    assert_eq!(ok(&out), "0\n");
}
