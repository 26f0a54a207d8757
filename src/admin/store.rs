//! The rule store: every read and write the admin API makes — rule files, their test files,
//! the enabled/disabled state, the version history and the audit log — behind one trait.
//! The rules directory is the implementation today ([`FsRuleStore`]); a shared store (one
//! database for every replica) implements the same trait.
//!
//! Every method blocks (file or network I/O): call it from a blocking thread, never from
//! async code.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::audit::{AuditLog, Record};
use super::history::{Entry, History, write_atomic};
use crate::rules::source::{RULE_SUFFIX, TESTS_SUFFIX};

/// Suffix a disabled rule file carries (`NAME.rhai.disabled`).
pub const DISABLED_SUFFIX: &str = ".disabled";

/// A rule that is stored but switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledRule {
    /// The rule file name it has when enabled (`NAME.rhai`).
    pub file: String,
    /// Its script.
    pub source: String,
    /// Its test file, if any.
    pub tests: Option<String>,
}

/// Where the admin API keeps rules, their history and its audit trail.
pub trait RuleStore: Send + Sync {
    /// Human-readable location, for messages.
    fn describe(&self) -> String;
    /// The test file text of rule file `file`, if it has one.
    fn read_tests(&self, file: &str) -> io::Result<Option<String>>;
    /// Writes rule file `file` (and its test file when `tests` is given), each atomically.
    fn write_rule(&self, file: &str, source: &str, tests: Option<&str>) -> io::Result<()>;
    /// Switches rule file `file` off, keeping its text.
    fn disable(&self, file: &str) -> io::Result<()>;
    /// Switches a disabled rule back on.
    fn enable(&self, file: &str) -> io::Result<()>;
    /// Removes rule file `file` and its test file (the history keeps every version).
    fn delete(&self, file: &str) -> io::Result<()>;
    /// Every disabled rule.
    fn disabled(&self) -> io::Result<Vec<DisabledRule>>;
    /// Stores a version's text (once) and appends the action to the rule's history.
    fn record(&self, id: &str, source: &str, tests: Option<&str>, entry: &Entry) -> io::Result<()>;
    /// A rule's history, newest first.
    fn history(&self, id: &str) -> io::Result<Vec<Entry>>;
    /// The script and tests of a stored version.
    fn version(&self, id: &str, version: &str) -> io::Result<Option<(String, Option<String>)>>;
    /// Appends one audit record (never fails the call it records; errors are logged).
    fn audit(&self, record: &Record<'_>);
}

/// The rules directory as the rule store: the files every replica's watcher reads,
/// `.history/` beside them, and the configured audit log.
pub struct FsRuleStore {
    dir: PathBuf,
    history: History,
    audit: Arc<AuditLog>,
}

impl FsRuleStore {
    /// The store of `dir`, auditing to `audit`.
    pub fn new(dir: &Path, audit: Arc<AuditLog>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            history: History::new(dir),
            audit,
        }
    }

    fn path(&self, file: &str) -> io::Result<PathBuf> {
        let plain = !file.is_empty()
            && !file.starts_with('.')
            && !file.contains(['/', '\\'])
            && file.ends_with(RULE_SUFFIX);
        if plain {
            Ok(self.dir.join(file))
        } else {
            Err(io::Error::other(format!(
                "{file:?} is not a rule file name"
            )))
        }
    }
}

/// The test file beside rule file `name` (`x.rhai` → `x.tests.json`).
pub fn tests_name(name: &str) -> String {
    format!("{}{TESTS_SUFFIX}", name.trim_end_matches(RULE_SUFFIX))
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl RuleStore for FsRuleStore {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn read_tests(&self, file: &str) -> io::Result<Option<String>> {
        read_optional(&self.dir.join(tests_name(file)))
    }

    fn write_rule(&self, file: &str, source: &str, tests: Option<&str>) -> io::Result<()> {
        let path = self.path(file)?;
        if let Some(tests) = tests {
            write_atomic(&self.dir.join(tests_name(file)), tests.as_bytes())?;
        }
        write_atomic(&path, source.as_bytes())
    }

    fn disable(&self, file: &str) -> io::Result<()> {
        let path = self.path(file)?;
        std::fs::rename(&path, self.dir.join(format!("{file}{DISABLED_SUFFIX}")))
    }

    fn enable(&self, file: &str) -> io::Result<()> {
        let path = self.path(file)?;
        std::fs::rename(self.dir.join(format!("{file}{DISABLED_SUFFIX}")), path)
    }

    fn delete(&self, file: &str) -> io::Result<()> {
        std::fs::remove_file(self.path(file)?)?;
        match std::fs::remove_file(self.dir.join(tests_name(file))) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn disabled(&self) -> io::Result<Vec<DisabledRule>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(file) = name.strip_suffix(DISABLED_SUFFIX) else {
                continue;
            };
            if !file.ends_with(RULE_SUFFIX) || file.starts_with('.') {
                continue;
            }
            let Some(source) = read_optional(&entry.path())? else {
                continue;
            };
            out.push(DisabledRule {
                file: file.to_string(),
                tests: self.read_tests(file)?,
                source,
            });
        }
        out.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(out)
    }

    fn record(&self, id: &str, source: &str, tests: Option<&str>, entry: &Entry) -> io::Result<()> {
        self.history.record(id, source, tests, entry)
    }

    fn history(&self, id: &str) -> io::Result<Vec<Entry>> {
        self.history.entries(id)
    }

    fn version(&self, id: &str, version: &str) -> io::Result<Option<(String, Option<String>)>> {
        self.history.version(id, version)
    }

    fn audit(&self, record: &Record<'_>) {
        self.audit.write(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> FsRuleStore {
        FsRuleStore::new(dir, Arc::new(AuditLog::to_writer(std::io::sink())))
    }

    #[test]
    fn disable_enable_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.write_rule("a.rhai", "let rule = 1;", Some("{}")).unwrap();
        assert_eq!(s.read_tests("a.rhai").unwrap().as_deref(), Some("{}"));
        s.disable("a.rhai").unwrap();
        assert!(!dir.path().join("a.rhai").exists());
        assert_eq!(
            s.disabled().unwrap(),
            vec![DisabledRule {
                file: "a.rhai".into(),
                source: "let rule = 1;".into(),
                tests: Some("{}".into()),
            }]
        );
        s.enable("a.rhai").unwrap();
        assert!(s.disabled().unwrap().is_empty());
        s.delete("a.rhai").unwrap();
        assert!(!dir.path().join("a.rhai").exists());
        assert_eq!(s.read_tests("a.rhai").unwrap(), None);
    }

    #[test]
    fn refuses_names_outside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for bad in ["../x.rhai", "x/y.rhai", ".hidden.rhai", "x.txt", ""] {
            assert!(s.write_rule(bad, "x", None).is_err(), "{bad}");
        }
    }
}
