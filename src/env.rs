//! The container's environment: PATH plus the `--env` entries, nothing of the host's.
//!
//! With no heap, the environment is built in the argv slots that the options occupied.
//! That always fits: the slots before COMMAND hold argv[0], `--root` with its value, and at
//! least one slot per `--env`, while the environment needs one slot per `--env`, one for
//! PATH and one for the terminating null. Each `--env` value is read before its slot can be
//! overwritten, because entries are written at or behind the option being read.

use core::ffi::CStr;

use crate::args::{Argv, HostEnv, Slots};
use crate::cli::{Opt, Tokens};
use crate::error::Result;
use crate::plan::{env_key, DEFAULT_PATH};

/// Where the environment ended up: `slots[..=end]`, ending with the null at `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Environment {
    pub end: usize,
}

impl Environment {
    /// The `PATH` value inside the container.
    pub fn path(&self, slots: &Slots) -> &'static [u8] {
        // Slot 0 always holds PATH (see build).
        let entry = slots.arg(0).to_bytes();
        &entry[b"PATH=".len()..]
    }
}

/// Writes the container's envp into `slots[0..]` from the `--env` options, in order; a later
/// entry for the same key replaces an earlier one in place. `--env KEY` copies KEY from the
/// host environment, and is skipped when the host does not have it.
pub fn build(slots: &mut Slots, host: &HostEnv) -> Result<Environment> {
    slots.set(0, DEFAULT_PATH);
    let mut end = 1;
    let mut tokens = Tokens::new();
    while let Some(t) = tokens.next_token(slots)? {
        if t.opt != Opt::Env {
            continue;
        }
        let entry: &'static CStr = if t.value.contains(&b'=') {
            t.value_c
        } else {
            match host.find(t.value) {
                Some(found) => found,
                None => continue,
            }
        };
        let key = env_key(entry.to_bytes());
        let existing = (0..end).find(|&i| env_key(slots.arg(i).to_bytes()) == key);
        match existing {
            Some(i) => slots.set(i, entry),
            None => {
                slots.set(end, entry);
                end += 1;
            }
        }
    }
    debug_assert!(end < tokens.command);
    slots.set_null(end);
    Ok(Environment { end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(args: &[&'static CStr], host: &[&'static CStr]) -> (Vec<String>, Vec<String>) {
        let mut all = vec![c"tinyjail"];
        all.extend_from_slice(args);
        let mut slots = Slots::for_test(&all);
        let host = HostEnv::for_test(host);
        let env = build(&mut slots, &host).unwrap();
        let strings = |range: std::ops::Range<usize>| -> Vec<String> {
            range
                .map(|i| slots.arg(i).to_str().unwrap().to_owned())
                .collect()
        };
        assert!(slots.pointers()[env.end].is_null());
        let command = all.iter().position(|a| *a == c"--").unwrap() + 1;
        (strings(0..env.end), strings(command..all.len()))
    }

    #[test]
    fn only_path_by_default() {
        let (env, argv) = env_of(
            &[c"--root", c"/r", c"--", c"sh", c"-c", c"env"],
            &[c"HOME=/root"],
        );
        assert_eq!(env, [DEFAULT_PATH.to_str().unwrap()]);
        assert_eq!(argv, ["sh", "-c", "env"]);
    }

    #[test]
    fn entries_in_order_with_copies_and_overrides() {
        let (env, argv) = env_of(
            &[
                c"--env",
                c"A=1",
                c"--root=/r",
                c"--env=TERM",
                c"--env",
                c"MISSING",
                c"--env",
                c"PATH=/bin",
                c"--env",
                c"A=2",
                c"--env",
                c"B=",
                c"--",
                c"x",
            ],
            &[c"TERM=xterm", c"HOME=/root"],
        );
        assert_eq!(env, ["PATH=/bin", "A=2", "TERM=xterm", "B="]);
        assert_eq!(argv, ["x"]);
    }

    #[test]
    fn many_entries_fit() {
        let values: Vec<&'static CStr> = (0..1000)
            .map(|i| {
                &*Box::leak(
                    std::ffi::CString::new(format!("K{i}={i}"))
                        .unwrap()
                        .into_boxed_c_str(),
                )
            })
            .collect();
        let mut args = vec![c"--root", c"/r"];
        for v in &values {
            args.push(c"--env");
            args.push(v);
        }
        args.extend([c"--", c"true"]);
        let (env, argv) = env_of(&args, &[]);
        assert_eq!(env.len(), 1001);
        assert_eq!(env[1000], "K999=999");
        assert_eq!(argv, ["true"]);
    }
}
