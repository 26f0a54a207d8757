-- Outcome store, version 1 (SQLite): remittances (X12 835) as payers sent them. No names,
-- addresses or member ids are stored.
CREATE TABLE remittances (
    id INTEGER PRIMARY KEY,
    remit_key TEXT NOT NULL UNIQUE,
    version TEXT NOT NULL,
    handling TEXT NOT NULL,
    total_paid_cents INTEGER NOT NULL,
    payment_method TEXT NOT NULL,
    payment_date TEXT NOT NULL,
    trace_number TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payee_id TEXT NOT NULL,
    production_date TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE remit_claims (
    id INTEGER PRIMARY KEY,
    remittance_id INTEGER NOT NULL REFERENCES remittances (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    claim_id TEXT NOT NULL,
    status TEXT NOT NULL,
    charge_cents INTEGER NOT NULL,
    paid_cents INTEGER NOT NULL,
    patient_responsibility_cents INTEGER NOT NULL,
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
    id INTEGER PRIMARY KEY,
    claim_row INTEGER NOT NULL REFERENCES remit_claims (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    code TEXT NOT NULL,
    modifiers TEXT NOT NULL,
    charge_cents INTEGER NOT NULL,
    paid_cents INTEGER NOT NULL,
    units REAL NOT NULL,
    revenue_code TEXT NOT NULL,
    service_date TEXT NOT NULL,
    service_date_to TEXT NOT NULL,
    line_control TEXT NOT NULL,
    allowed_cents INTEGER,
    remarks TEXT NOT NULL
);
CREATE INDEX remit_lines_claim ON remit_lines (claim_row);
CREATE TABLE remit_adjustments (
    id INTEGER PRIMARY KEY,
    claim_row INTEGER NOT NULL REFERENCES remit_claims (id) ON DELETE CASCADE,
    line_row INTEGER REFERENCES remit_lines (id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    reason TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    quantity REAL
);
CREATE INDEX remit_adjustments_claim ON remit_adjustments (claim_row);
CREATE INDEX remit_adjustments_reason ON remit_adjustments (grp, reason);
CREATE TABLE provider_adjustments (
    id INTEGER PRIMARY KEY,
    remittance_id INTEGER NOT NULL REFERENCES remittances (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    fiscal_date TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
);
