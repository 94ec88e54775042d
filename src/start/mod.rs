//! Process entry and the panic handler. The entry code is the only architecture-specific
//! part of the binary; each architecture's `_start` passes the initial stack pointer to
//! [`entry`].
#![allow(unsafe_code)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "riscv64")]
mod riscv64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

use tinyjail::args::Args;

/// The Rust side of `_start`.
///
/// # Safety
/// Called once, by `_start`, with the stack pointer as the kernel left it.
#[no_mangle]
unsafe extern "C" fn tinyjail_entry(stack: *const usize) -> ! {
    // SAFETY: guaranteed by the caller: this is the kernel's initial stack, read once.
    let args = unsafe { Args::from_initial_stack(stack) };
    crate::main(args)
}

/// A panic is a bug in tinyjail: say so on one line and exit 125 (never spin, never unwind).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    let _ = tinyjail::sys::write_all(2, b"tinyjail: internal error (panic)\n");
    tinyjail::sys::exit(tinyjail::error::STATUS_FAILED)
}
