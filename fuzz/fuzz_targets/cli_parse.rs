//! The command line as `run::main` takes it: `cli::parse` over the argument slots, then, for
//! a valid plan, the container's environment built in those same slots by `env::build`.
//!
//! Input: the arguments after argv[0], separated by NUL bytes. The strings are laid out as
//! the kernel does on the initial stack (one block: argv's strings, then envp's), and the
//! pointer arrays `argc, argv..., NULL, envp..., NULL` are handed to
//! `Args::from_initial_stack`, so that the very code of a real start runs.
//!
//! Checked: no panic, no out-of-bounds access (ASan); every error is tinyjail's status 125
//! and formats as one line without control characters; a plan's fields obey their rules;
//! the environment equals a plain model of the `--env` options, ends in a null slot before
//! COMMAND, and COMMAND's slots are untouched.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyjail::args::{Args, Argv, Slots};
use tinyjail::cli::{self, Opt, Request, Tokens};
use tinyjail::error::{Error, STATUS_FAILED};
use tinyjail::output::Line;
use tinyjail::plan::{self, Plan, DEFAULT_PATH};

/// tinyjail's own environment in these runs.
const HOST_ENV: &[&[u8]] = &[
    b"HOME=/root",
    b"TERM=xterm",
    b"PATH=/host/bin",
    b"A=from-host",
    b"EMPTY=",
    b"=no-key",
];

/// The strings and pointer arrays of one start. `'static` for tinyjail's types; freed only
/// when dropped, after everything borrowed from them is gone.
struct InitialStack {
    strings: *mut [u8],
    stack: *mut [usize],
}

impl InitialStack {
    fn new(args: &[u8]) -> InitialStack {
        let mut strings = b"tinyjail\0".to_vec();
        strings.extend_from_slice(args);
        strings.push(0);
        let argv_end = strings.len();
        for entry in HOST_ENV {
            strings.extend_from_slice(entry);
            strings.push(0);
        }
        let strings: *mut [u8] = Box::into_raw(strings.into_boxed_slice());
        // SAFETY: just made from a Box; freed only in Drop.
        let bytes = unsafe { &*strings };
        let base = bytes.as_ptr() as usize;
        let mut starts = vec![0usize];
        starts.extend(
            bytes[..bytes.len() - 1]
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == 0)
                .map(|(i, _)| i + 1),
        );
        let (argv, envp): (Vec<usize>, Vec<usize>) = starts.iter().partition(|&&s| s < argv_end);
        let mut stack = vec![argv.len()];
        stack.extend(argv.iter().map(|s| base + s));
        stack.push(0);
        stack.extend(envp.iter().map(|s| base + s));
        stack.push(0);
        InitialStack {
            strings,
            stack: Box::into_raw(stack.into_boxed_slice()),
        }
    }

    fn args(&self) -> Args {
        // SAFETY: `stack` has the initial stack's layout, every pointer in it points at a
        // NUL-terminated string in `strings`, and both live until `self` is dropped, after
        // every value borrowed from them (see the order in the target).
        unsafe { Args::from_initial_stack((*self.stack).as_mut_ptr()) }
    }
}

impl Drop for InitialStack {
    fn drop(&mut self) {
        // SAFETY: both were made by Box::into_raw in `new` and are freed once, here.
        unsafe {
            drop(Box::from_raw(self.stack));
            drop(Box::from_raw(self.strings));
        }
    }
}

fn assert_error(e: &Error) {
    assert_eq!(e.status, STATUS_FAILED, "{e:?}");
    assert!(!e.doing.is_empty(), "{e:?}");
    let mut line = Line::new();
    e.write_to(&mut line);
    let bytes = line.as_bytes();
    assert!(bytes.starts_with(b"tinyjail: "), "{bytes:?}");
    assert!(
        bytes.iter().all(|&b| b >= 0x20 && b != 0x7f),
        "control character in the error line: {:?}",
        String::from_utf8_lossy(bytes)
    );
}

fn assert_plan(plan: &Plan, slots: &Slots) {
    assert!(
        plan.command >= 1 && plan.command < slots.count(),
        "{plan:?}"
    );
    assert!(!plan.root.to_bytes().is_empty());
    assert!(plan.workdir.to_bytes().starts_with(b"/"));
    assert!((1..=plan::HOSTNAME_MAX).contains(&plan.hostname.len()));
    if let Some(id) = plan.id {
        let id = id.as_bytes();
        assert!((1..=plan::ID_MAX).contains(&id.len()));
        assert!(id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    }
    assert!(plan.uid.is_none_or(|u| u != u32::MAX));
    assert!(plan.gid.is_none_or(|g| g != u32::MAX));
    if let Some(parent) = plan.cgroup_parent {
        assert!(parent.len() <= 200);
        assert!(!parent
            .split(|&b| b == b'/')
            .any(|c| c == b"." || c == b".."));
    }
    if plan.network.host {
        assert!(plan.network.bridge.is_none() && plan.network.address.is_none());
    }
}

/// The environment a plain model expects: PATH, then each `--env` in order, a later KEY
/// replacing an earlier one in place, `--env KEY` copied from the host when it has KEY.
fn model_env(slots: &Slots) -> Vec<Vec<u8>> {
    let mut env: Vec<Vec<u8>> = vec![DEFAULT_PATH.to_bytes().to_vec()];
    let mut tokens = Tokens::new();
    while let Some(t) = tokens.next_token(slots).expect("parsed once already") {
        if t.opt != Opt::Env {
            continue;
        }
        let entry = if t.value.contains(&b'=') {
            t.value.to_vec()
        } else {
            let found = HOST_ENV.iter().find(|e| {
                e.len() > t.value.len() && e.starts_with(t.value) && e[t.value.len()] == b'='
            });
            match found {
                Some(e) => e.to_vec(),
                None => continue,
            }
        };
        let key = plan::env_key(&entry).to_vec();
        match env.iter_mut().find(|e| plan::env_key(e) == key.as_slice()) {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
    }
    env
}

fuzz_target!(|data: &[u8]| {
    let stack = InitialStack::new(data);
    {
        let (mut slots, host, _strings) = stack.args().split();
        let original: Vec<*const u8> = slots.pointers().to_vec();
        match cli::parse(&slots) {
            Err(e) => assert_error(&e),
            Ok(Request::Help | Request::Version) => {}
            Ok(Request::Run(plan)) => {
                assert_plan(&plan, &slots);
                let expected = model_env(&slots);
                let env = match tinyjail::env::build(&mut slots, &host) {
                    Ok(env) => env,
                    Err(e) => panic!("a valid plan's environment failed: {e:?}"),
                };
                let pointers = slots.pointers();
                assert!(env.end < plan.command, "{} >= {}", env.end, plan.command);
                assert!(pointers[env.end].is_null());
                assert_eq!(
                    &pointers[plan.command..],
                    &original[plan.command..],
                    "COMMAND's slots were overwritten"
                );
                let built: Vec<Vec<u8>> = (0..env.end)
                    .map(|i| slots.arg(i).to_bytes().to_vec())
                    .collect();
                assert_eq!(built, expected);
                assert!(built[0].starts_with(b"PATH="));
                assert_eq!(env.path(&slots), &built[0][b"PATH=".len()..]);
            }
        }
    }
    drop(stack);
});
