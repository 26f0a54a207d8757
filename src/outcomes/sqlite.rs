//! The embedded outcome store: one SQLite file (WAL journal, foreign keys on), migrated to
//! the newest schema when opened.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    AdjustmentRow, Counts, Flag, FlagRow, Ingested, OutcomeError, OutcomeStore, ScrubRecord,
    StoredClaim, join_codes, join_modifiers, now, prior_service,
};
use super::{PriorService, SubmittedClaim};
use crate::remit::Remittance;

/// The schema, one script per version.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/outcomes/001_remittances.sqlite.sql"),
    ),
    (
        2,
        include_str!("../../migrations/outcomes/002_scrub_records.sqlite.sql"),
    ),
    (
        3,
        include_str!("../../migrations/outcomes/003_shadow_flags.sqlite.sql"),
    ),
    (
        4,
        include_str!("../../migrations/outcomes/004_history.sqlite.sql"),
    ),
];

/// Outcomes in an SQLite file.
pub struct SqliteOutcomes {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// Brings the schema up to date in one transaction; refuses a schema newer than this build.
fn migrate(conn: &mut Connection) -> Result<(), String> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS outcome_migrations (
            version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(|e| e.to_string())?;
    let current: i64 = tx
        .query_row(
            "SELECT coalesce(max(version), 0) FROM outcome_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > newest {
        return Err(format!(
            "its schema is version {current}, newer than this claimscrub knows ({newest}); run a newer claimscrub"
        ));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql)
            .map_err(|e| format!("migration {version}: {e}"))?;
        tx.execute(
            "INSERT INTO outcome_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now()],
        )
        .map_err(|e| e.to_string())?;
        tracing::info!(version, "outcome store migrated");
    }
    tx.commit().map_err(|e| e.to_string())
}

impl SqliteOutcomes {
    /// Opens (creating when missing) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, OutcomeError> {
        let fail = |message: String| OutcomeError::Store {
            location: path.display().to_string(),
            message,
        };
        let mut conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(e.to_string()))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(|e| fail(e.to_string()))?;
        // In WAL mode NORMAL syncs at checkpoints, not at every commit: the file stays
        // consistent; a power cut may lose the last commits (records to learn from, and
        // remittances that can be imported again: idempotent).
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| fail(e.to_string()))?;
        migrate(&mut conn).map_err(fail)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn fail(&self, e: impl std::fmt::Display) -> OutcomeError {
        OutcomeError::Store {
            location: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Stores one remittance (not yet stored) inside `tx`.
fn insert(tx: &rusqlite::Transaction<'_>, r: &Remittance) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO remittances (remit_key, version, handling, total_paid_cents, payment_method,
            payment_date, trace_number, payer_id, payer_name, payee_id, production_date,
            ingested_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            r.key,
            r.version,
            r.handling,
            r.total_paid_cents,
            r.payment_method,
            r.payment_date,
            r.trace_number,
            r.payer_id,
            r.payer_name,
            r.payee_id,
            r.production_date,
            now()
        ],
    )?;
    let remittance = tx.last_insert_rowid();
    for (seq, c) in r.claims.iter().enumerate() {
        tx.execute(
            "INSERT INTO remit_claims (remittance_id, seq, claim_id, status, charge_cents,
                paid_cents, patient_responsibility_cents, filing_indicator, payer_claim_number,
                frequency, statement_from, statement_to, remarks)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                remittance,
                seq as i64,
                c.claim_id,
                c.status,
                c.charge_cents,
                c.paid_cents,
                c.patient_responsibility_cents,
                c.filing_indicator,
                c.payer_claim_number,
                c.frequency,
                c.statement_from,
                c.statement_to,
                join_codes(&c.remarks)
            ],
        )?;
        let claim = tx.last_insert_rowid();
        let mut adjust = tx.prepare_cached(
            "INSERT INTO remit_adjustments (claim_row, line_row, grp, reason, amount_cents, quantity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for a in &c.adjustments {
            adjust.execute(params![
                claim,
                None::<i64>,
                a.group,
                a.reason,
                a.amount_cents,
                a.quantity
            ])?;
        }
        for (seq, s) in c.services.iter().enumerate() {
            tx.execute(
                "INSERT INTO remit_lines (claim_row, seq, code, modifiers, charge_cents,
                    paid_cents, units, revenue_code, service_date, service_date_to,
                    line_control, allowed_cents, remarks)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    claim,
                    seq as i64,
                    s.code,
                    join_modifiers(&s.modifiers),
                    s.charge_cents,
                    s.paid_cents,
                    s.units,
                    s.revenue_code,
                    s.service_date,
                    s.service_date_to,
                    s.line_control,
                    s.allowed_cents,
                    join_codes(&s.remarks)
                ],
            )?;
            let line = tx.last_insert_rowid();
            for a in &s.adjustments {
                adjust.execute(params![
                    claim,
                    line,
                    a.group,
                    a.reason,
                    a.amount_cents,
                    a.quantity
                ])?;
            }
        }
    }
    for p in &r.provider_adjustments {
        tx.execute(
            "INSERT INTO provider_adjustments (remittance_id, provider_id, fiscal_date, reason,
                reference, amount_cents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                remittance,
                p.provider_id,
                p.fiscal_date,
                p.reason,
                p.reference,
                p.amount_cents
            ],
        )?;
    }
    Ok(())
}

impl OutcomeStore for SqliteOutcomes {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn ingest(&self, remittances: &[Remittance]) -> Result<Ingested, OutcomeError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.fail(e))?;
        let mut stored = Vec::with_capacity(remittances.len());
        for r in remittances {
            let known = tx
                .query_row(
                    "SELECT 1 FROM remittances WHERE remit_key = ?1",
                    [&r.key],
                    |_| Ok(()),
                )
                .optional()
                .map_err(|e| self.fail(e))?
                .is_some();
            if !known {
                insert(&tx, r).map_err(|e| self.fail(e))?;
            }
            stored.push(!known);
        }
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(Ingested { stored })
    }

    fn counts(&self) -> Result<Counts, OutcomeError> {
        let conn = self.conn();
        let count = |table: &str| -> Result<u64, OutcomeError> {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.fail(e))
        };
        Ok(Counts {
            remittances: count("remittances")?,
            claims: count("remit_claims")?,
            lines: count("remit_lines")?,
            adjustments: count("remit_adjustments")?,
        })
    }

    fn claim(&self, claim_id: &str) -> Result<Vec<StoredClaim>, OutcomeError> {
        let conn = self.conn();
        let run = || -> rusqlite::Result<Vec<StoredClaim>> {
            let mut claims = conn.prepare(
                "SELECT c.id, r.payer_id, c.status, c.charge_cents, c.paid_cents,
                        (SELECT count(*) FROM remit_lines l WHERE l.claim_row = c.id)
                 FROM remit_claims c JOIN remittances r ON r.id = c.remittance_id
                 WHERE c.claim_id = ?1 ORDER BY r.id, c.seq",
            )?;
            let mut adjustments = conn.prepare(
                "SELECT coalesce(l.code || ': ', ''), a.grp, a.reason, a.amount_cents
                 FROM remit_adjustments a LEFT JOIN remit_lines l ON l.id = a.line_row
                 WHERE a.claim_row = ?1 ORDER BY a.id",
            )?;
            let rows = claims
                .query_map([claim_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        StoredClaim {
                            payer_id: r.get(1)?,
                            status: r.get(2)?,
                            charge_cents: r.get(3)?,
                            paid_cents: r.get(4)?,
                            adjustments: Vec::new(),
                            lines: r.get::<_, i64>(5)? as usize,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for (id, mut c) in rows {
                c.adjustments = adjustments
                    .query_map([id], |r| {
                        Ok(format!(
                            "{}{}-{} {}",
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(c);
            }
            Ok(out)
        };
        run().map_err(|e| self.fail(e))
    }

    fn purge_before(&self, cutoff: &str) -> Result<u64, OutcomeError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        let n = tx
            .execute("DELETE FROM remittances WHERE ingested_at < ?1", [cutoff])
            .map_err(|e| self.fail(e))?;
        tx.execute("DELETE FROM scrub_records WHERE scrubbed_at < ?1", [cutoff])
            .map_err(|e| self.fail(e))?;
        tx.execute(
            "DELETE FROM submitted_claims WHERE submitted_at < ?1",
            [cutoff],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(n as u64)
    }

    fn record_scrubs(&self, records: &[ScrubRecord]) -> Result<(), OutcomeError> {
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                let mut record = tx.prepare_cached(
                    "INSERT INTO scrub_records (claim_id, payer_id, payer_type, scrubbed_at,
                        ruleset_version, denial_risk, patient_key, provider)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                let mut flag = tx.prepare_cached(
                    "INSERT INTO scrub_flags (record_id, rule_id, rule_version, carc, declared,
                        line_number, shadow) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?;
                for r in records {
                    record.execute(params![
                        r.claim_id,
                        r.payer_id,
                        r.payer_type,
                        r.scrubbed_at,
                        r.ruleset_version,
                        r.denial_risk,
                        r.patient_key,
                        r.provider
                    ])?;
                    let id = tx.last_insert_rowid();
                    for f in &r.flags {
                        flag.execute(params![
                            id,
                            f.rule_id,
                            f.rule_version,
                            f.carc,
                            f.declared,
                            f.line,
                            f.shadow
                        ])?;
                    }
                }
            }
            tx.commit()
        };
        run(&mut conn).map_err(|e| self.fail(e))
    }

    fn scrub_count(&self) -> Result<u64, OutcomeError> {
        self.conn()
            .query_row("SELECT count(*) FROM scrub_records", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
            .map_err(|e| self.fail(e))
    }

    fn flags(&self, each: &mut dyn FnMut(FlagRow)) -> Result<(), OutcomeError> {
        let conn = self.conn();
        let mut run = || -> rusqlite::Result<()> {
            let mut q = conn.prepare(super::FLAGS_SQL)?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                each(FlagRow {
                    claim_id: r.get(0)?,
                    payer_id: r.get(1)?,
                    payer_type: r.get(2)?,
                    flag: Flag {
                        rule_id: r.get(3)?,
                        rule_version: r.get(4)?,
                        carc: r.get(5)?,
                        declared: r.get(6)?,
                        line: r.get(7)?,
                        shadow: r.get(8)?,
                    },
                });
            }
            Ok(())
        };
        run().map_err(|e| self.fail(e))
    }

    fn adjustments(&self, each: &mut dyn FnMut(AdjustmentRow)) -> Result<(), OutcomeError> {
        let conn = self.conn();
        let mut run = || -> rusqlite::Result<()> {
            let mut q = conn.prepare(super::ADJUSTMENTS_SQL)?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                let seq: Option<i64> = r.get(3)?;
                let control: Option<String> = r.get(4)?;
                each(AdjustmentRow {
                    claim_id: r.get(0)?,
                    payer_id: r.get(1)?,
                    payer_type: r.get(2)?,
                    line: seq.map(|s| (s as u32, control.unwrap_or_default())),
                    group: r.get(5)?,
                    reason: r.get(6)?,
                    amount_cents: r.get(7)?,
                });
            }
            Ok(())
        };
        run().map_err(|e| self.fail(e))
    }

    fn claim_risks(&self, each: &mut dyn FnMut(String, f64)) -> Result<(), OutcomeError> {
        let conn = self.conn();
        let mut run = || -> rusqlite::Result<()> {
            let mut q = conn.prepare(super::RISKS_SQL)?;
            let mut rows = q.query([])?;
            while let Some(r) = rows.next()? {
                each(r.get(0)?, r.get(1)?);
            }
            Ok(())
        };
        run().map_err(|e| self.fail(e))
    }

    fn record_submitted(&self, claims: &[SubmittedClaim]) -> Result<(), OutcomeError> {
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            {
                // The claim row is replaced, and its lines with it (ON DELETE CASCADE).
                let mut claim = tx.prepare_cached(
                    "INSERT OR REPLACE INTO submitted_claims (claim_id, patient_key, provider,
                        submitted_at) VALUES (?1, ?2, ?3, ?4)",
                )?;
                let mut line = tx.prepare_cached(
                    "INSERT OR REPLACE INTO submitted_services (claim_id, line_number,
                        service_date, code, modifiers, units) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for c in claims {
                    tx.execute(
                        "DELETE FROM submitted_claims WHERE claim_id = ?1",
                        [&c.claim_id],
                    )?;
                    claim.execute(params![
                        c.claim_id,
                        c.patient_key,
                        c.provider,
                        c.submitted_at
                    ])?;
                    for l in &c.lines {
                        line.execute(params![
                            c.claim_id,
                            l.line_number,
                            crate::tables::code::iso(l.date),
                            l.code,
                            join_modifiers(&l.modifiers),
                            l.units
                        ])?;
                    }
                }
            }
            tx.commit()
        };
        run(&mut conn).map_err(|e| self.fail(e))
    }

    fn patient_history(
        &self,
        key: &str,
        since: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Vec<PriorService>, OutcomeError> {
        let conn = self.conn();
        let run = || -> rusqlite::Result<Vec<PriorService>> {
            let mut q = conn.prepare_cached(super::HISTORY_SQL)?;
            let mut rows = q.query(params![key, crate::tables::code::iso(since), limit as i64])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let date: String = r.get(0)?;
                let modifiers: String = r.get(2)?;
                out.extend(prior_service(
                    &date,
                    r.get(1)?,
                    &modifiers,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get::<_, i64>(6)? != 0,
                ));
            }
            Ok(out)
        };
        run().map_err(|e| self.fail(e))
    }
}
