//! The table store: loads the manifest's tables (in parallel, reusing unchanged ones), and
//! publishes them as one immutable [`Tables`] snapshot swapped atomically. A malformed file
//! fails the whole reload with its line number; the previous tables stay active.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

use super::manifest::{self, Entry, Format, Kind, Setting};
use super::read::{Input, TableError, open};
use super::{
    Dated, NamedFees, TableVersion, Tables, Window, aoc, fee, hcpcs, icd10, mce, modifier, mue,
    pfs, ptp,
};

type GroupKey = (Kind, Option<Setting>, Window, String);
type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

#[derive(Clone)]
enum Loaded {
    Ptp(Arc<ptp::PtpTable>),
    Mue(Arc<mue::MueTable>),
    Aoc(Arc<aoc::AocTable>),
    Icd10(Arc<icd10::Icd10Table>),
    Mce(Arc<mce::MceTable>),
    Hcpcs(Arc<hcpcs::HcpcsTable>),
    Modifiers(Arc<modifier::ModifierTable>),
    Rvu(Arc<pfs::RvuTable>),
    Gpci(Arc<pfs::GpciTable>),
    Fees(Arc<fee::FeeTable>),
}

impl Loaded {
    fn rows(&self) -> usize {
        match self {
            Loaded::Ptp(t) => t.len(),
            Loaded::Mue(t) => t.len(),
            Loaded::Aoc(t) => t.len(),
            Loaded::Icd10(t) => t.len(),
            Loaded::Mce(t) => t.len(),
            Loaded::Hcpcs(t) => t.len(),
            Loaded::Modifiers(t) => t.len(),
            Loaded::Rvu(t) => t.len(),
            Loaded::Gpci(t) => t.len(),
            Loaded::Fees(t) => t.len(),
        }
    }
}

/// What a (re)load did.
#[derive(Debug, Clone, Default)]
pub struct TableReport {
    /// Tables now active.
    pub versions: Vec<TableVersion>,
    /// Groups read from disk this time.
    pub loaded: usize,
    /// Groups reused unchanged.
    pub reused: usize,
    /// Wall time of the reload.
    pub millis: u128,
}

/// Refuses a freshly read table that cannot be what was meant: no rows (an empty,
/// header-only or cut-off file), or fewer than half the rows of the same table in force
/// under the same version label (a half-written file). A genuinely smaller table is loaded
/// when its version label in the manifest changes.
fn check_rows(
    key: &GroupKey,
    entries: &[&Entry],
    loaded: &Loaded,
    in_force: &Tables,
) -> Result<(), TableError> {
    let (kind, setting, _, name) = key;
    let files = entries
        .iter()
        .map(|e| e.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let table = format!("{} table {files}", kind.as_str());
    let rows = loaded.rows();
    if rows == 0 {
        return Err(TableError::Suspicious {
            table,
            message: "has no rows (empty, header-only or cut off); not loaded".into(),
        });
    }
    let version = entries
        .iter()
        .map(|e| e.version.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let before = in_force.versions.iter().find(|v| {
        v.kind == *kind && v.setting == *setting && v.name == *name && v.version == version
    });
    if let Some(before) = before
        && rows * 2 < before.rows
    {
        return Err(TableError::Suspicious {
            table,
            message: format!(
                "now has {rows} rows, less than half the {} rows of version {version} in force: it looks cut off, so the table in force stays (give a genuinely smaller table a new version label in the manifest)",
                before.rows
            ),
        });
    }
    Ok(())
}

/// Holds the active tables and reloads them.
pub struct TableStore {
    manifest: Option<PathBuf>,
    current: ArcSwap<Tables>,
    cache: Mutex<BTreeMap<GroupKey, (Fingerprint, Loaded)>>,
    seen: Mutex<Fingerprint>,
}

fn fingerprint(paths: impl IntoIterator<Item = PathBuf>) -> Fingerprint {
    paths
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (p, len, modified)
        })
        .collect()
}

fn load_group(kind: Kind, entries: &[&Entry]) -> Result<Loaded, TableError> {
    let zip_filter: &dyn Fn(&str) -> bool = match kind {
        Kind::Mue => &|n: &str| n.ends_with(".csv"),
        Kind::PfsRvu => &|n: &str| n.ends_with(".csv") && n.contains("pprrvu"),
        Kind::PfsGpci => &|n: &str| n.ends_with(".csv") && n.contains("gpci"),
        Kind::Icd10cm => &|n: &str| n.ends_with(".txt") && n.contains("order"),
        _ => &|n: &str| n.ends_with(".txt"),
    };
    // Reads every input of every entry into one table with `read(table, format, input)`.
    fn each<T: Default>(
        entries: &[&Entry],
        zip_filter: &dyn Fn(&str) -> bool,
        mut read: impl FnMut(&mut T, Format, &mut Input) -> Result<(), TableError>,
    ) -> Result<T, TableError> {
        let mut table = T::default();
        for e in entries {
            for mut input in open(&e.path, zip_filter)? {
                read(&mut table, e.format, &mut input)?;
            }
        }
        Ok(table)
    }
    let f = zip_filter;
    Ok(match kind {
        Kind::NcciPtp => {
            let b = each(
                entries,
                f,
                |b: &mut ptp::PtpBuilder, format, i| match format {
                    Format::Cms => b.load_cms(i),
                    Format::Tsv => b.load_tsv(i),
                },
            )?;
            Loaded::Ptp(Arc::new(b.build()))
        }
        Kind::Mue => Loaded::Mue(Arc::new(each(
            entries,
            f,
            |t: &mut mue::MueTable, format, i| match format {
                Format::Cms => t.load_cms(i),
                Format::Tsv => t.load_tsv(i),
            },
        )?)),
        Kind::Aoc => Loaded::Aoc(Arc::new(each(
            entries,
            f,
            |t: &mut aoc::AocTable, _, i| t.load(i),
        )?)),
        Kind::Icd10cm => Loaded::Icd10(Arc::new(each(
            entries,
            f,
            |t: &mut icd10::Icd10Table, format, i| match format {
                Format::Cms => t.load_cms(i),
                Format::Tsv => t.load_tsv(i),
            },
        )?)),
        Kind::Mce => Loaded::Mce(Arc::new(each(
            entries,
            f,
            |t: &mut mce::MceTable, _, i| t.load_tsv(i),
        )?)),
        Kind::Hcpcs => Loaded::Hcpcs(Arc::new(each(
            entries,
            f,
            |t: &mut hcpcs::HcpcsTable, _, i| t.load_tsv(i),
        )?)),
        Kind::Modifier => Loaded::Modifiers(Arc::new(each(
            entries,
            f,
            |t: &mut modifier::ModifierTable, _, i| t.load_tsv(i),
        )?)),
        Kind::PfsRvu => Loaded::Rvu(Arc::new(each(
            entries,
            f,
            |t: &mut pfs::RvuTable, _, i| t.load_cms(i),
        )?)),
        Kind::PfsGpci => Loaded::Gpci(Arc::new(each(
            entries,
            f,
            |t: &mut pfs::GpciTable, _, i| t.load_cms(i),
        )?)),
        Kind::FeeSchedule => Loaded::Fees(Arc::new(each(
            entries,
            f,
            |t: &mut fee::FeeTable, _, i| t.load_tsv(i),
        )?)),
    })
}

impl TableStore {
    /// A store with no tables (rules that need tables find none).
    pub fn empty() -> Self {
        Self {
            manifest: None,
            current: ArcSwap::from_pointee(Tables::default()),
            cache: Mutex::new(BTreeMap::new()),
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Loads every table of `manifest`; fails on the first malformed file.
    pub fn load(manifest: &Path) -> Result<(Self, TableReport), TableError> {
        let store = Self {
            manifest: Some(manifest.to_path_buf()),
            ..Self::empty()
        };
        let report = store.reload()?;
        Ok((store, report))
    }

    /// Loads `manifest` if given, else an empty store.
    pub fn open(manifest: Option<&Path>) -> Result<(Self, TableReport), TableError> {
        match manifest {
            Some(m) => Self::load(m),
            None => Ok((Self::empty(), TableReport::default())),
        }
    }

    /// The manifest path, if any.
    pub fn manifest(&self) -> Option<&Path> {
        self.manifest.as_deref()
    }

    /// The active tables.
    pub fn snapshot(&self) -> Arc<Tables> {
        self.current.load_full()
    }

    /// True when the manifest or any table file changed (size or mtime) since the last load.
    pub fn changed_on_disk(&self) -> bool {
        let seen = self.seen.lock().expect("seen lock");
        let now = fingerprint(seen.iter().map(|(p, _, _)| p.clone()));
        *seen != now
    }

    /// Re-reads the manifest, reloads groups whose files changed, and publishes the result.
    /// On any error nothing changes.
    pub fn reload(&self) -> Result<TableReport, TableError> {
        let Some(manifest_path) = &self.manifest else {
            return Ok(TableReport::default());
        };
        let started = Instant::now();
        let entries = manifest::load(manifest_path)?;
        let in_force = self.current.load_full();
        if entries.is_empty() && !in_force.versions.is_empty() {
            return Err(TableError::Suspicious {
                table: manifest_path.display().to_string(),
                message: "the manifest lists no tables; the tables in force stay (an empty manifest would silently turn every table edit off)".into(),
            });
        }
        let mut groups: BTreeMap<GroupKey, Vec<&Entry>> = BTreeMap::new();
        for e in &entries {
            groups
                .entry((e.kind, e.setting, e.window, e.name.clone()))
                .or_default()
                .push(e);
        }
        let old = self.cache.lock().expect("cache lock").clone();
        let mut report = TableReport::default();
        let mut todo = Vec::new();
        let mut done: BTreeMap<GroupKey, (Fingerprint, Loaded)> = BTreeMap::new();
        for (key, es) in &groups {
            let fp = fingerprint(es.iter().map(|e| e.path.clone()));
            match old.get(key) {
                Some((old_fp, loaded)) if *old_fp == fp => {
                    report.reused += 1;
                    done.insert(key.clone(), (fp, loaded.clone()));
                }
                _ => todo.push((key.clone(), es.clone(), fp)),
            }
        }
        report.loaded = todo.len();
        let results: Vec<Result<(GroupKey, Fingerprint, Loaded), TableError>> =
            std::thread::scope(|s| {
                let handles: Vec<_> = todo
                    .into_iter()
                    .map(|(key, es, fp)| {
                        s.spawn(move || load_group(key.0, &es).map(|l| (key, fp, l)))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(TableError::Io {
                                file: "table loader".into(),
                                message: "panicked".into(),
                            })
                        })
                    })
                    .collect()
            });
        for r in results {
            let (key, fp, loaded) = r?;
            check_rows(&key, &groups[&key], &loaded, &in_force)?;
            done.insert(key, (fp, loaded));
        }

        let mut tables = Tables::default();
        for (key, (_, loaded)) in &done {
            let (kind, setting, window, ref name) = *key;
            let version = groups[key]
                .iter()
                .map(|e| e.version.as_str())
                .collect::<Vec<_>>()
                .join(" + ");
            tables.versions.push(TableVersion {
                kind,
                setting,
                version: version.clone(),
                name: name.clone(),
                rows: loaded.rows(),
                partial: groups[key].iter().any(|e| e.partial),
            });
            match (loaded, setting) {
                (Loaded::Ptp(t), Some(Setting::Practitioner)) => tables.ptp[0] = Some(t.clone()),
                (Loaded::Ptp(t), Some(Setting::OutpatientHospital)) => {
                    tables.ptp[1] = Some(t.clone())
                }
                (Loaded::Mue(t), Some(s)) => tables.mue[s as usize] = Some(t.clone()),
                (Loaded::Aoc(t), _) => tables.aoc = Some(t.clone()),
                (Loaded::Icd10(t), _) => tables.icd10.push(Dated {
                    window,
                    table: t.clone(),
                    version,
                }),
                (Loaded::Rvu(t), _) => tables.pfs_rvu.push(Dated {
                    window,
                    table: t.clone(),
                    version,
                }),
                (Loaded::Gpci(t), _) => tables.pfs_gpci.push(Dated {
                    window,
                    table: t.clone(),
                    version,
                }),
                (Loaded::Fees(t), _) => {
                    tables.fees.insert(
                        name.clone(),
                        NamedFees {
                            table: t.clone(),
                            version,
                        },
                    );
                }
                (Loaded::Mce(t), _) => tables.mce.push(Dated {
                    window,
                    table: t.clone(),
                    version,
                }),
                (Loaded::Hcpcs(t), _) => tables.hcpcs = Some(t.clone()),
                (Loaded::Modifiers(t), _) => tables.modifiers = Some(t.clone()),
                _ => {}
            }
        }
        tables.icd10.sort_by_key(|t| t.window.start);
        tables.mce.sort_by_key(|t| t.window.start);
        tables.pfs_rvu.sort_by_key(|t| t.window.start);
        tables.pfs_gpci.sort_by_key(|t| t.window.start);
        report.versions = tables.versions.clone();
        let mut paths: Vec<PathBuf> = vec![manifest_path.clone()];
        paths.extend(entries.iter().map(|e| e.path.clone()));
        *self.seen.lock().expect("seen lock") = fingerprint(paths);
        *self.cache.lock().expect("cache lock") = done;
        self.current.store(Arc::new(tables));
        report.millis = started.elapsed().as_millis();
        Ok(report)
    }
}
