//! CMS edit logic as plain functions over a validated claim and the reference tables,
//! returning typed hits. The Rhai table API ([`crate::engine::table_api`]) only converts
//! these to script values, and the native baseline (`benches/native`) calls the same
//! functions, so what CMS's definitions mean is written once.
//!
//! A new CMS edit that needs table logic goes here as its own file; its script helper is
//! registered in `engine/table_api.rs`.

pub mod addon;
pub mod mce;
pub mod mue;
pub mod ptp;
