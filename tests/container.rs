//! The container as its process sees it, and what the host sees of it.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[test]
fn command_is_pid_1_with_mapped_root() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = ok(&leaks.run_in_root(&["/bin/sh", "-c", "echo $$; id -u; id -g; id"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    assert_eq!(lines[1], "0");
    assert_eq!(lines[2], "0");
    // No supplementary groups at all: the host's are dropped, and none can be set inside.
    assert_eq!(lines[3], "uid=0(root) gid=0(root)");
}

#[test]
fn ids_other_than_the_owner_are_nobody() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = ok(&leaks.run_in_root(&["/bin/cat", "/proc/self/uid_map", "/proc/self/gid_map"]));
    let maps: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(maps, [["0", "1000", "1"], ["0", "1000", "1"]]);
    // The device nodes belong to host root, which is unmapped: nobody.
    let out = ok(&leaks.run_in_root(&["/bin/stat", "-c", "%u:%g", "/dev/null"]));
    assert_eq!(out.trim(), "65534:65534");
    let out = ok(&leaks.run_in_root(&["/bin/cat", "/proc/self/setgroups"]));
    assert_eq!(out.trim(), "deny");
}

#[test]
fn host_sees_the_mapped_user() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("host-sees-mapped-user"));
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--".as_ref(),
        "/bin/touch".as_ref(),
        "/tmp/made-inside".as_ref(),
    ]);
    ok(&out);
    let meta = fs::metadata(root.join("tmp/made-inside")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (OWNER, OWNER));

    // The running process, seen from the host, has the owner's IDs.
    let child = leaks
        .tinyjail()
        .args([
            "--root".as_ref(),
            root.as_os_str(),
            "--".as_ref(),
            "/bin/sleep".as_ref(),
            "30".as_ref(),
        ])
        .spawn()
        .unwrap();
    let sleep = first_process_named(child.id(), "sleep");
    let inner = fs::read_to_string(format!("/proc/{sleep}/status")).unwrap();
    send("TERM", child.id());
    assert_eq!(wait_bounded(child).status.code(), Some(128 + 15));
    let uid_line = inner.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let gid_line = inner.lines().find(|l| l.starts_with("Gid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().collect::<Vec<_>>(),
        ["Uid:", "1000", "1000", "1000", "1000"]
    );
    assert_eq!(
        gid_line.split_whitespace().collect::<Vec<_>>(),
        ["Gid:", "1000", "1000", "1000", "1000"]
    );
    let groups = inner.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert_eq!(
        groups.trim(),
        "Groups:",
        "no host groups may reach the container"
    );
}

/// Waits until the container's first process (the child of tinyjail `tinyjail_pid`) runs
/// `name`, and gives its host PID.
fn first_process_named(tinyjail_pid: u32, name: &str) -> u32 {
    let mut found = None;
    let running = eventually(DEADLINE, || {
        found = children_of(tinyjail_pid).into_iter().find(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == name)
        });
        found.is_some()
    });
    assert!(running, "the container's first process never ran {name}");
    found.unwrap()
}

/// Sends `signal` (a name as kill(1) takes it: TERM, USR1, ...) to `pid`.
fn send(signal: &str, pid: u32) {
    let sent = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -s {signal} {pid}");
}

#[test]
fn hostname_default_and_chosen() {
    require_root!();
    let leaks = LeakCheck::start();
    assert_eq!(
        ok(&leaks.run_in_root(&["/bin/hostname"])).trim(),
        "tinyjail"
    );
    let root = shared_root();
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--hostname".as_ref(),
        "box-1".as_ref(),
        "hostname".as_ref(),
    ]);
    assert_eq!(ok(&out).trim(), "box-1");
}

#[test]
fn only_loopback_and_it_is_up() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = ok(&leaks.run_in_root(&["/bin/ip", "-o", "link"]));
    let links: Vec<&str> = out.lines().collect();
    assert_eq!(links.len(), 1, "{out}");
    assert!(
        links[0].starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"),
        "{out}"
    );
    ok(&leaks.run_in_root(&["/bin/ping", "-c1", "-W2", "127.0.0.1"]));
}

#[test]
fn proc_shows_only_the_container() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = ok(&leaks.run_in_root(&["/bin/sh", "-c", "ls -d /proc/[0-9]*"]));
    let pids: Vec<u32> = out
        .lines()
        .map(|l| l.trim_start_matches("/proc/").parse().unwrap())
        .collect();
    assert!(pids.contains(&1), "{out}");
    assert!(pids.len() <= 2 && pids.iter().all(|&p| p < 10), "{out}");
}

#[test]
fn dev_is_minimal_and_works() {
    require_root!();
    let leaks = LeakCheck::start();
    let script =
        "echo hi > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c \
                  && ls /dev && test -c /dev/pts/ptmx && test -d /dev/shm && echo x > /dev/shm/f \
                  && readlink /dev/fd && ! echo x > /dev/full";
    let out = ok(&leaks.run_in_root(&["/bin/sh", "-c", script]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["4", "4"]);
    let names: Vec<&str> = lines[2..lines.len() - 1].to_vec();
    assert_eq!(
        names,
        [
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
            "tty", "urandom", "zero"
        ]
    );
    assert_eq!(lines[lines.len() - 1], "/proc/self/fd");
}

#[test]
fn sys_is_read_only() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = ok(&leaks.run_in_root(&[
        "/bin/sh",
        "-c",
        "ls /sys/class/net; touch /sys/x 2>/dev/null || echo refused",
    ]));
    assert_eq!(out, "lo\nrefused\n");
}

#[test]
fn environment_is_exactly_what_was_given() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let out = output(
        leaks
            .tinyjail()
            .env_clear()
            .env("FROM_HOST", "host value")
            .env("SECRET", "must not leak")
            .args(["--root".as_ref(), root.as_os_str()])
            .args([
                "--env",
                "A=1",
                "--env",
                "FROM_HOST",
                "--env",
                "UNSET_ON_HOST",
                "--env=B=x=y",
                "--",
                "/bin/env",
            ]),
    );
    let out = ok(&out);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "A=1",
            "FROM_HOST=host value",
            "B=x=y"
        ]
    );
}

#[test]
fn path_can_be_replaced_and_is_used_for_the_search() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("path-search"));
    fs::create_dir_all(root.join("opt/tools")).unwrap();
    fs::write(
        root.join("opt/tools/hello"),
        "#!/bin/sh\necho hello from $0\n",
    )
    .unwrap();
    fs::set_permissions(
        root.join("opt/tools/hello"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--env".as_ref(),
        "PATH=/nowhere:/opt/tools".as_ref(),
        "--".as_ref(),
        "hello".as_ref(),
    ]);
    assert_eq!(ok(&out), "hello from /opt/tools/hello\n");
}

#[test]
fn argv_zero_is_the_command_as_given() {
    require_root!();
    let leaks = LeakCheck::start();
    // PID 1's argv as the kernel holds it: NUL-separated.
    let out = ok(&leaks.run_in_root(&["sh", "-c", "cat /proc/1/cmdline; true", "zero"]));
    assert_eq!(out, "sh\0-c\0cat /proc/1/cmdline; true\0zero\0");
    assert_eq!(
        ok(&leaks.run_in_root(&["/bin/sh", "-c", "echo \"$0|$1|$2\"", "zero", "a b", ""])),
        "zero|a b|\n"
    );
}

#[test]
fn workdir_default_and_chosen() {
    require_root!();
    let leaks = LeakCheck::start();
    assert_eq!(ok(&leaks.run_in_root(&["/bin/pwd"])), "/\n");
    let root = shared_root();
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--workdir".as_ref(),
        "/tmp".as_ref(),
        "pwd".as_ref(),
    ]);
    assert_eq!(ok(&out), "/tmp\n");
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--workdir".as_ref(),
        "/missing".as_ref(),
        "pwd".as_ref(),
    ]);
    refused(
        &out,
        "changing to workdir /missing: No such file or directory (ENOENT)",
    );
}

#[test]
fn exit_status_is_the_commands() {
    require_root!();
    let leaks = LeakCheck::start();
    for code in [0, 1, 42, 255] {
        let out = leaks.run_in_root(&["/bin/sh", "-c", &format!("exit {code}")]);
        assert_eq!(out.status.code(), Some(code));
    }
}

#[test]
fn killed_by_a_signal_gives_128_plus_n() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let mut child = leaks
        .tinyjail()
        .args(["--root".as_ref(), root.as_os_str(), "--".as_ref()])
        .args(["/bin/sh", "-c", "echo ready; while :; do sleep 1; done"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut child);
    // PID 1 of a namespace takes from outside only KILL, STOP and signals it handles.
    let inner = children_of(child.id())[0];
    send("KILL", inner);
    assert_eq!(wait_bounded(child).status.code(), Some(137));
}

/// The signals tinyjail forwards to the container's first process, and their numbers.
const FORWARDED: [(&str, i32); 7] = [
    ("TERM", 15),
    ("INT", 2),
    ("HUP", 1),
    ("QUIT", 3),
    ("USR1", 10),
    ("USR2", 12),
    ("WINCH", 28),
];

/// Starts `tinyjail ARGS` with stdout and stderr piped and every signal at its default
/// disposition: a signal tinyjail was started with ignored stays ignored and is not
/// forwarded, and a test run started by a non-interactive shell's `&` ignores INT and QUIT.
fn spawn_with_default_signals(leaks: &LeakCheck, args: &[&str]) -> std::process::Child {
    Command::new("env")
        .arg("--default-signal")
        .arg(env!("CARGO_BIN_EXE_tinyjail"))
        .args(["--id", &leaks.id()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn each_forwarded_signal_reaches_a_first_process_that_traps_it() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root().to_str().unwrap();
    for (name, number) in FORWARDED {
        // A status of its own for each signal, and not 128 + N: the trap ended the shell.
        let code = 60 + number;
        let script =
            format!("trap 'echo got {name}; exit {code}' {name}; echo ready; sleep 100 & wait");
        let mut child =
            spawn_with_default_signals(&leaks, &["--root", root, "--", "/bin/sh", "-c", &script]);
        wait_ready(&mut child);
        send(name, child.id());
        let out = wait_bounded(child);
        assert_eq!(
            (out.status.code(), stdout(&out).as_str()),
            (Some(code), format!("got {name}\n").as_str()),
            "SIG{name}: stderr {:?}",
            stderr(&out)
        );
    }
}

#[test]
fn a_first_process_without_a_handler_is_ended_as_the_signal_ends_a_program() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root().to_str().unwrap();
    // The kernel spares PID 1 of a namespace the signals it does not handle, so these four
    // would do nothing to sleep: tinyjail ends the container and exits with 128 + N.
    for (name, number) in &FORWARDED[..4] {
        let mut child = spawn_with_default_signals(
            &leaks,
            &[
                "--root",
                root,
                "--",
                "/bin/sh",
                "-c",
                "echo ready; exec sleep 100",
            ],
        );
        wait_ready(&mut child);
        first_process_named(child.id(), "sleep");
        send(name, child.id());
        let out = wait_bounded(child);
        assert_eq!(
            out.status.code(),
            Some(128 + number),
            "SIG{name}: stderr {:?}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "SIG{name}");
    }
}

#[test]
fn segfault_inside_is_128_plus_11() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = leaks.run_in_root(&["/bin/sh", "-c", "kill -SEGV $$; sleep 1; exit 3"]);
    // PID 1 is protected from its own namespace's signals: the shell goes on.
    assert_eq!(out.status.code(), Some(3));
    let out = leaks.run_in_root(&["/bin/sh", "-c", "sh -c 'kill -SEGV $$'; echo $?"]);
    assert_eq!(ok(&out), "139\n");
}

#[test]
fn not_found_is_127_and_not_executable_is_126() {
    require_root!();
    let leaks = LeakCheck::start();
    let out = leaks.run_in_root(&["/no/such/command"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "tinyjail: executing /no/such/command: No such file or directory (ENOENT)\n"
    );

    let out = leaks.run_in_root(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        stderr(&out).contains("not found in the container's PATH"),
        "{}",
        stderr(&out)
    );

    let out = leaks.run_in_root(&["/etc/passwd"]);
    assert_eq!(out.status.code(), Some(126));
    assert_eq!(
        stderr(&out),
        "tinyjail: executing /etc/passwd: Permission denied (EACCES); no execute permission, \
         or the root lies on a noexec mount\n"
    );
}

#[test]
fn missing_interpreter_gets_a_hint() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("missing-interpreter"));
    fs::write(
        root.join("bin/needs-python"),
        "#!/usr/bin/python3\nprint(1)\n",
    )
    .unwrap();
    fs::set_permissions(
        root.join("bin/needs-python"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--".as_ref(),
        "needs-python".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(126));
    assert!(
        stderr(&out).contains("interpreter or dynamic loader is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_host_descriptor_reaches_the_container() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = shared_root();
    let script = format!(
        "exec 5</etc/hostname 7>/dev/null; exec {} --id {} --root {} -- /bin/ls /proc/self/fd",
        env!("CARGO_BIN_EXE_tinyjail"),
        leaks.id(),
        root.display()
    );
    let out = output(
        Command::new("/bin/bash")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null()),
    );
    // 0, 1, 2 and the directory ls itself opened.
    assert_eq!(
        ok(&out).split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
}

#[test]
fn nothing_stays_mounted_on_the_host() {
    require_root!();
    let leaks = LeakCheck::start().whole_mount_table();
    ok(&leaks.run_in_root(&["/bin/true"]));
    let _ = leaks.run_in_root(&["/no/such/command"]);
    let _ = leaks.run_in_root(&["/bin/sh", "-c", "exit 3"]);
}

#[test]
fn symlinked_mount_points_are_refused() {
    require_root!();
    let leaks = LeakCheck::start().whole_mount_table();
    for dir in ["proc", "sys", "dev"] {
        let root = leaks.watch(own_root(&format!("symlinked-{dir}")));
        fs::remove_dir(root.join(dir)).unwrap();
        std::os::unix::fs::symlink("/etc", root.join(dir)).unwrap();
        chown(&root.join(dir), OWNER);
        let out = leaks.run([
            "--root".as_ref(),
            root.as_os_str(),
            "--".as_ref(),
            "/bin/true".as_ref(),
        ]);
        refused(&out, &format!("refusing mount point /{dir}: is a symlink"));
    }
}

#[test]
fn missing_mount_points_are_made() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("missing-mount-points"));
    for dir in ["proc", "sys", "dev"] {
        fs::remove_dir(root.join(dir)).unwrap();
    }
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--".as_ref(),
        "/bin/sh".as_ref(),
        "-c".as_ref(),
        "test -e /proc/1 && test -c /dev/null && ls /sys/class/net".as_ref(),
    ]);
    assert_eq!(ok(&out), "lo\n");
    let meta = fs::metadata(root.join("proc")).unwrap();
    assert_eq!(meta.uid(), OWNER);
}

#[test]
fn init_reaps_orphans_forwards_signals_and_keeps_the_status() {
    require_root!();
    let leaks = LeakCheck::start();
    // Orphans (the double-forked sleeps) are reparented to PID 1 and must be reaped.
    let script = "(sleep 0.1 &); (sleep 0.1 &); sleep 0.5; \
                  ps -o stat,comm | grep -c '^Z' ; cat /proc/1/comm; exit 7";
    let root = shared_root();
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--init".as_ref(),
        "--".as_ref(),
        "/bin/sh".as_ref(),
        "-c".as_ref(),
        script.as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\ninit\n");

    // TERM reaches COMMAND, which is not PID 1 and so dies of it by default.
    let mut child = leaks
        .tinyjail()
        .args([
            "--root".as_ref(),
            root.as_os_str(),
            "--init".as_ref(),
            "--".as_ref(),
        ])
        .args(["/bin/sh", "-c", "echo ready; exec sleep 30"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut child);
    std::thread::sleep(Duration::from_millis(100));
    send("TERM", child.id());
    assert_eq!(wait_bounded(child).status.code(), Some(128 + 15));

    // USR1 reaches COMMAND too, which traps it: its status is tinyjail's.
    let mut child = spawn_with_default_signals(
        &leaks,
        &[
            "--root",
            root.to_str().unwrap(),
            "--init",
            "--",
            "/bin/sh",
            "-c",
            "trap 'echo got USR1; exit 70' USR1; echo ready; sleep 100 & wait",
        ],
    );
    wait_ready(&mut child);
    send("USR1", child.id());
    let out = wait_bounded(child);
    assert_eq!(out.status.code(), Some(70), "{}", stderr(&out));
    assert_eq!(stdout(&out), "got USR1\n");

    // Nothing of the host shows through the init's /proc entries.
    let out = output(
        leaks
            .tinyjail()
            .env("TJ_HOST_SECRET", "must-not-leak")
            .args([
                "--root".as_ref(),
                root.as_os_str(),
                "--init".as_ref(),
                "--".as_ref(),
            ])
            .args([
                "/bin/sh",
                "-c",
                "cat /proc/1/cmdline /proc/1/environ 2>/dev/null | tr -d '\\0'; echo",
            ]),
    );
    assert_eq!(ok(&out), "\n");
    let out = leaks.run([
        "--root".as_ref(),
        root.as_os_str(),
        "--init".as_ref(),
        "--".as_ref(),
        "/no/such".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn oom_score_adj_is_reset() {
    require_root!();
    let leaks = LeakCheck::start();
    let script = format!(
        "echo 500 > /proc/self/oom_score_adj; exec {} --id {} --root {} -- cat /proc/self/oom_score_adj",
        env!("CARGO_BIN_EXE_tinyjail"),
        leaks.id(),
        shared_root().display()
    );
    let out = output(
        Command::new("/bin/bash")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null()),
    );
    assert_eq!(ok(&out), "0\n");
}

#[test]
fn root_that_is_a_symlink_is_refused() {
    require_root!();
    let leaks = LeakCheck::start();
    let dir = leaks.watch(scratch("root-symlink"));
    let link = dir.join("link");
    std::os::unix::fs::symlink(shared_root(), &link).unwrap();
    let out = leaks.run([
        "--root".as_ref(),
        link.as_os_str(),
        "--".as_ref(),
        "/bin/true".as_ref(),
    ]);
    refused(&out, "is a symlink; give the directory it points to");
}

#[test]
fn works_where_the_host_has_no_proc_or_sys_mounted() {
    require_root!();
    let leaks = LeakCheck::start().whole_mount_table();
    // As in an early initramfs: a mount namespace (of the test's own) without /proc and
    // /sys. tinyjail mounts what it needs privately.
    let script = format!(
        "umount -l /sys && umount -l /proc && exec {} --id {} --root {} -- /bin/sh -c \
         'ls /proc/1/ns | wc -l; ls /sys/class/net; grep ^0:: /proc/self/cgroup'",
        env!("CARGO_BIN_EXE_tinyjail"),
        leaks.id(),
        shared_root().display()
    );
    let out = output(
        Command::new("unshare")
            .args(["-m", "sh", "-c", &script])
            .stdin(Stdio::null()),
    );
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].parse::<u32>().unwrap() >= 8, "{text}");
    assert_eq!(&lines[1..], ["lo", "0::/"]);
}
