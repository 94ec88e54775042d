//! `_start` for 32-bit arm (EABI): argc at the stack pointer; AAPCS wants 8-byte alignment.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    // Outermost frame: no frame pointer, no return address.
    "mov fp, #0",
    "mov lr, #0",
    "mov r0, sp",
    "bic sp, sp, #15",
    "bl tinyjail_entry",
    "udf #0",
);
