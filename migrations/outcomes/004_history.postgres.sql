-- Outcome store, version 4 (PostgreSQL): the patient's history for frequency and duplicate
-- edits. A patient is a keyed hash (HMAC-SHA256 of member id and birth date under the
-- operator's secret): no member id, name or birth date is stored.
ALTER TABLE scrub_records ADD COLUMN patient_key text;
ALTER TABLE scrub_records ADD COLUMN provider text NOT NULL DEFAULT '';
CREATE INDEX scrub_records_patient ON scrub_records (patient_key) WHERE patient_key IS NOT NULL;
CREATE TABLE submitted_claims (
    claim_id text PRIMARY KEY,
    patient_key text NOT NULL,
    provider text NOT NULL,
    submitted_at text NOT NULL
);
CREATE INDEX submitted_claims_patient ON submitted_claims (patient_key);
CREATE INDEX submitted_claims_time ON submitted_claims (submitted_at);
CREATE TABLE submitted_services (
    claim_id text NOT NULL REFERENCES submitted_claims (claim_id) ON DELETE CASCADE,
    line_number integer NOT NULL,
    service_date text NOT NULL,
    code text NOT NULL,
    modifiers text NOT NULL,
    units double precision NOT NULL,
    PRIMARY KEY (claim_id, line_number)
);
