//! The tinyjail binary: its own entry point, no libc, no std.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod start;

use tinyjail::args::Args;

/// Called by `_start` with the stack pointer the kernel gave the process.
fn main(args: Args) -> ! {
    tinyjail::sys::exit(tinyjail::run::main(args))
}
