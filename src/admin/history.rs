//! Rule history: every accepted version of every rule, kept next to the rules in
//! `<rules>/.history/<rule-id>/` (a hidden directory, so the rules loader ignores it), and so
//! shared by every replica that mounts the directory and kept across restarts:
//! `<version>.rhai` (+ `<version>.tests.json`) per version and `log.jsonl`, one JSON line per
//! action (version, author, time, comment, action). Writes are atomic (temp file, fsync,
//! rename): a crash never leaves a half-written rule.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One history line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Content version.
    pub version: String,
    /// Who.
    pub author: String,
    /// RFC 3339 time.
    pub time: String,
    /// Why.
    pub comment: String,
    /// put, rollback, disable, enable or delete.
    pub action: String,
}

/// Writes `bytes` to `path` atomically: a temp file in the same directory, fsync, rename,
/// fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        // A full disk or a failed rename leaves nothing behind.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The history store of one rules directory.
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
}

/// True for ids that are safe as a history folder name (the rule id syntax).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && !id.starts_with('.')
}

impl History {
    /// The history of `rules_dir`.
    pub fn new(rules_dir: &Path) -> Self {
        Self {
            dir: rules_dir.join(".history"),
        }
    }

    fn rule_dir(&self, id: &str) -> std::io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(std::io::Error::other(format!(
                "{id:?} is not a valid rule id"
            )));
        }
        Ok(self.dir.join(id))
    }

    /// Stores a version's text (once) and appends the action to the log.
    pub fn record(
        &self,
        id: &str,
        source: &str,
        tests: Option<&str>,
        entry: &Entry,
    ) -> std::io::Result<()> {
        let dir = self.rule_dir(id)?;
        fs::create_dir_all(&dir)?;
        let script = dir.join(format!("{}.rhai", entry.version));
        if !script.exists() {
            write_atomic(&script, source.as_bytes())?;
            if let Some(t) = tests {
                write_atomic(
                    &dir.join(format!("{}.tests.json", entry.version)),
                    t.as_bytes(),
                )?;
            }
        }
        let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        line.push('\n');
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("log.jsonl"))?;
        log.write_all(line.as_bytes())?;
        log.sync_all()
    }

    /// Every entry of a rule, newest first.
    pub fn entries(&self, id: &str) -> std::io::Result<Vec<Entry>> {
        let path = self.rule_dir(id)?.join("log.jsonl");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut v: Vec<Entry> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        v.reverse();
        Ok(v)
    }

    /// The text of a stored version: script and tests.
    pub fn version(
        &self,
        id: &str,
        version: &str,
    ) -> std::io::Result<Option<(String, Option<String>)>> {
        if !version.bytes().all(|b| b.is_ascii_hexdigit()) || version.is_empty() {
            return Ok(None);
        }
        let dir = self.rule_dir(id)?;
        match fs::read_to_string(dir.join(format!("{version}.rhai"))) {
            Ok(s) => Ok(Some((
                s,
                fs::read_to_string(dir.join(format!("{version}.tests.json"))).ok(),
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_read_back_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(dir.path());
        let e = |v: &str| Entry {
            version: v.into(),
            author: "ana".into(),
            time: "t".into(),
            comment: "c".into(),
            action: "put".into(),
        };
        h.record("units-positive", "a", Some("[]"), &e("aaaaaaaaaaaa"))
            .unwrap();
        h.record("units-positive", "b", None, &e("bbbbbbbbbbbb"))
            .unwrap();
        let again = History::new(dir.path());
        let entries = again.entries("units-positive").unwrap();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.version.as_str())
                .collect::<Vec<_>>(),
            ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]
        );
        assert_eq!(
            again.version("units-positive", "aaaaaaaaaaaa").unwrap(),
            Some(("a".into(), Some("[]".into())))
        );
        assert!(again.version("units-positive", "../x").unwrap().is_none());
        assert!(h.record("../etc", "x", None, &e("cccccccccccc")).is_err());
    }
}
