//! The audit log: one JSON line per admin action, accepted or refused. Records carry time,
//! principal, action, rule id, old/new version and outcome; never claim data or tokens.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// One audit record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record<'a> {
    /// RFC 3339 time (UTC).
    pub time: String,
    /// Who (or "anonymous" when unauthenticated).
    pub principal: &'a str,
    /// The RPC, e.g. "ListRules".
    pub action: &'a str,
    /// Rule concerned, if any.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub rule_id: &'a str,
    /// Version before, if the action changes a rule.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub old_version: &'a str,
    /// Version after, if the action changes a rule.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub new_version: &'a str,
    /// "ok", or why it was refused/failed.
    pub outcome: &'a str,
}

/// Where records go: a file opened for append, or standard output.
pub struct AuditLog {
    sink: Mutex<Box<dyn Write + Send>>,
}

impl AuditLog {
    /// Appends to `path`, or writes to standard output for `-`.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let sink: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )
        };
        Ok(Self {
            sink: Mutex::new(sink),
        })
    }

    /// An audit log writing into memory (tests).
    pub fn to_writer(w: impl Write + Send + 'static) -> Self {
        Self {
            sink: Mutex::new(Box::new(w)),
        }
    }

    /// Appends one record and flushes it.
    pub fn write(&self, record: &Record<'_>) {
        let mut line = serde_json::to_string(record).unwrap_or_else(|_| "{}".into());
        line.push('\n');
        let mut sink = self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(e) = sink.write_all(line.as_bytes()).and_then(|()| sink.flush()) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    }
}
