//! Bearer-token authentication and roles for the admin API.
//!
//! The token file holds one `ROLE PRINCIPAL TOKEN` per line (`#` starts a comment). Roles:
//! `viewer` (list, get, history, watch, status), `editor` (everything a viewer may, plus
//! changes) and `scrubber` (the scrub API, when it requires tokens). The file is re-read when
//! it changes. Tokens are compared in constant time and never logged. With no token file
//! configured, every admin call is refused (secure by default).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use subtle::ConstantTimeEq;
use tonic::metadata::MetadataMap;

/// A role from the token file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Read-only administration.
    Viewer,
    /// Read and change rules.
    Editor,
    /// Scrub claims.
    Scrubber,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "scrubber" => Some(Role::Scrubber),
            _ => None,
        }
    }

    /// Whether this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self == needed || (self == Role::Editor && needed == Role::Viewer)
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Scrubber => "scrubber",
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name from the token file.
    pub name: String,
    /// Its role.
    pub role: Role,
}

#[derive(Debug, Clone)]
struct Entry {
    principal: Principal,
    token: Vec<u8>,
}

/// Parses a token file; errors name the line.
fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [role, name, token] = parts.as_slice() else {
            return Err(format!("line {}: expected `ROLE PRINCIPAL TOKEN`", i + 1));
        };
        let role = Role::parse(role)
            .ok_or_else(|| format!("line {}: role must be viewer, editor or scrubber", i + 1))?;
        if token.len() < 16 {
            return Err(format!(
                "line {}: token is shorter than 16 characters",
                i + 1
            ));
        }
        out.push(Entry {
            principal: Principal {
                name: name.to_string(),
                role,
            },
            token: token.as_bytes().to_vec(),
        });
    }
    Ok(out)
}

/// Why a call was refused (mapped to a gRPC status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No or unknown credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Known caller without the needed role.
    #[error("{0}")]
    PermissionDenied(String),
}

/// The token store.
pub struct Tokens {
    path: Option<PathBuf>,
    state: Mutex<(Option<SystemTime>, Vec<Entry>)>,
}

impl Tokens {
    /// Loads `path` (or none: refuse everything). A malformed file is a startup error.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let tokens = Self {
            path: path.map(Path::to_path_buf),
            state: Mutex::new((None, Vec::new())),
        };
        if let Some(p) = path {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read the token file {}: {e}", p.display()))?;
            let entries = parse(&text).map_err(|e| format!("token file {}: {e}", p.display()))?;
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok();
            *tokens.state.lock().expect("token lock") = (modified, entries);
        }
        Ok(tokens)
    }

    fn refresh(&self) {
        let Some(path) = &self.path else { return };
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if modified == state.0 {
            return;
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                // A deleted or unreadable file revokes every token (as with no file): taking
                // the file away is how an operator shuts the admin API.
                if !state.1.is_empty() {
                    tracing::error!(file = %path.display(), error = %e,
                        "token file missing or unreadable: every admin token is revoked");
                }
                *state = (modified, Vec::new());
                return;
            }
        };
        match parse(&text) {
            Ok(entries) => {
                tracing::info!(file = %path.display(), principals = entries.len(), "token file reloaded");
                *state = (modified, entries);
            }
            Err(e) => {
                // A malformed edit (often a save in progress) keeps the previous tokens.
                tracing::error!(file = %path.display(), error = %e, "token file rejected; previous tokens stay active")
            }
        }
    }

    /// Authenticates the bearer token in `metadata` and checks it allows `needed`.
    pub fn authorize(&self, metadata: &MetadataMap, needed: Role) -> Result<Principal, AuthError> {
        if self.path.is_none() {
            return Err(AuthError::Unauthenticated(
                "the admin API is disabled: no token file is configured (--auth-tokens)".into(),
            ));
        }
        self.refresh();
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                AuthError::Unauthenticated(
                    "missing `authorization: Bearer <token>` metadata".into(),
                )
            })?;
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Compare against every entry without stopping early, in constant time per entry.
        let mut found: Option<&Entry> = None;
        for e in &state.1 {
            if bool::from(e.token.as_slice().ct_eq(presented.as_bytes())) {
                found = Some(e);
            }
        }
        let entry = found.ok_or_else(|| AuthError::Unauthenticated("unknown token".into()))?;
        if !entry.principal.role.allows(needed) {
            return Err(AuthError::PermissionDenied(format!(
                "{} has role {}; this call needs {}",
                entry.principal.name,
                entry.principal.role.as_str(),
                needed.as_str()
            )));
        }
        Ok(entry.principal.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(token: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", format!("Bearer {token}").parse().unwrap());
        m
    }

    #[test]
    fn roles_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokens");
        std::fs::write(&p, "# staff\nviewer ana aaaaaaaaaaaaaaaaaaaa\neditor bo bbbbbbbbbbbbbbbbbbbb # billing manager\n").unwrap();
        let t = Tokens::load(Some(&p)).unwrap();
        assert_eq!(
            t.authorize(&md("aaaaaaaaaaaaaaaaaaaa"), Role::Viewer)
                .unwrap()
                .name,
            "ana"
        );
        assert!(matches!(
            t.authorize(&md("aaaaaaaaaaaaaaaaaaaa"), Role::Editor),
            Err(AuthError::PermissionDenied(_))
        ));
        assert_eq!(
            t.authorize(&md("bbbbbbbbbbbbbbbbbbbb"), Role::Viewer)
                .unwrap()
                .role,
            Role::Editor
        );
        assert!(matches!(
            t.authorize(&md("wrongwrongwrongwrong"), Role::Viewer),
            Err(AuthError::Unauthenticated(_))
        ));
        assert!(matches!(
            t.authorize(&MetadataMap::new(), Role::Viewer),
            Err(AuthError::Unauthenticated(_))
        ));
        let none = Tokens::load(None).unwrap();
        assert!(matches!(
            none.authorize(&md("aaaaaaaaaaaaaaaaaaaa"), Role::Viewer),
            Err(AuthError::Unauthenticated(_))
        ));
    }

    #[test]
    fn a_deleted_token_file_revokes_every_token() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tokens");
        std::fs::write(&p, "editor bo bbbbbbbbbbbbbbbbbbbb\n").unwrap();
        let t = Tokens::load(Some(&p)).unwrap();
        assert!(
            t.authorize(&md("bbbbbbbbbbbbbbbbbbbb"), Role::Editor)
                .is_ok()
        );
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(
            t.authorize(&md("bbbbbbbbbbbbbbbbbbbb"), Role::Viewer),
            Err(AuthError::Unauthenticated(_))
        ));
        // A malformed edit keeps the tokens in force; a good file brings them back.
        std::fs::write(&p, "editor bo bbbbbbbbbbbbbbbbbbbb\n").unwrap();
        assert!(
            t.authorize(&md("bbbbbbbbbbbbbbbbbbbb"), Role::Editor)
                .is_ok()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "editor bo\n").unwrap();
        assert!(
            t.authorize(&md("bbbbbbbbbbbbbbbbbbbb"), Role::Editor)
                .is_ok()
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        assert_eq!(
            parse("viewer ana").unwrap_err(),
            "line 1: expected `ROLE PRINCIPAL TOKEN`"
        );
        assert!(
            parse("root ana aaaaaaaaaaaaaaaaaaaa")
                .unwrap_err()
                .contains("role")
        );
        assert!(parse("viewer ana short").unwrap_err().contains("16"));
    }
}
