//! `_start` for x86_64: the kernel leaves argc at the stack pointer, 16-byte aligned.
core::arch::global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    // Outermost frame: no return address, no frame pointer.
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call tinyjail_entry",
    "ud2",
);
