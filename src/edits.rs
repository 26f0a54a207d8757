//! CMS edit logic as plain functions over a validated claim and the reference tables,
//! returning typed hits. The Rhai table API ([`crate::engine::table_api`]) only converts
//! these to script values, and the native baseline (`benches/native`) calls the same
//! functions, so what CMS's definitions mean is written once.
//!
//! A new CMS edit that needs table logic goes here as its own file; its script helper is
//! registered in `engine/table_api.rs`.

pub mod addon;
pub mod codes;
pub mod mce;
pub mod mue;
pub mod pfs_modifiers;
pub mod ptp;

use crate::claim::{Claim, ClaimType};

/// True when CMS's NCCI PTP and MUE edits apply to the claim: every practitioner claim, and
/// every institutional claim except inpatient Part A stays — type of bill 11x (hospital
/// inpatient), 18x (swing bed) and 21x (SNF inpatient), which NCCI does not edit (the NCCI
/// hospital edits are for outpatient services: CMS, "NCCI for Medicare", Medicare NCCI
/// Policy Manual, Introduction). The type of bill may carry its leading zero (`0111`).
pub fn ncci_applies(claim: &Claim) -> bool {
    if claim.claim_type != ClaimType::Institutional {
        return true;
    }
    let tob = claim.bill_type();
    !(tob.starts_with("11") || tob.starts_with("18") || tob.starts_with("21"))
}
