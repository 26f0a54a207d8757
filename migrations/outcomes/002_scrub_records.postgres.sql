-- Outcome store, version 2 (PostgreSQL): what claimscrub said about each claim when it scrubbed
-- it (claim id, payer, the rules that fired with their predicted CARC and probability, on
-- which lines), to learn from against the remittances. No claim content beyond that.
CREATE TABLE scrub_records (
    id BIGSERIAL PRIMARY KEY,
    claim_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    payer_type TEXT NOT NULL,
    scrubbed_at TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    denial_risk DOUBLE PRECISION NOT NULL
);
CREATE INDEX scrub_records_claim ON scrub_records (claim_id, id);
CREATE INDEX scrub_records_time ON scrub_records (scrubbed_at);
CREATE TABLE scrub_flags (
    id BIGSERIAL PRIMARY KEY,
    record_id BIGINT NOT NULL REFERENCES scrub_records (id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    rule_version TEXT NOT NULL,
    carc TEXT NOT NULL,
    declared DOUBLE PRECISION NOT NULL,
    line_number INTEGER NOT NULL
);
CREATE INDEX scrub_flags_record ON scrub_flags (record_id);
