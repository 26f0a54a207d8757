//! claimscrub: scrubs coded medical claims against hot-reloadable edit rules over gRPC.
//!
//! Map of the crate, in the order a claim flows through it:
//! - [`proto`]     — generated gRPC types for `claimscrub.v1` (the public contract).
//! - [`api`]       — gRPC service implementations; the one error → status mapping.
//! - [`admin`]     — the RuleAdmin API: bearer-token auth, roles, audit log.
//! - [`claim`]     — the validated claim type, code syntax, proto3-JSON claim files.
//! - [`scrub`]     — the pipeline: validate, evaluate on the pool, score, respond.
//! - [`rules`]     — rule files: metadata, compile, test cases, applicability index, rule sets.
//! - [`registry`]  — the concurrent rule cache and the atomically swapped active rule set.
//! - [`watcher`]   — notices rules-directory changes and triggers reloads.
//! - [`engine`]    — the sandboxed Rhai engine, the script-facing claim API, the evaluator.
//! - [`tables`]    — reference tables (NCCI PTP, MUE, AOC, ICD-10-CM, MCE, HCPCS, PFS, fees).
//! - [`finding`]   — findings and rule failures.
//! - [`scoring`]   — denial-risk model and bands (pure).
//! - [`pricing`]   — expected allowed amounts: Medicare PFS methodology, payer contracts (pure).
//! - [`money`]     — integer cents, fixed-point table values, the one rounding rule.
//! - [`config`]    — flags and environment variables.
//! - [`server`]    — wiring and graceful shutdown.
//! - [`telemetry`] — logging setup.
//! - [`synth`]     — synthetic claims for benchmarks and the load generator.
//! - [`cli`]       — the `claimscrub` command line (serve, check, rules check/test).

pub mod admin;
pub mod api;
pub mod claim;
pub mod cli;
pub mod config;
pub mod edits;
pub mod engine;
pub mod finding;
pub mod money;
pub mod pricing;
pub mod registry;
pub mod rules;
pub mod runtime;
pub mod scoring;
pub mod scrub;
pub mod server;
pub mod synth;
pub mod tables;
pub mod telemetry;
pub mod watcher;

/// Generated protobuf and gRPC code.
pub mod proto {
    /// `claimscrub.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("claimscrub.v1");
    }
    /// Encoded `FileDescriptorSet` of `claimscrub.v1` (for reflection and JSON).
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/claimscrub_descriptor.bin"));
}

pub use server::{App, ServeError, run, serve};
