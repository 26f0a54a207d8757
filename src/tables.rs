//! Reference tables the rules and pricing query: NCCI PTP edits, MUEs, add-on codes,
//! ICD-10-CM, MCE lists, HCPCS Level II codes and modifiers, the Medicare PFS (RVUs, GPCIs) and payer fee
//! tables — loaded from a TOML manifest, indexed and packed, and published
//! as one immutable snapshot that is swapped atomically when files change.

pub mod aoc;
pub mod code;
pub mod fee;
pub mod hcpcs;
pub mod icd10;
pub mod manifest;
pub mod mce;
pub mod modifier;
pub mod mue;
pub mod pfs;
pub mod ptp;
pub mod read;
pub mod store;

use std::sync::Arc;

use chrono::NaiveDate;

use crate::claim::ClaimType;
pub use manifest::{Format, Kind, Setting};
pub use read::TableError;
pub use store::{TableReport, TableStore};

/// An effective window in table days, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    /// First day in force ([`code::NO_START`] = always).
    pub start: u16,
    /// Last day in force ([`code::NO_END`] = not deleted).
    pub end: u16,
}

impl Window {
    /// Always in force.
    pub const OPEN: Window = Window {
        start: code::NO_START,
        end: code::NO_END,
    };

    /// Parses effective and deletion/termination dates; empty or `*` means open.
    pub fn parse(effective: &str, end: &str) -> Result<Window, String> {
        let bound = |text: &str, open: u16, what: &str| -> Result<u16, String> {
            let t = text.trim();
            if t.is_empty() || t == "*" {
                return Ok(open);
            }
            code::parse_date(t)
                .map(code::day)
                .ok_or_else(|| format!("{what} {t:?} is not a date (YYYYMMDD or YYYY-MM-DD)"))
        };
        Ok(Window {
            start: bound(effective, code::NO_START, "effective date")?,
            end: bound(end, code::NO_END, "deletion date")?,
        })
    }

    /// True when `day` is inside the window.
    pub fn contains(&self, day: u16) -> bool {
        self.start <= day && day <= self.end
    }
}

/// Which table version scored a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableVersion {
    /// Table kind.
    pub kind: Kind,
    /// Setting, where the kind has one.
    pub setting: Option<Setting>,
    /// The manifest's version label.
    pub version: String,
    /// Fee schedule name (fee_schedule tables); empty otherwise.
    pub name: String,
    /// Rows loaded.
    pub rows: usize,
    /// True when the table is a sample (a missing code is unknown, not invalid).
    pub partial: bool,
}

/// A table with the dates of service it is in force for (ICD-10-CM fiscal years, PFS
/// calendar years).
#[derive(Debug)]
pub struct Dated<T> {
    /// Validity window (open when the manifest gives none).
    pub window: Window,
    /// The table.
    pub table: Arc<T>,
    /// Its version label.
    pub version: String,
}

/// An ICD-10-CM code set with the dates of service it is valid for.
pub type DatedIcd10 = Dated<icd10::Icd10Table>;

/// A named payer fee table.
#[derive(Debug)]
pub struct NamedFees {
    /// The table.
    pub table: Arc<fee::FeeTable>,
    /// Its version label.
    pub version: String,
}

/// The dated table whose window contains `date` (the latest starting one when several do).
fn dated_in_force<T>(list: &[Dated<T>], date: NaiveDate) -> Option<&Dated<T>> {
    let d = code::day(date);
    list.iter().rev().find(|t| t.window.contains(d))
}

/// The US federal fiscal year a date falls in (1 October – 30 September, named by the year
/// it ends in): ICD-10-CM code sets and MCE lists are published per fiscal year.
pub fn fiscal_year(date: NaiveDate) -> i32 {
    use chrono::Datelike;
    if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// The first and last day of fiscal year `fy`.
pub fn fiscal_year_span(fy: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(fy - 1, 10, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(fy, 9, 30).unwrap_or_default(),
    )
}

/// One immutable snapshot of every loaded table. Missing tables are `None`: rules check
/// `has_table(...)` and skip what they cannot check.
#[derive(Debug, Default)]
pub struct Tables {
    /// PTP edits: practitioner, outpatient hospital.
    pub ptp: [Option<Arc<ptp::PtpTable>>; 2],
    /// MUEs: practitioner, outpatient hospital, DME supplier.
    pub mue: [Option<Arc<mue::MueTable>>; 3],
    /// Add-on code edits.
    pub aoc: Option<Arc<aoc::AocTable>>,
    /// ICD-10-CM code sets, by start of validity.
    pub icd10: Vec<DatedIcd10>,
    /// MCE lists, by start of validity (fiscal-year windows, or open).
    pub mce: Vec<Dated<mce::MceTable>>,
    /// HCPCS Level II codes.
    pub hcpcs: Option<Arc<hcpcs::HcpcsTable>>,
    /// HCPCS Level II and CPT modifiers.
    pub modifiers: Option<Arc<modifier::ModifierTable>>,
    /// Medicare PFS relative value files, by start of validity.
    pub pfs_rvu: Vec<Dated<pfs::RvuTable>>,
    /// Medicare PFS GPCI files, by start of validity.
    pub pfs_gpci: Vec<Dated<pfs::GpciTable>>,
    /// Payer fee tables by name.
    pub fees: std::collections::BTreeMap<String, NamedFees>,
    /// Every loaded table's version, for responses and audit.
    pub versions: Vec<TableVersion>,
}

/// The NCCI table setting of a claim: institutional claims use the outpatient hospital tables
/// (CMS applies the hospital outpatient edits to OPPS/TOB 13x claims); professional claims
/// from a DME supplier (see [`crate::claim::Claim::is_dme_supplier`]) use the DME supplier MUE
/// table, which "does NOT apply to DME billed by practitioners" or hospitals (Medicaid NCCI
/// Technical Guidance / Edit Design Manual, MUE files), and no PTP table (NCCI publishes none
/// for DME suppliers); other professional claims use the practitioner tables.
pub fn setting_for(claim: &crate::claim::Claim) -> Setting {
    match claim.claim_type {
        ClaimType::Institutional => Setting::OutpatientHospital,
        ClaimType::Professional if claim.is_dme_supplier() => Setting::DmeSupplier,
        ClaimType::Professional => Setting::Practitioner,
    }
}

impl Tables {
    /// PTP table of a setting.
    pub fn ptp(&self, setting: Setting) -> Option<&ptp::PtpTable> {
        match setting {
            Setting::Practitioner => self.ptp[0].as_deref(),
            Setting::OutpatientHospital => self.ptp[1].as_deref(),
            Setting::DmeSupplier => None,
        }
    }

    /// MUE table of a setting.
    pub fn mue(&self, setting: Setting) -> Option<&mue::MueTable> {
        self.mue[setting as usize].as_deref()
    }

    /// The ICD-10-CM code set in force on `date` (see [`crate::claim::Claim::code_set_date`]),
    /// if one is loaded. Strict: a diagnosis is never judged by another fiscal year's code
    /// set (codes are added, expanded and deleted every 1 October).
    pub fn icd10_for(&self, date: NaiveDate) -> Option<&DatedIcd10> {
        dated_in_force(&self.icd10, date)
    }

    /// The MCE lists in force on `date`, if loaded (strict, like [`Tables::icd10_for`]; a
    /// list loaded without a window applies to every date).
    pub fn mce_for(&self, date: NaiveDate) -> Option<&Dated<mce::MceTable>> {
        dated_in_force(&self.mce, date)
    }

    /// The PFS relative value file in force on a date of service, if one is loaded. Strict:
    /// a payment is never computed with another period's values.
    pub fn pfs_rvu_for(&self, date: NaiveDate) -> Option<&Dated<pfs::RvuTable>> {
        dated_in_force(&self.pfs_rvu, date)
    }

    /// The GPCI file in force on a date of service, if one is loaded (strict, like
    /// [`Tables::pfs_rvu_for`]).
    pub fn pfs_gpci_for(&self, date: NaiveDate) -> Option<&Dated<pfs::GpciTable>> {
        dated_in_force(&self.pfs_gpci, date)
    }

    /// True when the loaded table of `kind` is marked partial in the manifest.
    pub fn is_partial(&self, kind: Kind) -> bool {
        self.versions.iter().any(|v| v.kind == kind && v.partial)
    }

    /// The version label of a table, for messages.
    pub fn version_of(&self, kind: Kind, setting: Option<Setting>) -> Option<&str> {
        self.versions
            .iter()
            .find(|v| v.kind == kind && (setting.is_none() || v.setting == setting))
            .map(|v| v.version.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn fiscal_years_start_on_1_october() {
        assert_eq!(fiscal_year(d("2024-09-30")), 2024);
        assert_eq!(fiscal_year(d("2024-10-01")), 2025);
        assert_eq!(fiscal_year(d("2025-01-15")), 2025);
        assert_eq!(fiscal_year_span(2025), (d("2024-10-01"), d("2025-09-30")));
    }

    #[test]
    fn a_code_set_is_never_borrowed_from_another_year() {
        let set = |start: &str, end: &str, v: &str| Dated {
            window: Window::parse(start, end).unwrap(),
            table: Arc::new(icd10::Icd10Table::default()),
            version: v.into(),
        };
        let t = Tables {
            icd10: vec![
                set("2024-10-01", "2025-09-30", "FY2025"),
                set("2025-10-01", "2026-09-30", "FY2026"),
            ],
            ..Default::default()
        };
        assert_eq!(t.icd10_for(d("2025-09-30")).unwrap().version, "FY2025");
        assert_eq!(t.icd10_for(d("2025-10-01")).unwrap().version, "FY2026");
        assert!(
            t.icd10_for(d("2024-09-30")).is_none(),
            "FY2024 is not loaded"
        );
        assert!(
            t.icd10_for(d("2026-10-01")).is_none(),
            "FY2027 is not loaded"
        );
        let open = Tables {
            mce: vec![Dated {
                window: Window::OPEN,
                table: Arc::new(mce::MceTable::default()),
                version: "sample".into(),
            }],
            ..Default::default()
        };
        assert!(
            open.mce_for(d("2030-01-01")).is_some(),
            "no window: every date"
        );
    }
}
