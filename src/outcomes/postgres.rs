//! The outcome store in PostgreSQL: the same schema as the SQLite file, in the database a
//! fleet shares (it can be the rule store's), migrated under an advisory lock so replicas
//! starting together migrate once.

use postgres::Client;

use super::{
    AdjustmentRow, Counts, Flag, FlagRow, Ingested, OutcomeError, OutcomeStore, ScrubRecord,
    StoredClaim, join_codes, join_modifiers, prior_service,
};
use super::{PriorService, SubmittedClaim};
use crate::remit::Remittance;
use crate::store::postgres::Db;

/// The schema, one script per version.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        include_str!("../../migrations/outcomes/001_remittances.postgres.sql"),
    ),
    (
        2,
        include_str!("../../migrations/outcomes/002_scrub_records.postgres.sql"),
    ),
    (
        3,
        include_str!("../../migrations/outcomes/003_shadow_flags.postgres.sql"),
    ),
    (
        4,
        include_str!("../../migrations/outcomes/004_history.postgres.sql"),
    ),
];

/// Advisory lock key that serialises outcome migrations across replicas ("outcomes").
const MIGRATION_LOCK: i64 = 0x6f75_7463_6f6d_6573;

/// Outcomes in PostgreSQL.
pub struct PgOutcomes {
    db: Db,
}

fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS outcome_migrations (
            version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM outcome_migrations",
            &[],
        )?
        .get(0);
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO outcome_migrations (version) VALUES ($1)",
            &[version],
        )?;
        tracing::info!(version, "outcome store migrated");
    }
    tx.commit()
}

impl PgOutcomes {
    /// Connects to the database at `url` and brings the outcome schema up to date.
    pub fn connect(url: &str) -> Result<Self, OutcomeError> {
        let db =
            Db::connect(url, "outcome database", migrate).map_err(|e| OutcomeError::Store {
                location: crate::store::postgres::redact(url),
                message: e.to_string(),
            })?;
        let newest = MIGRATIONS.last().map_or(0, |(v, _)| *v);
        let current: i32 = db
            .with(|c| {
                c.query_one(
                    "SELECT coalesce(max(version), 0) FROM outcome_migrations",
                    &[],
                )
                .map(|r| r.get(0))
            })
            .map_err(|e| OutcomeError::Store {
                location: db.location().to_string(),
                message: e.to_string(),
            })?;
        if current > newest {
            return Err(OutcomeError::Store {
                location: db.location().to_string(),
                message: format!(
                    "its schema is version {current}, newer than this claimscrub knows ({newest}); run a newer claimscrub"
                ),
            });
        }
        Ok(Self { db })
    }

    fn fail(&self, e: impl std::fmt::Display) -> OutcomeError {
        OutcomeError::Store {
            location: self.db.location().to_string(),
            message: e.to_string(),
        }
    }
}

/// `n` fresh ids of `table`'s id sequence, in one round trip.
fn ids(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    n: usize,
) -> Result<Vec<i64>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1::bigint, $2::bigint)",
            &[&table, &(n as i64)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Stores one remittance (not yet stored) inside `tx`: a few statements whatever its size
/// (ids drawn from the sequences first, then each table's rows as arrays through `unnest`),
/// so a remittance of thousands of claims is not thousands of round trips.
fn insert(tx: &mut postgres::Transaction<'_>, r: &Remittance) -> Result<(), postgres::Error> {
    let remittance: i64 = tx
        .query_one(
            "INSERT INTO remittances (remit_key, version, handling, total_paid_cents,
                payment_method, payment_date, trace_number, payer_id, payer_name, payee_id,
                production_date)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &r.key,
                &r.version,
                &r.handling,
                &r.total_paid_cents,
                &r.payment_method,
                &r.payment_date,
                &r.trace_number,
                &r.payer_id,
                &r.payer_name,
                &r.payee_id,
                &r.production_date,
            ],
        )?
        .get(0);
    let claim_ids = ids(tx, "remit_claims", r.claims.len())?;
    let col = |f: &dyn Fn(&crate::remit::ClaimPayment) -> String| -> Vec<String> {
        r.claims.iter().map(f).collect()
    };
    let cents = |f: &dyn Fn(&crate::remit::ClaimPayment) -> i64| -> Vec<i64> {
        r.claims.iter().map(f).collect()
    };
    tx.execute(
        "INSERT INTO remit_claims (id, remittance_id, seq, claim_id, status, charge_cents,
            paid_cents, patient_responsibility_cents, filing_indicator, payer_claim_number,
            frequency, statement_from, statement_to, remarks)
         SELECT id, $2, seq::int, claim_id, status, charge, paid, patient, filing, pcn,
                frequency, stmt_from, stmt_to, remarks
         FROM unnest($1::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],
                     $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[],
                     $12::text[], $13::text[], $14::text[])
              AS t(id, seq, claim_id, status, charge, paid, patient, filing, pcn, frequency,
                   stmt_from, stmt_to, remarks)",
        &[
            &claim_ids,
            &remittance,
            &(0..r.claims.len() as i64).collect::<Vec<i64>>(),
            &col(&|c| c.claim_id.clone()),
            &col(&|c| c.status.clone()),
            &cents(&|c| c.charge_cents),
            &cents(&|c| c.paid_cents),
            &cents(&|c| c.patient_responsibility_cents),
            &col(&|c| c.filing_indicator.clone()),
            &col(&|c| c.payer_claim_number.clone()),
            &col(&|c| c.frequency.clone()),
            &col(&|c| c.statement_from.clone()),
            &col(&|c| c.statement_to.clone()),
            &col(&|c| join_codes(&c.remarks)),
        ],
    )?;
    // Lines, each with its claim's id.
    let lines: Vec<(i64, usize, &crate::remit::ServicePayment)> = r
        .claims
        .iter()
        .zip(&claim_ids)
        .flat_map(|(c, id)| c.services.iter().enumerate().map(move |(i, s)| (*id, i, s)))
        .collect();
    let line_ids = ids(tx, "remit_lines", lines.len())?;
    let text = |f: &dyn Fn(&crate::remit::ServicePayment) -> String| -> Vec<String> {
        lines.iter().map(|(_, _, s)| f(s)).collect()
    };
    tx.execute(
        "INSERT INTO remit_lines (id, claim_row, seq, code, modifiers, charge_cents, paid_cents,
            units, revenue_code, service_date, service_date_to, line_control, allowed_cents,
            remarks)
         SELECT id, claim_row, seq::int, code, modifiers, charge, paid, units, revenue, sdate,
                sdate_to, control, allowed, remarks
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                     $6::bigint[], $7::bigint[], $8::float8[], $9::text[], $10::text[],
                     $11::text[], $12::text[], $13::bigint[], $14::text[])
              AS t(id, claim_row, seq, code, modifiers, charge, paid, units, revenue, sdate,
                   sdate_to, control, allowed, remarks)",
        &[
            &line_ids,
            &lines.iter().map(|l| l.0).collect::<Vec<i64>>(),
            &lines.iter().map(|l| l.1 as i64).collect::<Vec<i64>>(),
            &text(&|s| s.code.clone()),
            &text(&|s| join_modifiers(&s.modifiers)),
            &lines.iter().map(|l| l.2.charge_cents).collect::<Vec<i64>>(),
            &lines.iter().map(|l| l.2.paid_cents).collect::<Vec<i64>>(),
            &lines.iter().map(|l| l.2.units).collect::<Vec<f64>>(),
            &text(&|s| s.revenue_code.clone()),
            &text(&|s| s.service_date.clone()),
            &text(&|s| s.service_date_to.clone()),
            &text(&|s| s.line_control.clone()),
            &lines
                .iter()
                .map(|l| l.2.allowed_cents)
                .collect::<Vec<Option<i64>>>(),
            &text(&|s| join_codes(&s.remarks)),
        ],
    )?;
    // Adjustments: the claims' own, then each line's.
    let mut adjustments: Vec<(i64, Option<i64>, &crate::remit::Adjustment)> = Vec::new();
    for (c, id) in r.claims.iter().zip(&claim_ids) {
        adjustments.extend(c.adjustments.iter().map(|a| (*id, None, a)));
    }
    for ((claim, _, s), line) in lines.iter().zip(&line_ids) {
        adjustments.extend(s.adjustments.iter().map(|a| (*claim, Some(*line), a)));
    }
    tx.execute(
        "INSERT INTO remit_adjustments (claim_row, line_row, grp, reason, amount_cents, quantity)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                              $5::bigint[], $6::float8[])",
        &[
            &adjustments.iter().map(|a| a.0).collect::<Vec<i64>>(),
            &adjustments
                .iter()
                .map(|a| a.1)
                .collect::<Vec<Option<i64>>>(),
            &adjustments
                .iter()
                .map(|a| a.2.group.clone())
                .collect::<Vec<String>>(),
            &adjustments
                .iter()
                .map(|a| a.2.reason.clone())
                .collect::<Vec<String>>(),
            &adjustments
                .iter()
                .map(|a| a.2.amount_cents)
                .collect::<Vec<i64>>(),
            &adjustments
                .iter()
                .map(|a| a.2.quantity)
                .collect::<Vec<Option<f64>>>(),
        ],
    )?;
    for p in &r.provider_adjustments {
        tx.execute(
            "INSERT INTO provider_adjustments (remittance_id, provider_id, fiscal_date, reason,
                reference, amount_cents)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &remittance,
                &p.provider_id,
                &p.fiscal_date,
                &p.reason,
                &p.reference,
                &p.amount_cents,
            ],
        )?;
    }
    Ok(())
}

impl OutcomeStore for PgOutcomes {
    fn describe(&self) -> String {
        self.db.location().to_string()
    }

    fn ingest(&self, remittances: &[Remittance]) -> Result<Ingested, OutcomeError> {
        self.db
            .with(|c| {
                let mut tx = c.transaction()?;
                let mut stored = Vec::with_capacity(remittances.len());
                for r in remittances {
                    // Another replica may store the same file at the same time: a lock on
                    // the key makes the second one see the first's row and skip it.
                    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&r.key])?;
                    let known = tx
                        .query_opt("SELECT 1 FROM remittances WHERE remit_key = $1", &[&r.key])?
                        .is_some();
                    if !known {
                        insert(&mut tx, r)?;
                    }
                    stored.push(!known);
                }
                tx.commit()?;
                Ok(Ingested { stored })
            })
            .map_err(|e| self.fail(e))
    }

    fn counts(&self) -> Result<Counts, OutcomeError> {
        self.db
            .with(|c| {
                let row = c.query_one(
                    "SELECT (SELECT count(*) FROM remittances), (SELECT count(*) FROM remit_claims),
                            (SELECT count(*) FROM remit_lines), (SELECT count(*) FROM remit_adjustments)",
                    &[],
                )?;
                let n = |i: usize| row.get::<_, i64>(i) as u64;
                Ok(Counts {
                    remittances: n(0),
                    claims: n(1),
                    lines: n(2),
                    adjustments: n(3),
                })
            })
            .map_err(|e| self.fail(e))
    }

    fn claim(&self, claim_id: &str) -> Result<Vec<StoredClaim>, OutcomeError> {
        self.db
            .with(|c| {
                let rows = c.query(
                    "SELECT c.id, r.payer_id, c.status, c.charge_cents, c.paid_cents,
                            (SELECT count(*) FROM remit_lines l WHERE l.claim_row = c.id)
                     FROM remit_claims c JOIN remittances r ON r.id = c.remittance_id
                     WHERE c.claim_id = $1 ORDER BY r.id, c.seq",
                    &[&claim_id],
                )?;
                let mut out = Vec::new();
                for row in rows {
                    let id: i64 = row.get(0);
                    let adjustments = c
                        .query(
                            "SELECT coalesce(l.code || ': ', ''), a.grp, a.reason, a.amount_cents
                             FROM remit_adjustments a LEFT JOIN remit_lines l ON l.id = a.line_row
                             WHERE a.claim_row = $1 ORDER BY a.id",
                            &[&id],
                        )?
                        .into_iter()
                        .map(|a| {
                            format!(
                                "{}{}-{} {}",
                                a.get::<_, String>(0),
                                a.get::<_, String>(1),
                                a.get::<_, String>(2),
                                a.get::<_, i64>(3)
                            )
                        })
                        .collect();
                    out.push(StoredClaim {
                        payer_id: row.get(1),
                        status: row.get(2),
                        charge_cents: row.get(3),
                        paid_cents: row.get(4),
                        adjustments,
                        lines: row.get::<_, i64>(5) as usize,
                    });
                }
                Ok(out)
            })
            .map_err(|e| self.fail(e))
    }

    fn purge_before(&self, cutoff: &str) -> Result<u64, OutcomeError> {
        self.db
            .with(|c| {
                let mut tx = c.transaction()?;
                let n = tx.execute(
                    "DELETE FROM remittances WHERE ingested_at < ($1::text)::timestamptz",
                    &[&cutoff],
                )?;
                tx.execute(
                    "DELETE FROM scrub_records WHERE scrubbed_at < $1",
                    &[&cutoff],
                )?;
                tx.execute(
                    "DELETE FROM submitted_claims WHERE submitted_at < $1",
                    &[&cutoff],
                )?;
                tx.commit()?;
                Ok(n)
            })
            .map_err(|e| self.fail(e))
    }

    fn record_scrubs(&self, records: &[ScrubRecord]) -> Result<(), OutcomeError> {
        self.db
            .with(|c| {
                let mut tx = c.transaction()?;
                let ids: Vec<i64> = tx
                    .query(
                        "SELECT nextval(pg_get_serial_sequence('scrub_records', 'id'))
                         FROM generate_series(1::bigint, $1::bigint)",
                        &[&(records.len() as i64)],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let text = |f: &dyn Fn(&ScrubRecord) -> String| -> Vec<String> {
                    records.iter().map(f).collect()
                };
                tx.execute(
                    "INSERT INTO scrub_records (id, claim_id, payer_id, payer_type, scrubbed_at,
                        ruleset_version, denial_risk, patient_key, provider)
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                                          $5::text[], $6::text[], $7::float8[], $8::text[],
                                          $9::text[])",
                    &[
                        &ids,
                        &text(&|r| r.claim_id.clone()),
                        &text(&|r| r.payer_id.clone()),
                        &text(&|r| r.payer_type.clone()),
                        &text(&|r| r.scrubbed_at.clone()),
                        &text(&|r| r.ruleset_version.clone()),
                        &records.iter().map(|r| r.denial_risk).collect::<Vec<f64>>(),
                        &records
                            .iter()
                            .map(|r| r.patient_key.clone())
                            .collect::<Vec<Option<String>>>(),
                        &text(&|r| r.provider.clone()),
                    ],
                )?;
                let flags: Vec<(i64, &Flag)> = records
                    .iter()
                    .zip(&ids)
                    .flat_map(|(r, id)| r.flags.iter().map(move |f| (*id, f)))
                    .collect();
                tx.execute(
                    "INSERT INTO scrub_flags (record_id, rule_id, rule_version, carc, declared,
                        line_number, shadow)
                     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                                          $5::float8[], $6::int[], $7::bool[])",
                    &[
                        &flags.iter().map(|f| f.0).collect::<Vec<i64>>(),
                        &flags
                            .iter()
                            .map(|f| f.1.rule_id.clone())
                            .collect::<Vec<String>>(),
                        &flags
                            .iter()
                            .map(|f| f.1.rule_version.clone())
                            .collect::<Vec<String>>(),
                        &flags
                            .iter()
                            .map(|f| f.1.carc.clone())
                            .collect::<Vec<String>>(),
                        &flags.iter().map(|f| f.1.declared).collect::<Vec<f64>>(),
                        &flags.iter().map(|f| f.1.line as i32).collect::<Vec<i32>>(),
                        &flags.iter().map(|f| f.1.shadow).collect::<Vec<bool>>(),
                    ],
                )?;
                tx.commit()
            })
            .map_err(|e| self.fail(e))
    }

    fn scrub_count(&self) -> Result<u64, OutcomeError> {
        self.db
            .with(|c| {
                c.query_one("SELECT count(*) FROM scrub_records", &[])
                    .map(|r| r.get::<_, i64>(0) as u64)
            })
            .map_err(|e| self.fail(e))
    }

    fn flags(&self, each: &mut dyn FnMut(FlagRow)) -> Result<(), OutcomeError> {
        let rows = self
            .db
            .with(|c| c.query(super::FLAGS_SQL, &[]))
            .map_err(|e| self.fail(e))?;
        for r in rows {
            each(FlagRow {
                claim_id: r.get(0),
                payer_id: r.get(1),
                payer_type: r.get(2),
                flag: Flag {
                    rule_id: r.get(3),
                    rule_version: r.get(4),
                    carc: r.get(5),
                    declared: r.get(6),
                    line: r.get::<_, i32>(7).max(0) as u32,
                    shadow: r.get(8),
                },
            });
        }
        Ok(())
    }

    fn adjustments(&self, each: &mut dyn FnMut(AdjustmentRow)) -> Result<(), OutcomeError> {
        let rows = self
            .db
            .with(|c| c.query(super::ADJUSTMENTS_SQL, &[]))
            .map_err(|e| self.fail(e))?;
        for r in rows {
            let seq: Option<i32> = r.get(3);
            let control: Option<String> = r.get(4);
            each(AdjustmentRow {
                claim_id: r.get(0),
                payer_id: r.get(1),
                payer_type: r.get(2),
                line: seq.map(|s| (s.max(0) as u32, control.unwrap_or_default())),
                group: r.get(5),
                reason: r.get(6),
                amount_cents: r.get(7),
            });
        }
        Ok(())
    }

    fn claim_risks(&self, each: &mut dyn FnMut(String, f64)) -> Result<(), OutcomeError> {
        let rows = self
            .db
            .with(|c| c.query(super::RISKS_SQL, &[]))
            .map_err(|e| self.fail(e))?;
        for r in rows {
            each(r.get(0), r.get(1));
        }
        Ok(())
    }

    fn record_submitted(&self, claims: &[SubmittedClaim]) -> Result<(), OutcomeError> {
        self.db
            .with(|c| {
                let mut tx = c.transaction()?;
                for claim in claims {
                    // The claim row is replaced, and its lines with it (ON DELETE CASCADE).
                    tx.execute(
                        "DELETE FROM submitted_claims WHERE claim_id = $1",
                        &[&claim.claim_id],
                    )?;
                    tx.execute(
                        "INSERT INTO submitted_claims (claim_id, patient_key, provider,
                            submitted_at) VALUES ($1, $2, $3, $4)",
                        &[
                            &claim.claim_id,
                            &claim.patient_key,
                            &claim.provider,
                            &claim.submitted_at,
                        ],
                    )?;
                    let lines = &claim.lines;
                    tx.execute(
                        "INSERT INTO submitted_services (claim_id, line_number, service_date,
                            code, modifiers, units)
                         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[],
                                                  $6::float8[])",
                        &[
                            &claim.claim_id,
                            &lines
                                .iter()
                                .map(|l| l.line_number as i32)
                                .collect::<Vec<i32>>(),
                            &lines
                                .iter()
                                .map(|l| crate::tables::code::iso(l.date))
                                .collect::<Vec<String>>(),
                            &lines
                                .iter()
                                .map(|l| l.code.clone())
                                .collect::<Vec<String>>(),
                            &lines
                                .iter()
                                .map(|l| join_modifiers(&l.modifiers))
                                .collect::<Vec<String>>(),
                            &lines.iter().map(|l| l.units).collect::<Vec<f64>>(),
                        ],
                    )?;
                }
                tx.commit()
            })
            .map_err(|e| self.fail(e))
    }

    fn patient_history(
        &self,
        key: &str,
        since: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Vec<PriorService>, OutcomeError> {
        let since = crate::tables::code::iso(since);
        let rows = self
            .db
            .with(|c| c.query(super::HISTORY_SQL, &[&key, &since, &(limit as i64)]))
            .map_err(|e| self.fail(e))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let date: String = r.get(0);
                let modifiers: String = r.get(2);
                prior_service(
                    &date,
                    r.get(1),
                    &modifiers,
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get::<_, i32>(6) != 0,
                )
            })
            .collect())
    }
}
