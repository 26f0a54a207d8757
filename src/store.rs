//! Where rules are kept: every read and write the admin API and the rule tools make — rule
//! scripts, their test files, the enabled/disabled state, the version history and the audit
//! log — behind one trait, [`RuleStore`]. The registry reads the same place through
//! [`crate::rules::RuleSource`].
//!
//! Two stores: the rules directory ([`fs::FsRuleStore`], the embedded default) and
//! PostgreSQL ([`postgres::PgStore`], shared by every replica, with `LISTEN/NOTIFY` to tell
//! them of changes). Every method blocks (file or network I/O): call it from a blocking
//! thread, never from async code.

pub mod fs;
pub mod postgres;
pub mod transfer;

use std::collections::HashMap;
use std::io;

use crate::admin::audit::Record;
use crate::admin::history::Entry;
use crate::rules::source::{RULE_SUFFIX, SHADOW_SUFFIX, TESTS_SUFFIX};

pub use fs::FsRuleStore;
pub use postgres::PgStore;

/// The name a rule file in shadow has in a directory (`NAME.rhai.shadow`).
pub fn shadow_name(file: &str) -> String {
    format!("{file}{SHADOW_SUFFIX}")
}

/// Suffix a disabled rule file carries in a directory (`NAME.rhai.disabled`).
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

/// A new version of a rule to store.
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    /// The rule file (`NAME.rhai`).
    pub file: &'a str,
    /// The rule id (the history key).
    pub id: &'a str,
    /// The new script.
    pub source: &'a str,
    /// A new test file (`Some("")`: none), or `None` to keep the stored one.
    pub tests: Option<&'a str>,
    /// The test file that goes with this version in the history.
    pub history_tests: Option<&'a str>,
    /// The version the caller saw (`""` = the rule did not exist); `None` skips the check.
    pub expected: Option<&'a str>,
    /// The history entry of this change.
    pub entry: &'a Entry,
}

/// A rule switched off (disabled) or removed (deleted), with the history entry that keeps its
/// version restorable.
#[derive(Debug, Clone, Copy)]
pub struct Retire<'a> {
    /// The rule file (`NAME.rhai`).
    pub file: &'a str,
    /// The rule id.
    pub id: &'a str,
    /// Its script (kept in the history).
    pub source: &'a str,
    /// Its tests (kept in the history).
    pub tests: Option<&'a str>,
    /// The version the caller saw active; a shared store refuses when it is no longer so.
    pub version: &'a str,
    /// Delete rather than disable.
    pub delete: bool,
    /// The history entry.
    pub entry: &'a Entry,
}

/// A rule moved between active and shadow, with the history entry of the move.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    /// The rule file (`NAME.rhai`).
    pub file: &'a str,
    /// The rule id.
    pub id: &'a str,
    /// Its script (kept in the history).
    pub source: &'a str,
    /// Its tests (kept in the history).
    pub tests: Option<&'a str>,
    /// The version the caller saw; a shared store refuses when it is no longer so.
    pub version: &'a str,
    /// To shadow (`true`) or to active (`false`).
    pub shadow: bool,
    /// The history entry.
    pub entry: &'a Entry,
}

/// Why a put was not stored.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// The stored version is no longer the one the caller expected.
    #[error("the stored version is {current:?}{}", if .by.is_empty() { String::new() } else { format!(" (changed by {})", .by) })]
    Stale {
        /// The stored version now ("" = none).
        current: String,
        /// Who stored it, when the store knows.
        by: String,
    },
    /// The store failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Where the admin API keeps rules, their history and its audit trail.
pub trait RuleStore: Send + Sync {
    /// Human-readable location, for messages (never a password).
    fn describe(&self) -> String;
    /// The test file text of rule file `file`, if it has one.
    fn read_tests(&self, file: &str) -> io::Result<Option<String>>;
    /// Stores a new version of a rule with its history entry, if the stored version is still
    /// the expected one (atomically in a shared store).
    fn put(&self, put: &Put<'_>) -> Result<(), PutError>;
    /// Disables or deletes a rule and records it in the history. The default records, then
    /// changes the file; a shared store does both in one transaction, checking the version.
    fn retire(&self, r: &Retire<'_>) -> Result<(), PutError> {
        self.record(r.id, r.source, r.tests, r.entry)?;
        if r.delete {
            self.delete(r.file)?;
        } else {
            self.disable(r.file)?;
        }
        Ok(())
    }
    /// Moves a rule between active and shadow and records it in the history. The default
    /// records, then changes the file; a shared store does both in one transaction, checking
    /// the version.
    fn shift(&self, m: &Move<'_>) -> Result<(), PutError> {
        self.record(m.id, m.source, m.tests, m.entry)?;
        self.set_shadow(m.file, m.shadow)?;
        Ok(())
    }
    /// Puts an enabled rule file in shadow (`true`) or makes it active (`false`).
    fn set_shadow(&self, file: &str, shadow: bool) -> io::Result<()>;
    /// Switches rule file `file` off (from active or shadow), keeping its text.
    fn disable(&self, file: &str) -> io::Result<()>;
    /// Switches a disabled rule back on, active or in shadow.
    fn enable(&self, file: &str, shadow: bool) -> io::Result<()>;
    /// Removes rule file `file` and its test file (the history keeps every version).
    fn delete(&self, file: &str) -> io::Result<()>;
    /// Every disabled rule.
    fn disabled(&self) -> io::Result<Vec<DisabledRule>>;
    /// Stores a version's text (once) and appends the action to the rule's history.
    fn record(&self, id: &str, source: &str, tests: Option<&str>, entry: &Entry) -> io::Result<()>;
    /// A rule's history, newest first.
    fn history(&self, id: &str) -> io::Result<Vec<Entry>>;
    /// The newest history entry of each of `ids` that has one (who last changed each rule).
    fn last_changes(&self, ids: &[&str]) -> io::Result<HashMap<String, Entry>> {
        let mut out = HashMap::new();
        for id in ids {
            if let Some(e) = self.history(id)?.into_iter().next() {
                out.insert((*id).to_string(), e);
            }
        }
        Ok(out)
    }
    /// The script and tests of a stored version.
    fn version(&self, id: &str, version: &str) -> io::Result<Option<(String, Option<String>)>>;
    /// Appends one audit record (never fails the call it records; errors are logged).
    fn audit(&self, record: &Record<'_>);
}

/// The test file beside rule file `name` (`x.rhai` → `x.tests.json`).
pub fn tests_name(name: &str) -> String {
    format!("{}{TESTS_SUFFIX}", name.trim_end_matches(RULE_SUFFIX))
}

/// True for a plain rule file name: `NAME.rhai`, no directory part, not hidden.
pub fn is_rule_file_name(file: &str) -> bool {
    file.len() > RULE_SUFFIX.len()
        && !file.starts_with('.')
        && !file.contains(['/', '\\'])
        && file.ends_with(RULE_SUFFIX)
}
