//! The table manifest: which files to load, in which layout, under which version label.
//!
//! ```toml
//! [[table]]
//! kind = "ncci_ptp"              # ncci_ptp, mue, aoc, icd10cm, mce, hcpcs, modifier,
//!                                # pfs_rvu, pfs_gpci, fee_schedule
//! setting = "practitioner"       # ncci_ptp: practitioner | outpatient_hospital;
//!                                # mue: also dme_supplier; other kinds: none
//! path = "ncci/ptp_practitioner.tsv.gz"   # relative to this file; .gz and CMS .zip read directly
//! format = "tsv"                 # "cms" (CMS's own layout) or "tsv" (plain layout)
//! version = "NCCI 2024Q3"        # shown in responses and messages
//! # name = "acme-2025"           # fee_schedule only: the name reimbursement rules use
//! # effective = "2024-10-01"     # optional validity window (icd10cm, mce, pfs_rvu,
//!                                # pfs_gpci: e.g. an ICD-10-CM or MCE fiscal year, a PFS
//!                                # calendar year); without one the table applies to every date
//! # end = "2025-09-30"
//! # partial = true             # a sample: codes missing from it are unknown, not invalid
//! ```
//! Several entries with the same kind, setting and window are merged (CMS ships the
//! practitioner PTP table as four files).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Window;
use super::read::TableError;

/// Table kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// NCCI procedure-to-procedure edits.
    NcciPtp,
    /// Medically unlikely edits.
    Mue,
    /// Add-on code edits.
    Aoc,
    /// ICD-10-CM code set.
    Icd10cm,
    /// Medicare Code Editor age/sex/manifestation lists.
    Mce,
    /// HCPCS Level II codes.
    Hcpcs,
    /// HCPCS Level II and CPT modifiers.
    Modifier,
    /// Medicare PFS national relative value file (PPRRVU).
    PfsRvu,
    /// Medicare PFS geographic practice cost indices by locality.
    PfsGpci,
    /// A payer's own fee table (named).
    FeeSchedule,
}

impl Kind {
    /// The manifest name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NcciPtp => "ncci_ptp",
            Kind::Mue => "mue",
            Kind::Aoc => "aoc",
            Kind::Icd10cm => "icd10cm",
            Kind::Mce => "mce",
            Kind::Hcpcs => "hcpcs",
            Kind::Modifier => "modifier",
            Kind::PfsRvu => "pfs_rvu",
            Kind::PfsGpci => "pfs_gpci",
            Kind::FeeSchedule => "fee_schedule",
        }
    }

    /// Parses a manifest name.
    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::NcciPtp,
            Kind::Mue,
            Kind::Aoc,
            Kind::Icd10cm,
            Kind::Mce,
            Kind::Hcpcs,
            Kind::Modifier,
            Kind::PfsRvu,
            Kind::PfsGpci,
            Kind::FeeSchedule,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Care settings of the NCCI tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// Practitioner services (professional claims).
    Practitioner = 0,
    /// Outpatient hospital services (institutional claims).
    OutpatientHospital = 1,
    /// DME supplier services (MUE only).
    DmeSupplier = 2,
}

impl Setting {
    /// The manifest name.
    pub fn as_str(self) -> &'static str {
        match self {
            Setting::Practitioner => "practitioner",
            Setting::OutpatientHospital => "outpatient_hospital",
            Setting::DmeSupplier => "dme_supplier",
        }
    }
}

/// Input layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// CMS's own distribution layout.
    Cms,
    /// The plain tab-separated layout with a header row.
    Tsv,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    kind: Kind,
    setting: Option<Setting>,
    name: Option<String>,
    path: String,
    format: Format,
    version: String,
    effective: Option<String>,
    end: Option<String>,
    #[serde(default)]
    partial: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    table: Vec<RawEntry>,
}

/// One checked manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Table kind.
    pub kind: Kind,
    /// Setting (required for PTP and MUE, absent otherwise).
    pub setting: Option<Setting>,
    /// Fee schedule name (fee_schedule only; empty otherwise).
    pub name: String,
    /// Absolute or manifest-relative path, resolved.
    pub path: PathBuf,
    /// Layout.
    pub format: Format,
    /// Version label.
    pub version: String,
    /// Validity window.
    pub window: Window,
    /// A sample, not the complete list: a code missing from it is unknown, not invalid.
    pub partial: bool,
}

/// Reads and checks a manifest. Errors name the entry and the problem.
pub fn load(path: &Path) -> Result<Vec<Entry>, TableError> {
    let file = path.display().to_string();
    let err = |message: String| TableError::Manifest {
        file: file.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let raw: RawManifest = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::with_capacity(raw.table.len());
    for (i, e) in raw.table.into_iter().enumerate() {
        let at = |m: &str| err(format!("[[table]] #{} ({}): {m}", i + 1, e.path));
        match (e.kind, e.setting) {
            (Kind::NcciPtp, Some(Setting::Practitioner | Setting::OutpatientHospital)) => {}
            (Kind::NcciPtp, _) => {
                return Err(at(
                    "ncci_ptp needs setting = \"practitioner\" or \"outpatient_hospital\"",
                ));
            }
            (Kind::Mue, Some(_)) => {}
            (Kind::Mue, None) => {
                return Err(at(
                    "mue needs a setting: practitioner, outpatient_hospital or dme_supplier",
                ));
            }
            (_, Some(_)) => return Err(at("only ncci_ptp and mue tables have a setting")),
            _ => {}
        }
        if e.format == Format::Cms && matches!(e.kind, Kind::Mce | Kind::Hcpcs | Kind::Modifier) {
            return Err(at(
                "CMS distributes this list as a spreadsheet; convert it to the plain TSV layout (format = \"tsv\")",
            ));
        }
        if e.format == Format::Tsv && matches!(e.kind, Kind::PfsRvu | Kind::PfsGpci) {
            return Err(at(
                "PFS tables are read in CMS's own CSV layout (format = \"cms\"), as CMS publishes them",
            ));
        }
        if e.format == Format::Cms && e.kind == Kind::FeeSchedule {
            return Err(at(
                "a payer fee schedule is a plain TSV (format = \"tsv\"): code, modifier, amount, effective_date, end_date",
            ));
        }
        let name = e.name.as_deref().map(str::trim).unwrap_or("").to_string();
        match (e.kind, name.is_empty()) {
            (Kind::FeeSchedule, true) => {
                return Err(at(
                    "fee_schedule needs a name (reimbursement rules look the table up by it)",
                ));
            }
            (Kind::FeeSchedule, false) => {}
            (_, false) => return Err(at("only fee_schedule tables have a name")),
            (_, true) => {}
        }
        if !matches!(
            e.kind,
            Kind::Icd10cm | Kind::Mce | Kind::PfsRvu | Kind::PfsGpci
        ) && (e.effective.is_some() || e.end.is_some())
        {
            return Err(at(
                "effective/end apply to icd10cm, mce, pfs_rvu and pfs_gpci tables only; other tables carry their dates in their rows",
            ));
        }
        if e.version.trim().is_empty() {
            return Err(at("version must not be empty"));
        }
        let window = Window::parse(
            e.effective.as_deref().unwrap_or(""),
            e.end.as_deref().unwrap_or(""),
        )
        .map_err(|m| at(&m))?;
        let p = PathBuf::from(&e.path);
        out.push(Entry {
            kind: e.kind,
            setting: e.setting,
            name,
            path: if p.is_absolute() { p } else { base.join(p) },
            format: e.format,
            version: e.version.trim().to_string(),
            window,
            partial: e.partial,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tables.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn resolves_paths_relative_to_the_manifest() {
        let (dir, p) = write(
            "[[table]]\nkind = \"mue\"\nsetting = \"dme_supplier\"\npath = \"m.tsv\"\nformat = \"tsv\"\nversion = \"MUE 2024Q3\"\n",
        );
        let e = load(&p).unwrap();
        assert_eq!(e[0].path, dir.path().join("m.tsv"));
        assert_eq!(e[0].setting, Some(Setting::DmeSupplier));
    }

    #[test]
    fn rejects_missing_settings_and_unknown_keys() {
        let (_d, p) = write(
            "[[table]]\nkind = \"ncci_ptp\"\npath = \"x\"\nformat = \"tsv\"\nversion = \"v\"\n",
        );
        assert!(
            load(&p)
                .unwrap_err()
                .to_string()
                .contains("ncci_ptp needs setting")
        );
        let (_d, p) = write(
            "[[table]]\nkind = \"aoc\"\npath = \"x\"\nformat = \"tsv\"\nversion = \"v\"\nsetings = 1\n",
        );
        assert!(load(&p).unwrap_err().to_string().contains("setings"));
        let (_d, p) =
            write("[[table]]\nkind = \"ptp\"\npath = \"x\"\nformat = \"tsv\"\nversion = \"v\"\n");
        assert!(load(&p).unwrap_err().to_string().contains("ptp"));
    }
}
