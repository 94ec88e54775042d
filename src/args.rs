//! The command line and environment as the kernel left them on the initial stack.
//!
//! At `_start` the stack holds `argc`, then `argc` pointers to NUL-terminated strings and a
//! null pointer, then the environment's pointers and another null pointer. The strings and
//! the pointer arrays live for the whole life of the process and are writable, so tinyjail
//! keeps pointers into them instead of copying anything.
#![allow(unsafe_code)]

use core::ffi::CStr;

/// Access to the arguments by index, so that the parser can be tested without a real stack.
pub trait Argv {
    fn count(&self) -> usize;
    fn arg(&self, index: usize) -> &'static CStr;
}

/// The process's own argv and envp.
pub struct Args {
    slots: Slots<'static>,
    host: HostEnv,
    strings: StringArea,
}

impl Args {
    /// Reads argc, argv and envp from the stack pointer found at process entry.
    ///
    /// # Safety
    /// `stack` must be the stack pointer the kernel passed to `_start`, before anything was
    /// pushed, and this may be called only once (the argument array is borrowed mutably).
    pub unsafe fn from_initial_stack(stack: *const usize) -> Args {
        // SAFETY: the kernel's initial stack layout (System V ABI): argc, argv[argc], NULL,
        // envp..., NULL. All of it stays mapped and untouched by anyone else for the life of
        // the process, hence 'static.
        unsafe {
            let argc = *stack;
            let argv = stack.add(1) as *mut *const u8;
            let envp = argv.add(argc + 1) as *const *const u8;
            let mut envc = 0;
            while !(*envp.add(envc)).is_null() {
                envc += 1;
            }
            // The strings themselves lie in one block: argv's, then envp's.
            let first = if argc > 0 { *argv } else { core::ptr::null() };
            let last = match (envc, argc) {
                (0, 0) => first,
                (0, _) => *argv.add(argc - 1),
                _ => *envp.add(envc - 1),
            };
            let len = if first.is_null() {
                0
            } else {
                last as usize + string_at(last).to_bytes_with_nul().len() - first as usize
            };
            Args {
                slots: Slots(core::slice::from_raw_parts_mut(argv, argc + 1)),
                host: HostEnv {
                    envp: core::slice::from_raw_parts(envp, envc + 1),
                },
                strings: StringArea {
                    start: first as *mut u8,
                    len,
                },
            }
        }
    }

    /// The argument slots (to parse, then to reuse), the host environment, and the block
    /// of strings behind both.
    pub fn split(self) -> (Slots<'static>, HostEnv, StringArea) {
        (self.slots, self.host, self.strings)
    }
}

/// The block of argv and envp strings the kernel put on the initial stack: what
/// /proc/PID/cmdline and /proc/PID/environ show.
pub struct StringArea {
    start: *mut u8,
    len: usize,
}

impl StringArea {
    /// Overwrites every argument and environment string with zeros, so that a process
    /// that no longer needs them (tinyjail's init, inside the container) shows nothing of
    /// the host through /proc. The caller reads no argument or environment string after
    /// this: they would all read as empty.
    pub fn wipe(self) {
        // SAFETY: start..start+len is the kernel's string block of this process, mapped,
        // writable and ours. The memory stays valid; only its contents become zeros.
        unsafe { core::ptr::write_bytes(self.start, 0, self.len) };
    }
}

/// The argv pointer array, `argc` string pointers and a terminating null.
///
/// Every non-null slot points at a NUL-terminated string that lives for the whole process:
/// the kernel's strings at first, and only `&'static CStr`s are ever stored later. Once the
/// command line is parsed, the slots before COMMAND are reused for the container's envp
/// (tinyjail has no heap), and COMMAND's own slots are its argv as they stand.
pub struct Slots<'a>(&'a mut [*const u8]);

impl Slots<'_> {
    /// Stores a string pointer in slot `index`.
    pub fn set(&mut self, index: usize, value: &'static CStr) {
        self.0[index] = value.as_ptr().cast();
    }

    /// Ends an array at slot `index`.
    pub fn set_null(&mut self, index: usize) {
        self.0[index] = core::ptr::null();
    }

    /// The slots as the pointer array execve takes.
    pub fn pointers(&self) -> &[*const u8] {
        self.0
    }

    /// Test helper: slots made of leaked test strings.
    #[cfg(test)]
    pub fn for_test(args: &[&'static CStr]) -> Slots<'static> {
        let mut v: Vec<*const u8> = args.iter().map(|c| c.as_ptr().cast()).collect();
        v.push(core::ptr::null());
        Slots(Vec::leak(v))
    }
}

impl Argv for Slots<'_> {
    fn count(&self) -> usize {
        self.0.len() - 1
    }

    fn arg(&self, index: usize) -> &'static CStr {
        // SAFETY: the index is bounds-checked by the slice; see the type's invariant.
        unsafe { string_at(self.0[index]) }
    }
}

/// The host environment, read-only.
#[derive(Clone, Copy)]
pub struct HostEnv {
    envp: &'static [*const u8],
}

impl HostEnv {
    /// The entry `KEY=VALUE` whose key is `key`.
    pub fn find(&self, key: &[u8]) -> Option<&'static CStr> {
        let entries = &self.envp[..self.envp.len() - 1];
        entries
            .iter()
            .map(|&p| {
                // SAFETY: every non-null envp entry points at a NUL-terminated string that lives
                // for the whole process.
                unsafe { string_at(p) }
            })
            .find(|entry| {
                let entry = entry.to_bytes();
                entry.len() > key.len() && entry.starts_with(key) && entry[key.len()] == b'='
            })
    }

    /// The value of `key`, if set.
    pub fn value(&self, key: &[u8]) -> Option<&'static [u8]> {
        self.find(key)
            .map(|entry| &entry.to_bytes()[key.len() + 1..])
    }
}

/// The string an argv or envp pointer (or one built from a `CStr`) points at.
///
/// # Safety
/// `p` must point at a NUL-terminated string that is never freed or changed.
pub unsafe fn string_at(p: *const u8) -> &'static CStr {
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p.cast()) }
}

/// Test helper: a fixed argv made of string literals.
#[cfg(test)]
pub struct TestArgv(pub Vec<&'static CStr>);

#[cfg(test)]
impl Argv for TestArgv {
    fn count(&self) -> usize {
        self.0.len()
    }

    fn arg(&self, index: usize) -> &'static CStr {
        self.0[index]
    }
}

#[cfg(test)]
impl HostEnv {
    /// A host environment made of leaked test strings.
    pub fn for_test(entries: &[&'static CStr]) -> HostEnv {
        let mut v: Vec<*const u8> = entries.iter().map(|c| c.as_ptr().cast()).collect();
        v.push(core::ptr::null());
        HostEnv { envp: Vec::leak(v) }
    }
}
