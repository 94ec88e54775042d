//! `_start` for aarch64: the kernel leaves argc at the stack pointer, 16-byte aligned.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    // Outermost frame: no frame pointer, no return address.
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "bl tinyjail_entry",
    "udf #0",
);
