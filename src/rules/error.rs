//! Errors from loading one rule file. Every message names the file (and line/column where the
//! script gives one) so that rule authors can find the problem.

/// Why a rule file could not be activated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleLoadError {
    /// The file could not be read.
    #[error("{file}: cannot read the file: {message}")]
    Read {
        /// Rule file name.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// The script does not compile.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// Rule file name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The `rule` metadata map is missing or wrong.
    #[error("{file}: {message}")]
    Metadata {
        /// Rule file name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Another file already defines this rule id.
    #[error("{file}: rule id {id:?} is already defined by {other}; rule ids must be unique")]
    DuplicateId {
        /// Rule file name.
        file: String,
        /// The duplicated id.
        id: String,
        /// The file that has it.
        other: String,
    },
    /// The test file is unreadable or malformed.
    #[error("{file}: {message}")]
    TestFile {
        /// Test file name.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The rule's own test cases failed.
    #[error("{file}: {} test case(s) failed: {}", failures.len(), failures.join("; "))]
    TestsFailed {
        /// Rule file name.
        file: String,
        /// One description per failed case.
        failures: Vec<String>,
    },
}

impl RuleLoadError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            RuleLoadError::Read { file, .. }
            | RuleLoadError::Syntax { file, .. }
            | RuleLoadError::Metadata { file, .. }
            | RuleLoadError::DuplicateId { file, .. }
            | RuleLoadError::TestFile { file, .. }
            | RuleLoadError::TestsFailed { file, .. } => file,
        }
    }
}
