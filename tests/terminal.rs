//! The caller's terminal: a container started from an interactive shell must not be able to
//! type into that shell (TIOCSTI) or read what is typed there (/dev/tty), the escape of
//! CVE-2017-5226. tinyjail runs here on a pseudo-terminal that is its controlling terminal,
//! as in a user's shell.

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// A program that pushes a command into its standard input's terminal with TIOCSTI, and
/// tries to open /dev/tty; it prints what each attempt gave.
const PUSHER: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
int main(void) {
    const char *line = "echo typed-by-the-container\n";
    int pushed = 0, err = 0;
    for (const char *c = line; *c; c++) {
        if (ioctl(0, TIOCSTI, c) != 0) { err = errno; break; }
        pushed++;
    }
    printf("tiocsti pushed=%d errno=%s\n", pushed, err ? strerrorname_np(err) : "none");
    int tty = open("/dev/tty", O_RDWR);
    printf("dev-tty %s\n", tty >= 0 ? "opened" : strerrorname_np(errno));
    return 0;
}
"#;

/// Builds the pusher, statically, into `root`.
fn build_pusher(root: &Path) {
    let source = root.join("tmp/pusher.c");
    fs::write(&source, PUSHER).unwrap();
    let status = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(root.join("pusher"))
        .arg(&source)
        .status()
        .expect("running cc (gcc and libc6-dev are installed by scripts/install-deps)");
    assert!(status.success(), "building the pusher failed");
    chown(&root.join("pusher"), OWNER);
}

/// A pseudo-terminal pair: (controller, terminal).
fn openpty() -> (OwnedFd, OwnedFd) {
    let (mut controller, mut terminal) = (0, 0);
    // SAFETY: the two out-pointers are valid; name, termios and winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty gave us both descriptors, open and owned by nobody else.
    unsafe {
        (
            OwnedFd::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    }
}

#[test]
fn the_container_cannot_reach_the_callers_terminal() {
    require_root!();
    let leaks = LeakCheck::start();
    let root = leaks.watch(own_root("terminal"));
    build_pusher(&root);
    let (controller, terminal) = openpty();

    let mut command = leaks.tinyjail();
    command
        .arg("--root")
        .arg(&root)
        .args([
            "--",
            "/bin/sh",
            "-c",
            "/pusher; echo stat $(cut -d' ' -f6,7 /proc/self/stat)",
        ])
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            // As a login shell's child: a session of its own whose controlling terminal is
            // the pseudo-terminal, tinyjail in its foreground process group.
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = wait_bounded(command.spawn().unwrap());
    drop(terminal);
    let text = ok(&out);

    // TIOCSTI refused: the terminal is not the container's controlling terminal (EPERM), or
    // the kernel forbids TIOCSTI altogether (EIO, dev.tty.legacy_tiocsti=0).
    let pushed = text
        .lines()
        .find(|l| l.starts_with("tiocsti"))
        .unwrap_or_default();
    assert!(
        pushed == "tiocsti pushed=0 errno=EPERM" || pushed == "tiocsti pushed=0 errno=EIO",
        "{text}"
    );
    assert!(text.lines().any(|l| l == "dev-tty ENXIO"), "{text}");
    // No controlling terminal at all (tty_nr 0), in a session of the container's own.
    let stat = text.lines().find(|l| l.starts_with("stat ")).unwrap();
    assert!(stat.ends_with(" 0"), "{text}");

    // Nothing reached the terminal's input queue: the controller side reads nothing typed.
    let mut controller = fs::File::from(controller);
    // SAFETY: a valid descriptor; O_NONBLOCK so that an empty queue reads EAGAIN.
    unsafe {
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&controller),
            libc::F_SETFL,
            libc::O_NONBLOCK,
        )
    };
    let mut echoed = Vec::new();
    let _ = controller.read_to_end(&mut echoed);
    assert!(
        !String::from_utf8_lossy(&echoed).contains("typed-by-the-container"),
        "the container typed into the terminal: {:?}",
        String::from_utf8_lossy(&echoed)
    );
}

/// Starts `script` in a container on a pseudo-terminal that is tinyjail's controlling
/// terminal, types Ctrl-C once the script has printed `ready`, and returns tinyjail's exit
/// status and what the terminal showed.
fn ctrl_c(leaks: &LeakCheck, extra: &[&str], script: &str) -> (Option<i32>, String) {
    let (controller, terminal) = openpty();
    let mut command = leaks.tinyjail();
    command
        .arg("--root")
        .arg(shared_root())
        .args(extra)
        .args(["--", "/bin/sh", "-c", script])
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::from(terminal.try_clone().unwrap()))
        .stderr(Stdio::from(terminal));
    // SAFETY: setsid and ioctl are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    drop(command);
    let mut controller = fs::File::from(controller);
    let mut shown = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&shown).contains("ready") {
        let n = controller.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the terminal closed: {:?}",
            String::from_utf8_lossy(&shown)
        );
        shown.extend_from_slice(&buf[..n]);
    }
    std::io::Write::write_all(&mut controller, b"\x03").unwrap();
    let out = wait_bounded(child);
    // SAFETY: a valid descriptor; O_NONBLOCK so that an empty queue reads EAGAIN.
    unsafe {
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&controller),
            libc::F_SETFL,
            libc::O_NONBLOCK,
        )
    };
    let _ = controller.read_to_end(&mut shown);
    (
        out.status.code(),
        String::from_utf8_lossy(&shown).into_owned(),
    )
}

/// Ctrl-C on the caller's terminal reaches the container's processes as it would reach a
/// foreground job: a pipeline below a shell ends, and a shell's trap runs once the job it
/// waits for has been interrupted. With `--init`, COMMAND's process group gets it once.
#[test]
fn ctrl_c_reaches_the_containers_processes_as_a_foreground_job() {
    require_root!();
    let leaks = LeakCheck::start();
    // `ready` comes from inside the job, so that the shell is waiting on it when the key
    // comes (a shell between two commands, as PID 1, could miss it).
    let pipeline = "sleep 100 | (echo ready; exec cat); echo after";
    let trapped = "trap 'echo trapped' INT; (echo ready; exec sleep 100); echo after; exit 3";
    for extra in [&[][..], &["--init"][..]] {
        let (status, shown) = ctrl_c(&leaks, extra, pipeline);
        assert_eq!(status, Some(130), "{extra:?}: {shown:?}");
        assert!(!shown.contains("after"), "{extra:?}: {shown:?}");

        let (status, shown) = ctrl_c(&leaks, extra, trapped);
        assert_eq!(status, Some(3), "{extra:?}: {shown:?}");
        assert_eq!(shown.matches("trapped").count(), 1, "{extra:?}: {shown:?}");
        assert!(shown.contains("after"), "{extra:?}: {shown:?}");
    }
}
