//! Real input: a Debian root made with debootstrap runs real programs.

mod common;

use std::process::Command;

use common::*;

#[test]
fn debian_minbase_root_runs_real_programs() {
    require_root!();
    let dir = scratch("debian-root");
    std::fs::remove_dir(&dir).unwrap();
    let made = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/debian-root"))
        .arg(&dir)
        .status()
        .expect("running scripts/debian-root");
    assert!(made.success(), "scripts/debian-root failed");
    let leaks = LeakCheck::start();
    let dir = leaks.watch(dir);

    let script = "set -e; echo \"bash $BASH_VERSION\"; dpkg -l | grep -c '^ii'; \
                  apt-get --version | head -n 1; ls /proc/1; id -un; cat /etc/debian_version";
    let out = leaks.run([
        "--root".as_ref(),
        dir.as_os_str(),
        "--".as_ref(),
        "bash".as_ref(),
        "-c".as_ref(),
        script.as_ref(),
    ]);
    let text = ok(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("bash 5."), "{text}");
    let packages: usize = lines[1].parse().unwrap();
    assert!(packages > 50, "dpkg -l lists {packages} packages");
    assert!(lines[2].starts_with("apt 2."), "{text}");
    for entry in ["cmdline", "environ", "ns", "status"] {
        assert!(lines.contains(&entry), "ls /proc/1 lacks {entry}: {text}");
    }
    assert!(lines.contains(&"root"), "{text}");
    assert!(lines.last().unwrap().starts_with("12."), "{text}");
    leaks.assert_nothing_left("before removing the root");
    std::fs::remove_dir_all(&dir).unwrap();
}
