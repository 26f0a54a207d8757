//! PostgreSQL as the rule store shared by every replica.
//!
//! The schema lives in `migrations/` and is applied at connect, in one transaction holding
//! an advisory lock, so replicas that start together apply each migration once. A change
//! (put, disable, enable, delete) is one transaction that also sends `NOTIFY
//! claimscrub_rules`; every replica's listener thread ([`PgStore::listen`]) hears it and triggers a reload, and a
//! periodic rescan catches what a dropped connection missed. A put carries the version its
//! author saw, checked under `SELECT … FOR UPDATE`, so two editors on two replicas cannot
//! overwrite each other.
//!
//! TLS to the database: `?sslmode=require` in the URL makes every connection use TLS (rustls),
//! verifying the server against `PGSSLROOTCERT` (a PEM file) or the system's roots; without
//! it connections are plain (as libpq's default on a trusted network).
//!
//! The sync `postgres` client is used from blocking threads only (it runs its own small
//! runtime); its connection is closed on a plain thread if the store is dropped inside async
//! code.

use std::collections::HashMap;
use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, NoTls};

use super::{DisabledRule, Move, Put, PutError, Retire, RuleStore, tests_name};
use crate::admin::audit::Record;
use crate::admin::history::Entry;
use crate::rules::{RuleFile, RuleSource};

/// The channel changes are announced on.
pub const CHANNEL: &str = "claimscrub_rules";

/// Schema migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../../migrations/001_init.sql")),
    (2, include_str!("../../migrations/002_shadow.sql")),
];

/// Advisory lock key that serialises migrations across replicas ("claimscr" in ASCII).
const MIGRATION_LOCK: i64 = 0x636c_6169_6d73_6372;

/// True for a `--rules` value that names a PostgreSQL database.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// The URL without its password, for logs and messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let base = match base.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => base.to_string(),
    };
    let query: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.to_ascii_lowercase().starts_with("password="))
        .collect();
    if query.is_empty() {
        format!("{scheme}://{base}")
    } else {
        format!("{scheme}://{base}?{}", query.join("&"))
    }
}

/// How connections are made: plain, or TLS (rustls) when the URL says `sslmode=require`.
/// The server certificate is verified against `PGSSLROOTCERT` (a PEM file, as for libpq)
/// when set, else the system's trusted roots.
#[derive(Clone)]
pub(crate) enum Tls {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    fn for_config(config: &Config) -> io::Result<Tls> {
        if config.get_ssl_mode() != postgres::config::SslMode::Require {
            return Ok(Tls::Plain);
        }
        let mut roots = rustls::RootCertStore::empty();
        match std::env::var_os("PGSSLROOTCERT") {
            Some(path) => {
                use rustls_pki_types::pem::PemObject;
                let certs = rustls_pki_types::CertificateDer::pem_file_iter(&path)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "PGSSLROOTCERT {}: {e}",
                                std::path::Path::new(&path).display()
                            ),
                        )
                    })?;
                for cert in certs {
                    roots.add(cert).map_err(io::Error::other)?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(
            tls,
        )))
    }

    fn connect(&self, config: &Config) -> Result<Client, postgres::Error> {
        match self {
            Tls::Plain => config.connect(NoTls),
            Tls::Rustls(tls) => config.connect(tls.clone()),
        }
    }
}

/// An open connection; closed on a plain thread when dropped inside async code (the client
/// blocks on its own runtime when closing).
struct Conn(Option<Client>);

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(client));
        }
    }
}

/// One PostgreSQL database: its URL's configuration and TLS, and a connection made again when
/// it is lost. Shared by the rule store and the outcome store.
pub(crate) struct Db {
    config: Config,
    tls: Tls,
    location: String,
    conn: Mutex<Conn>,
    /// What the database is for, in messages ("rule database").
    what: &'static str,
}

fn unavailable(what: &str, location: &str, e: &postgres::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        format!("the {what} {location} is unreachable: {e}"),
    )
}

/// Parses a `postgres://` URL; the password may also come from `PGPASSWORD`.
pub fn config(url: &str) -> io::Result<Config> {
    let mut config: Config = url.parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a usable PostgreSQL URL: {e}", redact(url)),
        )
    })?;
    if config.get_password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    // A partition that drops packets silently must not hold a query (and with it reloads
    // and admin calls) for the kernel's default retransmission time.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(15));
    config.tcp_user_timeout(Duration::from_secs(20));
    config.application_name("claimscrub");
    Ok(config)
}

impl Db {
    /// Connects to the database at `url` (the `what` of messages) and runs `migrate` on it.
    pub(crate) fn connect(
        url: &str,
        what: &'static str,
        migrate: impl FnOnce(&mut Client) -> Result<(), postgres::Error>,
    ) -> io::Result<Self> {
        let config = config(url)?;
        let location = redact(url);
        let tls = Tls::for_config(&config)?;
        let mut client = tls
            .connect(&config)
            .map_err(|e| unavailable(what, &location, &e))?;
        migrate(&mut client)
            .map_err(|e| io::Error::other(format!("cannot migrate the {what} {location}: {e}")))?;
        Ok(Self {
            config,
            tls,
            location,
            conn: Mutex::new(Conn(Some(client))),
            what,
        })
    }

    /// The URL without its password.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// Runs `f` on the connection, connecting first when there is none or it was lost (a
    /// query that fails because the connection broke drops it, so the next call reconnects).
    pub(crate) fn with<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> io::Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if conn.0.as_ref().is_none_or(Client::is_closed) {
            conn.0 = None;
            let client = self
                .tls
                .connect(&self.config)
                .map_err(|e| unavailable(self.what, &self.location, &e))?;
            conn.0 = Some(client);
        }
        let client = conn.0.as_mut().expect("connected above");
        match f(client) {
            Ok(v) => Ok(v),
            Err(e) if client.is_closed() || e.as_db_error().is_none() => {
                conn.0 = None;
                Err(unavailable(self.what, &self.location, &e))
            }
            Err(e) => Err(io::Error::other(format!(
                "{} {}: {e}",
                self.what, self.location
            ))),
        }
    }
}

/// The PostgreSQL rule store.
pub struct PgStore {
    db: Db,
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str) -> io::Result<Self> {
        Ok(Self {
            db: Db::connect(url, "rule database", migrate)?,
        })
    }

    fn with<T>(&self, f: impl FnMut(&mut Client) -> Result<T, postgres::Error>) -> io::Result<T> {
        self.db.with(f)
    }

    /// One change of `file` as a transaction: locks the file (also one that does not exist
    /// yet), checks that its enabled version is still `expected` (`None`: no check), runs
    /// `write` and commits. A stale version rolls back and is reported with who stored the
    /// current one.
    fn change_file(
        &self,
        file: &str,
        expected: Option<&str>,
        mut write: impl FnMut(&mut postgres::Transaction<'_>) -> Result<(), postgres::Error>,
    ) -> Result<(), PutError> {
        let mut stale = None;
        self.with(|c| {
            stale = None;
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(1, hashtext($1))", &[&file])?;
            let current = tx.query_opt(
                "SELECT version, updated_by FROM rules WHERE file = $1 AND enabled FOR UPDATE",
                &[&file],
            )?;
            let (version, by): (String, String) =
                current.map_or_else(Default::default, |r| (r.get(0), r.get(1)));
            if expected.is_some_and(|e| e != version) {
                stale = Some(PutError::Stale {
                    current: version,
                    by,
                });
                return Ok(()); // dropping the transaction rolls it back
            }
            write(&mut tx)?;
            tx.commit()
        })?;
        stale.map_or(Ok(()), Err)
    }

    /// Sets `enabled` (and `shadow`) on a rule file; an error when no row changed.
    fn set_enabled(&self, file: &str, enabled: bool, shadow: bool) -> io::Result<()> {
        self.update_one(
            file,
            "UPDATE rules SET enabled = $2, shadow = $3, updated_at = now()
             WHERE file = $1 AND enabled <> $2",
            &[&enabled, &shadow],
            if enabled { "enable" } else { "disable" },
            || {
                format!(
                    "no {} rule file {file:?}",
                    if enabled { "disabled" } else { "enabled" }
                )
            },
        )
    }

    /// Runs `sql` (with `$1` = `file`, then `params`) and notifies `event`, in one
    /// transaction; `NotFound` with `missing()` when no row changed.
    fn update_one(
        &self,
        file: &str,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        event: &str,
        missing: impl FnOnce() -> String,
    ) -> io::Result<()> {
        let changed = self.with(|c| {
            let mut tx = c.transaction()?;
            let mut all: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&file];
            all.extend_from_slice(params);
            let n = tx.execute(sql, &all)?;
            notify(&mut tx, file, event)?;
            tx.commit()?;
            Ok(n)
        })?;
        if changed == 0 {
            return Err(io::Error::new(io::ErrorKind::NotFound, missing()));
        }
        Ok(())
    }
}

fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
        tracing::info!(version, "rule database migrated");
    }
    tx.commit()
}

fn notify(
    tx: &mut postgres::Transaction<'_>,
    file: &str,
    action: &str,
) -> Result<(), postgres::Error> {
    let payload = serde_json::json!({ "file": file, "action": action }).to_string();
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
    Ok(())
}

fn insert_version(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    source: &str,
    tests: Option<&str>,
    entry: &Entry,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO rule_versions (rule_id, version, source, tests) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        &[&id, &entry.version, &source, &tests],
    )?;
    tx.execute(
        "INSERT INTO rule_history (rule_id, version, author, time, comment, action)
         VALUES ($1, $2, $3, $4::text::timestamptz, $5, $6)",
        &[
            &id,
            &entry.version,
            &entry.author,
            &entry.time,
            &entry.comment,
            &entry.action,
        ],
    )?;
    Ok(())
}

impl RuleSource for PgStore {
    fn describe(&self) -> String {
        self.db.location.clone()
    }

    fn is_transactional(&self) -> bool {
        true
    }

    fn list(&self) -> io::Result<Vec<RuleFile>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT file, source, tests, shadow FROM rules WHERE enabled ORDER BY file",
                &[],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let file: String = row.get(0);
                let tests: Option<String> = row.get(2);
                RuleFile {
                    tests: tests.map(|t| (tests_name(&file), Ok(t))),
                    source: Ok(row.get(1)),
                    name: file,
                    shadow: row.get(3),
                }
            })
            .collect())
    }
}

impl RuleStore for PgStore {
    fn describe(&self) -> String {
        self.db.location.clone()
    }

    fn read_tests(&self, file: &str) -> io::Result<Option<String>> {
        let row =
            self.with(|c| c.query_opt("SELECT tests FROM rules WHERE file = $1", &[&file]))?;
        Ok(row.and_then(|r| r.get(0)))
    }

    fn put(&self, put: &Put<'_>) -> Result<(), PutError> {
        if !super::is_rule_file_name(put.file) {
            return Err(io::Error::other(format!("{:?} is not a rule file name", put.file)).into());
        }
        self.change_file(put.file, put.expected, |tx| {
            tx.execute(
                "INSERT INTO rules (file, source, tests, version, enabled, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, true, $5, now())
                 ON CONFLICT (file) DO UPDATE SET source = EXCLUDED.source,
                     tests = CASE WHEN $6 THEN EXCLUDED.tests ELSE rules.tests END,
                     version = EXCLUDED.version,
                     shadow = rules.enabled AND rules.shadow,
                     enabled = true, updated_by = EXCLUDED.updated_by, updated_at = now()",
                &[
                    &put.file,
                    &put.source,
                    &put.tests.filter(|t| !t.is_empty()),
                    &put.entry.version,
                    &put.entry.author,
                    &put.tests.is_some(),
                ],
            )?;
            insert_version(tx, put.id, put.source, put.history_tests, put.entry)?;
            notify(tx, put.file, &put.entry.action)
        })
    }

    fn retire(&self, r: &Retire<'_>) -> Result<(), PutError> {
        self.change_file(r.file, Some(r.version), |tx| {
            insert_version(tx, r.id, r.source, r.tests, r.entry)?;
            if r.delete {
                tx.execute("DELETE FROM rules WHERE file = $1", &[&r.file])?;
            } else {
                tx.execute(
                    "UPDATE rules SET enabled = false, shadow = false, updated_by = $2,
                         updated_at = now() WHERE file = $1",
                    &[&r.file, &r.entry.author],
                )?;
            }
            notify(tx, r.file, &r.entry.action)
        })
    }

    fn shift(&self, m: &Move<'_>) -> Result<(), PutError> {
        self.change_file(m.file, Some(m.version), |tx| {
            insert_version(tx, m.id, m.source, m.tests, m.entry)?;
            tx.execute(
                "UPDATE rules SET shadow = $2, updated_by = $3, updated_at = now() WHERE file = $1",
                &[&m.file, &m.shadow, &m.entry.author],
            )?;
            notify(tx, m.file, &m.entry.action)
        })
    }

    fn set_shadow(&self, file: &str, shadow: bool) -> io::Result<()> {
        self.update_one(
            file,
            "UPDATE rules SET shadow = $2, updated_at = now()
             WHERE file = $1 AND enabled AND shadow <> $2",
            &[&shadow],
            if shadow { "shadow" } else { "activate" },
            || {
                format!(
                    "no enabled rule file {file:?} {}",
                    if shadow {
                        "outside shadow"
                    } else {
                        "in shadow"
                    }
                )
            },
        )
    }

    fn disable(&self, file: &str) -> io::Result<()> {
        self.set_enabled(file, false, false)
    }

    fn enable(&self, file: &str, shadow: bool) -> io::Result<()> {
        self.set_enabled(file, true, shadow)
    }

    fn delete(&self, file: &str) -> io::Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("DELETE FROM rules WHERE file = $1", &[&file])?;
            notify(&mut tx, file, "delete")?;
            tx.commit()
        })
    }

    fn disabled(&self) -> io::Result<Vec<DisabledRule>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT file, source, tests FROM rules WHERE NOT enabled ORDER BY file",
                &[],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| DisabledRule {
                file: r.get(0),
                source: r.get(1),
                tests: r.get(2),
            })
            .collect())
    }

    fn record(&self, id: &str, source: &str, tests: Option<&str>, entry: &Entry) -> io::Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            insert_version(&mut tx, id, source, tests, entry)?;
            tx.commit()
        })
    }

    fn history(&self, id: &str) -> io::Result<Vec<Entry>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT version, author,
                        to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        comment, action
                 FROM rule_history WHERE rule_id = $1 ORDER BY seq DESC",
                &[&id],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| Entry {
                version: r.get(0),
                author: r.get(1),
                time: r.get(2),
                comment: r.get(3),
                action: r.get(4),
            })
            .collect())
    }

    fn last_changes(&self, ids: &[&str]) -> io::Result<HashMap<String, Entry>> {
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_string()).collect();
        let rows = self.with(|c| {
            c.query(
                "SELECT DISTINCT ON (rule_id) rule_id, version, author,
                        to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                        comment, action
                 FROM rule_history WHERE rule_id = ANY($1) ORDER BY rule_id, seq DESC",
                &[&ids],
            )
        })?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get(0),
                    Entry {
                        version: r.get(1),
                        author: r.get(2),
                        time: r.get(3),
                        comment: r.get(4),
                        action: r.get(5),
                    },
                )
            })
            .collect())
    }

    fn version(&self, id: &str, version: &str) -> io::Result<Option<(String, Option<String>)>> {
        let row = self.with(|c| {
            c.query_opt(
                "SELECT source, tests FROM rule_versions WHERE rule_id = $1 AND version = $2",
                &[&id, &version],
            )
        })?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn audit(&self, record: &Record<'_>) {
        let result = self.with(|c| {
            c.execute(
                "INSERT INTO audit (time, principal, action, rule_id, old_version, new_version, outcome)
                 VALUES ($1::text::timestamptz, $2, $3, $4, $5, $6, $7)",
                &[
                    &record.time,
                    &record.principal,
                    &record.action,
                    &record.rule_id,
                    &record.old_version,
                    &record.new_version,
                    &record.outcome,
                ],
            )
        });
        if let Err(e) = result {
            // The audit record still reaches the log (principal, action, outcome; no claim data).
            tracing::error!(error = %e, principal = record.principal, action = record.action,
                rule_id = record.rule_id, outcome = record.outcome, "cannot write the audit record");
        }
    }
}

/// Listens for change notifications on a dedicated thread and sends a signal on `tx` for
/// each (a burst becomes one signal), and once after every (re)connect to catch up on what
/// was missed while disconnected. Ends when `tx` is closed.
fn listen(config: Config, tls: Tls, location: String, tx: tokio::sync::mpsc::Sender<()>) {
    std::thread::Builder::new()
        .name("claimscrub-pg-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(250);
            let mut warned = false;
            while !tx.is_closed() {
                let mut client = match tls.connect(&config) {
                    Ok(c) => c,
                    Err(e) => {
                        if !warned {
                            tracing::warn!(store = %location, error = %e,
                                "rule database unreachable; scrubbing continues with the active rules, retrying");
                            warned = true;
                            // A reload now records the store as unreachable (status, metric).
                            let _ = tx.try_send(());
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                };
                if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                    tracing::warn!(store = %location, error = %e, "cannot listen for rule changes");
                    std::thread::sleep(backoff);
                    continue;
                }
                if warned {
                    tracing::info!(store = %location, "rule database reachable again; catching up");
                }
                warned = false;
                backoff = Duration::from_millis(250);
                let _ = tx.try_send(());
                let mut checked = std::time::Instant::now();
                while !tx.is_closed() {
                    // Waits up to half a second for a notification (the wait drives the
                    // connection, so notifications arrive promptly), then looks at `tx`.
                    let next = client
                        .notifications()
                        .timeout_iter(Duration::from_millis(500))
                        .next();
                    let lost = match &next {
                        Ok(Some(_)) => false,
                        Ok(None) if client.is_closed() => true,
                        Ok(None) if checked.elapsed() >= Duration::from_secs(5) => {
                            // A server that went away is not always seen while only
                            // listening: ask now and then.
                            checked = std::time::Instant::now();
                            client.is_valid(Duration::from_secs(2)).is_err()
                        }
                        Ok(None) => false,
                        Err(_) => true,
                    };
                    if let Ok(Some(_)) = next {
                        // Drain what is already queued: one reload covers them all.
                        while let Ok(Some(_)) = client.notifications().iter().next() {}
                        let _ = tx.try_send(());
                    }
                    if lost {
                        // A reload now records the store as unreachable (status, metric)
                        // while the rules in force stay.
                        let _ = tx.try_send(());
                        break;
                    }
                }
            }
        })
        .expect("spawn the rule database listener");
}

impl PgStore {
    /// Starts the listener thread for this store's database: it signals `tx` on every
    /// change notification (a burst becomes one signal), after every (re)connect, and when
    /// the database is lost; it ends when `tx` is closed.
    pub fn listen(&self, tx: tokio::sync::mpsc::Sender<()>) {
        listen(
            self.db.config.clone(),
            self.db.tls.clone(),
            self.db.location.clone(),
            tx,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_the_location() {
        assert_eq!(
            redact("postgres://u:s3cret@db:5432/x"),
            "postgres://u@db:5432/x"
        );
        assert_eq!(
            redact("postgres://u@db/x?sslmode=require&password=s3cret&application_name=a"),
            "postgres://u@db/x?sslmode=require&application_name=a"
        );
        assert_eq!(
            redact("postgresql://db/x?PASSWORD=s3cret"),
            "postgresql://db/x"
        );
        assert!(!redact("postgres://u:p@ss@db/x").contains("ss@db/x?"));
        assert!(!redact("postgres://u:p@ss@db/x").contains(":p"));
    }
}
