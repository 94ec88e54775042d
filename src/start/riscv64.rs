//! `_start` for riscv64: argc at the stack pointer, 16-byte aligned.
//!
//! The global pointer is left alone: the linker script defines no `__global_pointer$`, so
//! the linker makes no gp-relative accesses.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    // Outermost frame: no frame pointer, no return address.
    "li fp, 0",
    "li ra, 0",
    "mv a0, sp",
    "andi sp, sp, -16",
    "call tinyjail_entry",
    "unimp",
);
