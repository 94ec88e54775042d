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
    // A bit per key hash of the entries written so far: a key whose bit is clear is new
    // for certain, so the search for an earlier entry with the same key (which makes many
    // entries quadratic) runs only for the few keys that may repeat.
    let mut seen = KeyFilter::default();
    seen.insert(b"PATH");
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
        let existing = if seen.insert(key) {
            None
        } else {
            (0..end).find(|&i| env_key(slots.arg(i).to_bytes()) == key)
        };
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

/// A filter of key hashes, 32768 bits (4 KiB of stack). With ten thousand distinct keys a
/// quarter of them still searches.
// TODO: beyond some ten thousand `--env` entries the filter fills up and the search turns
// quadratic again; a sort of the slots by key would keep it n log n.
struct KeyFilter([u64; 512]);

impl Default for KeyFilter {
    fn default() -> Self {
        KeyFilter([0; 512])
    }
}

impl KeyFilter {
    /// Sets the key's bit; true if it was clear (the key is certainly new).
    fn insert(&mut self, key: &[u8]) -> bool {
        // FNV-1a, folded to 15 bits: one of the filter's 32768.
        let hash = key.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        let bit = (hash ^ hash >> 15) & 32767;
        let (word, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
        let new = self.0[word] & mask == 0;
        self.0[word] |= mask;
        new
    }
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

    #[test]
    fn repeated_keys_among_many_keep_the_last_value() {
        let mut args = vec![c"--root", c"/r"];
        let leak = |s: String| &*Box::leak(std::ffi::CString::new(s).unwrap().into_boxed_c_str());
        for round in 0..3 {
            for i in 0..2000 {
                args.push(c"--env");
                args.push(leak(format!("K{i}={round}")));
            }
        }
        args.extend([c"--", c"true"]);
        let (env, _) = env_of(&args, &[]);
        assert_eq!(env.len(), 2001);
        assert!(env[1..].iter().all(|e| e.ends_with("=2")));
        assert_eq!(env[1], "K0=2");
    }
}
