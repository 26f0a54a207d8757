-- Outcome store, version 1 (PostgreSQL): remittances (X12 835) as payers sent them. No names,
-- addresses or member ids are stored.
CREATE TABLE remittances (
    id BIGSERIAL PRIMARY KEY,
    remit_key TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL,
    handling TEXT NOT NULL,
    total_paid_cents BIGINT NOT NULL,
    payment_method TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    trace_number TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payee_id TEXT NOT NULL,
    production_date TEXT NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE remit_claims (
    id BIGSERIAL PRIMARY KEY,
    remittance_id BIGINT NOT NULL REFERENCES remittances (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    claim_id TEXT NOT NULL,
    status TEXT NOT NULL,
    charge_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL,
    patient_responsibility_cents BIGINT NOT NULL,
    filing_indicator TEXT NOT NULL,
    payer_claim_number TEXT NOT NULL,
    frequency TEXT NOT NULL,
    statement_from TEXT NOT NULL,
    statement_to TEXT NOT NULL,
    remarks TEXT NOT NULL
);
CREATE INDEX remit_claims_claim_id ON remit_claims (claim_id);
CREATE INDEX remit_claims_remittance ON remit_claims (remittance_id);
CREATE TABLE remit_lines (
    id BIGSERIAL PRIMARY KEY,
    claim_row BIGINT NOT NULL REFERENCES remit_claims (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    charge_cents BIGINT NOT NULL,
    paid_cents BIGINT NOT NULL,
    units DOUBLE PRECISION NOT NULL,
    revenue_code TEXT NOT NULL,
    service_date TEXT NOT NULL,
    service_date_to TEXT NOT NULL,
    line_control TEXT NOT NULL,
    allowed_cents BIGINT,
    remarks TEXT NOT NULL
);
CREATE INDEX remit_lines_claim ON remit_lines (claim_row);
CREATE TABLE remit_adjustments (
    id BIGSERIAL PRIMARY KEY,
    claim_row BIGINT NOT NULL REFERENCES remit_claims (id) ON DELETE CASCADE,
    line_row BIGINT REFERENCES remit_lines (id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    reason TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    quantity DOUBLE PRECISION
);
CREATE INDEX remit_adjustments_claim ON remit_adjustments (claim_row);
CREATE INDEX remit_adjustments_reason ON remit_adjustments (grp, reason);
CREATE TABLE provider_adjustments (
    id BIGSERIAL PRIMARY KEY,
    remittance_id BIGINT NOT NULL REFERENCES remittances (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    fiscal_date TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_cents BIGINT NOT NULL
);
