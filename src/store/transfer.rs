//! Moving rules between a directory and a rule store: `claimscrub rules import` (a team
//! keeps its rules in git and loads them from CI/CD) and `claimscrub rules export`.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::{Put, PutError, RuleStore, tests_name};
use crate::admin::history::{Entry, write_atomic};
use crate::admin::rfc3339;
use crate::registry::RuleRegistry;
use crate::rules::compile::content_version;
use crate::rules::{RuleFile, RuleSource};

/// What an import did, file by file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Files stored as a new version: (file, rule id, version).
    pub imported: Vec<(String, String, String)>,
    /// Files whose script and tests are already the stored ones.
    pub unchanged: Vec<String>,
    /// Files refused, with why (they do not compile, their tests fail, ...).
    pub failed: Vec<String>,
}

/// Imports every rule file of `files` into `store`. Each is checked exactly like a put —
/// compiled and its own tests run by `checker` against its tables — and stored with the
/// action `import` unless its script and tests equal the live ones (`live`, the store's
/// current files), so importing the same directory twice changes nothing.
pub fn import(
    files: &[RuleFile],
    live: &[RuleFile],
    store: &dyn RuleStore,
    checker: &RuleRegistry,
    author: &str,
) -> io::Result<ImportReport> {
    let mut report = ImportReport::default();
    let disabled = store.disabled()?;
    for file in files {
        if disabled.iter().any(|d| d.file == file.name) {
            report.failed.push(format!(
                "{}: disabled in the store; enable it there first (an import never turns a rule back on)",
                file.name
            ));
            continue;
        }
        let (Ok(source), tests) = (&file.source, text_of(file.tests.as_ref())) else {
            report.failed.push(format!("{}: cannot be read", file.name));
            continue;
        };
        let current = live.iter().find(|l| l.name == file.name);
        let stored_shadow = current.is_some_and(|c| c.shadow);
        if current.is_some_and(|c| {
            c.source.as_ref().ok() == Some(source)
                && text_of(c.tests.as_ref()) == tests
                && c.shadow == file.shadow
        }) {
            report.unchanged.push(file.name.clone());
            continue;
        }
        let (compiled, results) = checker.check_candidate(file);
        let rule = match compiled {
            Ok(rule) => rule,
            Err(e) => {
                report.failed.push(e.to_string());
                continue;
            }
        };
        if let Some(why) = results.iter().find_map(|(_, r)| r.clone().err()) {
            report
                .failed
                .push(format!("{}: test case failed: {why}", file.name));
            continue;
        }
        let entry = Entry {
            version: rule.version.clone(),
            author: author.to_string(),
            time: rfc3339(SystemTime::now()),
            comment: "imported".into(),
            action: "import".into(),
        };
        let expected = current
            .and_then(|c| c.source.as_ref().ok())
            .map_or_else(String::new, |s| content_version(s));
        let put = Put {
            file: &file.name,
            id: &rule.meta.id,
            source,
            // The directory's tests replace the stored ones, also when it has none: the
            // rule was checked with exactly these.
            tests: Some(tests.as_deref().unwrap_or("")),
            history_tests: tests.as_deref(),
            expected: Some(&expected),
            entry: &entry,
        };
        // A put keeps the stored state; `NAME.rhai.shadow` in the directory says shadow.
        match store.put(&put).and_then(|()| {
            if stored_shadow != file.shadow {
                store.set_shadow(&file.name, file.shadow)?;
            }
            Ok(())
        }) {
            Ok(()) => report
                .imported
                .push((file.name.clone(), rule.meta.id.clone(), rule.version.clone())),
            Err(PutError::Stale { current, by }) => report.failed.push(format!(
                "{}: changed in the store during the import (now {current}{}); run the import again",
                file.name,
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" by {by}")
                }
            )),
            Err(PutError::Io(e)) => return Err(e),
        }
    }
    Ok(report)
}

fn text_of(tests: Option<&(String, Result<String, String>)>) -> Option<String> {
    tests.and_then(|(_, t)| t.as_ref().ok().cloned())
}

/// Writes every enabled rule of `source` (script and test file, byte for byte) into `dir`,
/// which must exist; a rule in shadow as `NAME.rhai.shadow`. Returns the files written.
pub fn export(source: &dyn RuleSource, dir: &Path) -> io::Result<Vec<String>> {
    let mut written = Vec::new();
    for file in source.list()? {
        let script = file.source.map_err(io::Error::other)?;
        let name = if file.shadow {
            super::shadow_name(&file.name)
        } else {
            file.name.clone()
        };
        write_atomic(&dir.join(&name), script.as_bytes())?;
        if let Some((_, tests)) = file.tests {
            let tests = tests.map_err(io::Error::other)?;
            write_atomic(&dir.join(tests_name(&file.name)), tests.as_bytes())?;
        }
        written.push(name);
    }
    Ok(written)
}
