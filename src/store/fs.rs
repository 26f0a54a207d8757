//! The rules directory as the rule store: rule files and their tests beside each other,
//! `NAME.rhai.shadow` for a rule in shadow, `NAME.rhai.disabled` for a disabled rule,
//! `.history/` for versions, and the configured audit log file.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DISABLED_SUFFIX, DisabledRule, Put, PutError, RuleStore, shadow_name, tests_name};
use crate::admin::audit::{AuditLog, Record};
use crate::admin::history::{Entry, History, write_atomic};
use crate::rules::source::RULE_SUFFIX;

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

    /// A write never recreates a deleted rules directory: that would publish a rule set
    /// of just the written rule.
    fn ensure_dir(&self) -> io::Result<()> {
        if self.dir.is_dir() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "the rules directory {} does not exist (deleted or not mounted); it is not recreated",
                    self.dir.display()
                ),
            ))
        }
    }

    fn path(&self, file: &str) -> io::Result<PathBuf> {
        self.ensure_dir()?;
        if super::is_rule_file_name(file) {
            Ok(self.dir.join(file))
        } else {
            Err(io::Error::other(format!(
                "{file:?} is not a rule file name"
            )))
        }
    }
}

impl FsRuleStore {
    /// Where enabled rule file `file` is now: `NAME.rhai`, or `NAME.rhai.shadow` when only
    /// that exists.
    fn live_path(&self, file: &str) -> io::Result<PathBuf> {
        let path = self.path(file)?;
        let shadow = self.dir.join(shadow_name(file));
        Ok(if !path.exists() && shadow.exists() {
            shadow
        } else {
            path
        })
    }
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

    fn put(&self, put: &Put<'_>) -> Result<(), PutError> {
        // The expected version was checked against the active set under the admin lock; the
        // file itself may hold a broken edit that never loaded, which a put must be able to
        // replace, so it is not compared here.
        // A rule in shadow stays in shadow when edited.
        let path = self.live_path(put.file)?;
        if let Some(tests) = put.tests {
            write_atomic(&self.dir.join(tests_name(put.file)), tests.as_bytes())?;
        }
        write_atomic(&path, put.source.as_bytes())?;
        self.history
            .record(put.id, put.source, put.history_tests, put.entry)?;
        Ok(())
    }

    fn set_shadow(&self, file: &str, shadow: bool) -> io::Result<()> {
        let active = self.path(file)?;
        let in_shadow = self.dir.join(shadow_name(file));
        if shadow {
            std::fs::rename(active, in_shadow)
        } else {
            std::fs::rename(in_shadow, active)
        }
    }

    fn disable(&self, file: &str) -> io::Result<()> {
        let path = self.live_path(file)?;
        std::fs::rename(&path, self.dir.join(format!("{file}{DISABLED_SUFFIX}")))
    }

    fn enable(&self, file: &str, shadow: bool) -> io::Result<()> {
        let active = self.path(file)?;
        let path = if shadow {
            self.dir.join(shadow_name(file))
        } else {
            active
        };
        std::fs::rename(self.dir.join(format!("{file}{DISABLED_SUFFIX}")), path)
    }

    fn delete(&self, file: &str) -> io::Result<()> {
        std::fs::remove_file(self.live_path(file)?)?;
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
        self.ensure_dir()?;
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

    fn put<'a>(
        file: &'a str,
        source: &'a str,
        tests: Option<&'a str>,
        expected: Option<&'a str>,
    ) -> Put<'a> {
        static ENTRY: std::sync::LazyLock<Entry> = std::sync::LazyLock::new(|| Entry {
            version: "aaaaaaaaaaaa".into(),
            author: "ana".into(),
            time: "2026-12-01T00:00:00Z".into(),
            comment: String::new(),
            action: "put".into(),
        });
        Put {
            file,
            id: "a",
            source,
            tests,
            history_tests: tests,
            expected,
            entry: &ENTRY,
        }
    }

    fn store(dir: &Path) -> FsRuleStore {
        FsRuleStore::new(dir, Arc::new(AuditLog::to_writer(std::io::sink())))
    }

    #[test]
    fn disable_enable_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.put(&put("a.rhai", "let rule = 1;", Some("{}"), Some("")))
            .unwrap();
        assert_eq!(s.history("a").unwrap().len(), 1);
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
        s.enable("a.rhai", true).unwrap();
        assert!(s.disabled().unwrap().is_empty());
        assert!(dir.path().join("a.rhai.shadow").exists());
        // An edit of a rule in shadow stays in shadow.
        s.put(&put("a.rhai", "let rule = 2;", None, None)).unwrap();
        assert!(!dir.path().join("a.rhai").exists());
        s.set_shadow("a.rhai", false).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.rhai")).unwrap(),
            "let rule = 2;"
        );
        s.set_shadow("a.rhai", true).unwrap();
        s.delete("a.rhai").unwrap();
        assert!(!dir.path().join("a.rhai").exists());
        assert!(!dir.path().join("a.rhai.shadow").exists());
        assert_eq!(s.read_tests("a.rhai").unwrap(), None);
    }

    #[test]
    fn refuses_names_outside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        for bad in [
            "../x.rhai",
            "x/y.rhai",
            ".hidden.rhai",
            "x.txt",
            "",
            ".rhai",
        ] {
            assert!(s.put(&put(bad, "x", None, None)).is_err(), "{bad}");
        }
    }
}
