//! Where rule files come from: the rules directory in production, memory in tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One rule file as read from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// File name relative to the source (e.g. `npi-check-digit.rhai`).
    pub name: String,
    /// The script text, or why it could not be read.
    pub source: Result<String, String>,
    /// The companion test file (`<stem>.tests.json`): its name and text (or read error).
    pub tests: Option<(String, Result<String, String>)>,
    /// The rule runs in shadow: evaluated on live traffic and recorded, never scored
    /// (`NAME.rhai.shadow` in a directory).
    pub shadow: bool,
}

/// A place rule files are listed and read from.
pub trait RuleSource: Send + Sync {
    /// Human-readable location (for logs and errors).
    fn describe(&self) -> String;
    /// Every rule file, sorted by name. Fails only if the source as a whole is unreadable.
    fn list(&self) -> std::io::Result<Vec<RuleFile>>;
    /// True when every listing is a committed state (a database), never a half-synced
    /// directory: a much smaller listing is then a real change, not an accident.
    fn is_transactional(&self) -> bool {
        false
    }
}

/// Largest rule script: 256 KiB (the bundled rules are under 8 KiB). Compiling grows faster
/// than linearly with size, so the cap bounds the time a hostile or mistaken file costs.
pub const MAX_RULE_BYTES: usize = 256 * 1024;
/// Largest test file: 4 MiB (its claims are proto3 JSON).
pub const MAX_TESTS_BYTES: usize = 4 * 1024 * 1024;

/// Suffix of a rule script.
pub const RULE_SUFFIX: &str = ".rhai";
/// Suffix of a rule's test file.
pub const TESTS_SUFFIX: &str = ".tests.json";
/// Suffix a rule file in shadow carries after `.rhai` in a directory (`NAME.rhai.shadow`).
pub const SHADOW_SUFFIX: &str = ".shadow";

/// True for names an editor or Kubernetes leaves behind that must never load as rules:
/// hidden files (`.#x.rhai`, `..data`), backups (`x.rhai~`), swap and temp files.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name.ends_with(".bak")
}

/// Reads `*.rhai` files (and their `*.tests.json`) from one directory, not recursively.
/// Symlinks are followed, so Kubernetes ConfigMap volumes work.
#[derive(Debug, Clone)]
pub struct FsSource {
    dir: PathBuf,
}

impl FsSource {
    /// A source over `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Reads a rule or test file that stays inside `dir` and is at most `limit` bytes; a link to
/// a file outside the directory is refused without reading it (its content is never shown).
fn read(dir: &Path, path: &Path, limit: usize) -> Result<String, String> {
    let real = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let inside = std::fs::canonicalize(dir).is_ok_and(|d| real.starts_with(d));
    if !inside {
        return Err("is a link to a file outside the rules directory; not read".into());
    }
    let len = std::fs::metadata(&real).map_err(|e| e.to_string())?.len();
    if len > limit as u64 {
        return Err(format!(
            "is {} KiB; the limit is {} KiB",
            len.div_ceil(1024),
            limit / 1024
        ));
    }
    std::fs::read_to_string(&real).map_err(|e| e.to_string())
}

impl RuleSource for FsSource {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn list(&self) -> std::io::Result<Vec<RuleFile>> {
        // (rule file name, shadow)
        let mut names: Vec<(String, bool)> = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if is_ignored(&name) {
                continue;
            }
            let (rule, shadow) = match name.strip_suffix(SHADOW_SUFFIX) {
                Some(rule) => (rule.to_string(), true),
                None => (name.clone(), false),
            };
            if !rule.ends_with(RULE_SUFFIX) {
                continue;
            }
            // Follow symlinks; skip directories named *.rhai.
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            names.push((rule, shadow));
        }
        names.sort();
        let mut out = Vec::with_capacity(names.len());
        for (i, (name, shadow)) in names.iter().enumerate() {
            let file_name = if *shadow {
                format!("{name}{SHADOW_SUFFIX}")
            } else {
                name.clone()
            };
            // `x.rhai` and `x.rhai.shadow` both present: the active one loads; the other is
            // listed as an error under its own name so nobody wonders which one runs.
            if *shadow && i > 0 && names[i - 1] == (name.clone(), false) {
                out.push(RuleFile {
                    source: Err(format!(
                        "{name} is also present: a rule is either active ({name}) or in shadow ({file_name}); remove one"
                    )),
                    name: file_name,
                    tests: None,
                    shadow: false,
                });
                continue;
            }
            let stem = &name[..name.len() - RULE_SUFFIX.len()];
            let tests_name = format!("{stem}{TESTS_SUFFIX}");
            let tests_path = self.dir.join(&tests_name);
            let tests = tests_path.exists().then(|| {
                let text = read(&self.dir, &tests_path, MAX_TESTS_BYTES);
                (tests_name, text)
            });
            out.push(RuleFile {
                source: read(&self.dir, &self.dir.join(&file_name), MAX_RULE_BYTES),
                name: name.clone(),
                tests,
                shadow: *shadow,
            });
        }
        Ok(out)
    }
}

/// An in-memory source for tests and tools: name → (script, optional tests).
#[derive(Debug, Default)]
pub struct MemorySource {
    files: Mutex<BTreeMap<String, (String, Option<String>)>>,
    shadow: Mutex<std::collections::BTreeSet<String>>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a rule file (`name` without suffix).
    pub fn put(&self, name: &str, script: &str, tests: Option<&str>) {
        self.files.lock().expect("memory source lock").insert(
            name.to_string(),
            (script.to_string(), tests.map(str::to_string)),
        );
    }

    /// Removes a rule file.
    pub fn remove(&self, name: &str) {
        self.files.lock().expect("memory source lock").remove(name);
    }

    /// Puts rule file `name` in shadow (`true`) or makes it active (`false`).
    pub fn set_shadow(&self, name: &str, shadow: bool) {
        let mut set = self.shadow.lock().expect("memory source lock");
        if shadow {
            set.insert(name.to_string());
        } else {
            set.remove(name);
        }
    }
}

impl RuleSource for MemorySource {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn list(&self) -> std::io::Result<Vec<RuleFile>> {
        let shadow = self.shadow.lock().expect("memory source lock").clone();
        Ok(self
            .files
            .lock()
            .expect("memory source lock")
            .iter()
            .map(|(name, (script, tests))| RuleFile {
                name: format!("{name}{RULE_SUFFIX}"),
                source: Ok(script.clone()),
                tests: tests
                    .as_ref()
                    .map(|t| (format!("{name}{TESTS_SUFFIX}"), Ok(t.clone()))),
                shadow: shadow.contains(name),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_editor_and_configmap_files() {
        for n in [
            ".x.rhai",
            ".#x.rhai",
            "x.rhai~",
            "x.rhai.swp",
            "..data",
            "x.rhai.tmp",
        ] {
            assert!(is_ignored(n), "{n}");
        }
        assert!(!is_ignored("x.rhai"));
    }

    #[test]
    fn fs_source_pairs_tests_and_skips_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.rhai"), "b").unwrap();
        std::fs::write(dir.path().join("a.rhai"), "a").unwrap();
        std::fs::write(dir.path().join("a.tests.json"), "[]").unwrap();
        std::fs::write(dir.path().join(".a.rhai.swp"), "x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let files = FsSource::new(dir.path()).list().unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.rhai", "b.rhai"]);
        assert_eq!(files[0].tests.as_ref().unwrap().0, "a.tests.json");
        assert!(files[1].tests.is_none());
    }

    #[test]
    fn shadow_files_load_in_shadow_and_a_twin_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rhai.shadow"), "a").unwrap();
        std::fs::write(dir.path().join("a.tests.json"), "[]").unwrap();
        std::fs::write(dir.path().join("b.rhai"), "b").unwrap();
        std::fs::write(dir.path().join("b.rhai.shadow"), "old b").unwrap();
        std::fs::write(dir.path().join("c.rhai.disabled"), "c").unwrap();
        let files = FsSource::new(dir.path()).list().unwrap();
        let view: Vec<_> = files
            .iter()
            .map(|f| (f.name.as_str(), f.shadow, f.source.is_ok()))
            .collect();
        assert_eq!(
            view,
            [
                ("a.rhai", true, true),
                ("b.rhai", false, true),
                ("b.rhai.shadow", false, false)
            ]
        );
        assert_eq!(files[0].tests.as_ref().unwrap().0, "a.tests.json");
        assert_eq!(files[1].source.as_deref(), Ok("b"));
        let why = files[2].source.clone().unwrap_err();
        assert!(why.contains("either active (b.rhai) or in shadow"), "{why}");
    }

    #[test]
    fn links_out_of_the_directory_and_huge_files_are_not_read() {
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, "SECRET-TOKEN first line").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&secret, dir.path().join("evil.rhai")).unwrap();
        // A ConfigMap-style link inside the directory is followed.
        std::fs::create_dir(dir.path().join("..data")).unwrap();
        std::fs::write(dir.path().join("..data/ok.rhai"), "ok").unwrap();
        std::os::unix::fs::symlink("..data/ok.rhai", dir.path().join("ok.rhai")).unwrap();
        let big = "x".repeat(super::MAX_RULE_BYTES + 1);
        std::fs::write(dir.path().join("big.rhai"), big).unwrap();
        let files = FsSource::new(dir.path()).list().unwrap();
        let by = |n: &str| files.iter().find(|f| f.name == n).unwrap().source.clone();
        let evil = by("evil.rhai").unwrap_err();
        assert!(
            evil.contains("outside the rules directory") && !evil.contains("SECRET"),
            "{evil}"
        );
        assert_eq!(by("ok.rhai"), Ok("ok".to_string()));
        assert!(by("big.rhai").unwrap_err().contains("the limit is 256 KiB"));
    }
}
