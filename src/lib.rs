//! tinyjail: run a process in its own Linux namespaces.
//!
//! The engine is `no_std` and has no allocator: every buffer has a fixed capacity and every
//! string it keeps points into the process's own argument and environment strings. The
//! binary (`src/main.rs`) only finds those on the initial stack and calls [`run::main`].
//!
//! Layout: [`cli`] and [`plan`] turn the command line into a validated plan without touching
//! the system; [`run`] is the parent's side of a run and [`container`] the child's; the
//! kernel is reached only through [`sys`], the one module allowed `unsafe` besides [`args`].
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod args;
pub mod cgroup;
pub mod cli;
pub mod container;
pub mod env;
pub mod error;
pub mod exec;
pub mod init;
pub mod mount;
pub mod net;
pub mod output;
pub mod plan;
pub mod process;
pub mod procfs;
pub mod run;
pub mod signals;
pub mod sys;
pub mod userns;
