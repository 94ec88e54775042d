//! The validators of `--cgroup FILE=VALUE` and `--cgroup-parent PATH`: whatever they accept
//! must be safe to use as a file name in the container's cgroup and as a path below the
//! hierarchy's root. Input: the option's value.
//!
//! Checked: no panic; an accepted `FILE=VALUE` has a FILE of `controller.name` in
//! `[A-Za-z0-9._]`, never a `cgroup.*` core file, and a VALUE without a newline (the kernel
//! would take a second line as a second write); an accepted parent path has no `.` or `..`
//! component and only `[A-Za-z0-9_.-/]`; every refusal is one clean line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyjail::cgroup::controller_of;
use tinyjail::error::{Error, STATUS_FAILED};
use tinyjail::output::Line;
use tinyjail::plan::{check_cgroup_option, check_cgroup_parent};

fn assert_error(e: &Error, option: &str) {
    assert_eq!(e.status, STATUS_FAILED);
    assert_eq!(e.doing, option);
    assert!(!e.detail.is_empty());
    let mut line = Line::new();
    e.write_to(&mut line);
    assert!(line.as_bytes().iter().all(|&b| b >= 0x20 && b != 0x7f));
}

fuzz_target!(|data: &[u8]| {
    // The validators keep `&'static` references to the value (in an error, or the parent
    // path itself); every one of them is dropped before the copy is freed below.
    let raw: *mut [u8] = Box::into_raw(data.to_vec().into_boxed_slice());
    // SAFETY: made from a Box just above, freed once at the end.
    let value: &'static [u8] = unsafe { &*raw };
    {
        match check_cgroup_option(value) {
            Ok(()) => {
                let eq = value.iter().position(|&b| b == b'=').expect("FILE=VALUE");
                let (file, setting) = (&value[..eq], &value[eq + 1..]);
                assert!(!file.starts_with(b"cgroup."), "{value:?}");
                assert!(
                    file.iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_'),
                    "{value:?}"
                );
                let controller = controller_of(value);
                assert!(
                    !controller.is_empty() && controller.len() < file.len(),
                    "{value:?}"
                );
                assert!(file != b"." && file != b"..");
                assert!(!setting.contains(&b'\n'), "{value:?}");
                assert!(!setting.is_empty(), "{value:?}");
            }
            Err(e) => assert_error(&e, "--cgroup"),
        }
        match check_cgroup_parent(value) {
            Ok(path) => {
                assert_eq!(path, value);
                assert!(value.len() <= 200);
                for component in value.split(|&b| b == b'/') {
                    assert!(component != b"." && component != b"..", "{value:?}");
                    assert!(!component.starts_with(b"cgroup."), "{value:?}");
                    assert!(
                        component
                            .iter()
                            .all(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
                        "{value:?}"
                    );
                }
            }
            Err(e) => assert_error(&e, "--cgroup-parent"),
        }
    }
    // SAFETY: see above; nothing borrowed from `value` is alive any more.
    unsafe { drop(Box::from_raw(raw)) };
});
