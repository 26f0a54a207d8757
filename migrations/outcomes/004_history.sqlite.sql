-- Outcome store, version 4 (SQLite): the patient's history for frequency and duplicate edits.
-- A patient is a keyed hash (HMAC-SHA256 of member id and birth date under the operator's
-- secret): no member id, name or birth date is stored.
ALTER TABLE scrub_records ADD COLUMN patient_key TEXT;
ALTER TABLE scrub_records ADD COLUMN provider TEXT NOT NULL DEFAULT '';
CREATE INDEX scrub_records_patient ON scrub_records (patient_key) WHERE patient_key IS NOT NULL;
CREATE TABLE submitted_claims (
    claim_id TEXT PRIMARY KEY,
    patient_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    submitted_at TEXT NOT NULL
);
CREATE INDEX submitted_claims_patient ON submitted_claims (patient_key);
CREATE INDEX submitted_claims_time ON submitted_claims (submitted_at);
CREATE TABLE submitted_services (
    claim_id TEXT NOT NULL REFERENCES submitted_claims (claim_id) ON DELETE CASCADE,
    line_number INTEGER NOT NULL,
    service_date TEXT NOT NULL,
    code TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    units REAL NOT NULL,
    PRIMARY KEY (claim_id, line_number)
);
