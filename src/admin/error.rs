//! Why an admin call did not do what was asked. Mapped to a gRPC status in one place
//! (`api::status::admin_status`).

use super::auth::AuthError;

/// An admin call's failure.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No or unknown credentials, or a role that does not allow the call.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but the rule is not in the state it needs (stale
    /// `expected_version`, already enabled, a disabled rule that no longer loads).
    #[error("{message}")]
    Precondition {
        /// A short machine-readable reason (`STALE_VERSION`, `ALREADY_ENABLED`, ...).
        reason: &'static str,
        /// The rule concerned.
        rule_id: String,
        /// What a person should do, in words.
        message: String,
    },
    /// A request field is unusable.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The rule store could not be read or written.
    #[error("cannot {action} the rule store ({location}): {source}")]
    Store {
        /// "read" or "write".
        action: &'static str,
        /// The store's location.
        location: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A bug: a background task failed.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AdminError {
    /// A stale-state refusal about `rule_id`.
    pub fn precondition(reason: &'static str, rule_id: &str, message: String) -> Self {
        AdminError::Precondition {
            reason,
            rule_id: rule_id.to_string(),
            message,
        }
    }

    /// The outcome recorded in the audit log for this failure.
    pub fn outcome(&self) -> String {
        match self {
            AdminError::NotFound(_) => "not found".into(),
            other => format!("refused: {other}"),
        }
    }
}
