//! Link flags for the `tinyjail` binary alone.
//!
//! The binary brings its own `_start` and uses no libc, so it is linked with
//! `-nostartfiles -nostdlib -static`. These flags go to the binary target only
//! (`rustc-link-arg-bins`): unit tests, integration tests and build scripts are ordinary
//! std programs and must keep the default link.

use std::env;
use std::path::Path;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let script = Path::new(&dir).join("linker/tinyjail.ld");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", script.display());

    // Cross targets are linked by rust-lld directly; the cc driver flags are for the host's gcc.
    let gcc = target.ends_with("-linux-gnu") && target.starts_with("x86_64");
    if gcc {
        for arg in [
            // No crt1.o/crti.o: src/start supplies _start.
            "-nostartfiles",
            // No libc, libgcc or libgcc_s.
            "-nostdlib",
            // No interpreter, no dynamic section; position-dependent, so no self-relocation
            // code is needed at start.
            "-static",
            "-no-pie",
        ] {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
        // memcpy, memset, memmove, memcmp and bcmp: the precompiled core for this target
        // leaves them to libc. musl's archive supplies just those objects, nothing else of
        // it is pulled in (tinyjail calls no libc function).
        let musl = "/usr/lib/x86_64-linux-musl/libc.a";
        if !Path::new(musl).exists() {
            println!("cargo:warning={musl} is missing: install musl-dev");
        }
        println!("cargo:rustc-link-arg-bins={musl}");
    } else {
        println!("cargo:rustc-link-arg-bins=-static");
    }
    for arg in [
        // Drop every function and datum nothing refers to.
        "--gc-sections",
        // A build ID note is 36 bytes nobody reads on a static tool.
        "--build-id=none",
        // Keep the stack non-executable: it costs nothing at run time and is not traded for
        // bytes.
        "-z,noexecstack",
    ] {
        if gcc {
            println!("cargo:rustc-link-arg-bins=-Wl,{arg}");
        } else {
            // The linker itself takes "-z noexecstack" as two arguments.
            for part in arg.split(',') {
                println!("cargo:rustc-link-arg-bins={part}");
            }
        }
    }
    let script_arg = format!("-T{}", script.display());
    if gcc {
        println!("cargo:rustc-link-arg-bins=-Wl,{script_arg}");
    } else {
        println!("cargo:rustc-link-arg-bins={script_arg}");
    }
}
