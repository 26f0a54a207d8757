//! claimscrub: scrubs coded medical claims against hot-reloadable edit rules over gRPC.
//!
//! # Map of the crate
//! The domain, bottom up (a module only uses the ones above it in this list):
//! - [`money`]     — integer cents, fixed-point table values, the one rounding rule.
//! - [`claim`]     — the validated claim type, code and date syntax, proto3-JSON claim files.
//! - [`finding`]   — findings and rule failures.
//! - [`adjustment`] — descriptions of the CARC/RARC codes findings predict (bundled table).
//! - [`tables`]    — reference tables (NCCI PTP, MUE, AOC, ICD-10-CM, MCE, HCPCS, PFS, fees),
//!   loaded from a manifest and swapped atomically.
//! - [`edits`]     — CMS edit logic as plain functions over a claim and the tables (PTP pairs
//!   and bypass modifiers, MUE counting, add-on primaries, MCE conflicts).
//! - [`scoring`]   — denial risk of a claim and of a line, and the bands (pure).
//! - [`pricing`]   — allowed amounts: the Medicare PFS methodology and payer contract terms,
//!   the lower-of-charge rule, expected revenue (pure).
//! - [`engine`]    — the sandboxed Rhai engine and the script API; runs rule scripts only:
//!   edits return findings, contracts return terms.
//! - [`rules`]     — rule files: metadata, compile, test cases and running them, the
//!   applicability index, rule sets, where rule files come from.
//! - [`registry`]  — the rules in force: per-file status, the atomically swapped active set,
//!   reloads (a rule activates only when it compiles and passes its tests), events.
//! - [`runtime`]   — builds tables, engine, pool and registry from configuration, once, for
//!   the server, every CLI command and the bench.
//! - [`scrub`]     — the pipeline of one claim (below).
//! - [`store`]     — where rules are kept for editing: the rule store trait, the directory
//!   and PostgreSQL stores.
//! - [`remit`]     — what payers did: remittances (read from X12 835 by [`x12`]) and their
//!   balancing; [`outcomes`] keeps them (SQLite file or PostgreSQL) with what each scrub
//!   said; [`calibration`] learns denial probabilities from the two.
//! - [`admin`]     — rule administration: auth, audit, edits, history.
//! - [`api`]       — the gRPC services (scrubber, admin) and the one error → status mapping.
//! - [`watcher`]   — notices rules-directory changes and triggers reloads.
//! - [`server`]    — wiring and graceful shutdown; [`config`] flags and environment
//!   variables; [`telemetry`] logs and metrics; [`cli`] the `claimscrub` command line;
//!   [`synth`] synthetic claims for benchmarks and the load generator; [`proto`] the
//!   generated `claimscrub.v1` types (the public contract).
//!
//! # The request path
//! `api::scrubber` receives a `ScrubClaimRequest` and hands it to [`scrub::Scrubber`], which
//! validates it into a [`claim::Claim`] (`INVALID_ARGUMENT` with field paths on failure) and
//! moves to the evaluation pool. There, in order and once each: the engine runs the active
//! set's applicable edit rules (findings, whose table helpers call [`edits`]); pricing prices
//! every line with the Medicare PFS; the engine runs the first applicable payer contract's
//! `price` per line (terms); [`pricing::price`] turns the terms into the claim's pricing with
//! line risk from [`scoring`]; [`scoring`] scores the claim; the response is built once and
//! returned through `api`.
//!
//! # Where new things go
//! - A new CMS edit: a rule file in `rules/` (with its `.tests.json`); if it needs table
//!   logic, a function in [`edits`] and its script helper in `engine/table_api.rs` (the
//!   rules/README.md table of functions is checked against the engine by a test).
//! - A new RPC: the message and method in `proto/claimscrub/v1/`, the handler in [`api`],
//!   the domain work in the module it concerns; errors map to a status in `api/status.rs`.
//! - A new table kind: a loader in [`tables`] (its own file), the kind in
//!   `tables/manifest.rs`, lookups on [`tables::Tables`].
//! - A new pricing adjustment: a function in `pricing/medicare/modifiers.rs` (or
//!   `reductions.rs`) citing its CMS section, called from the ordered steps of
//!   [`pricing::medicare::price_claim`].
//! - A new place to keep rules: an implementation of [`store::RuleStore`] (and of
//!   [`rules::RuleSource`] for the registry to read it).

pub mod adjustment;
pub mod admin;
pub mod api;
pub mod calibration;
pub mod claim;
pub mod cli;
pub mod config;
pub mod edits;
pub mod engine;
pub mod fhir;
pub mod finding;
pub mod history;
pub mod http;
pub mod money;
pub mod outcomes;
pub mod pricing;
pub mod registry;
pub mod remit;
pub mod rules;
pub mod runtime;
pub mod scoring;
pub mod scrub;
pub mod server;
pub mod store;
pub mod synth;
pub mod tables;
pub mod telemetry;
pub mod watcher;
pub mod x12;

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
