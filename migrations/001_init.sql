-- claimscrub rule store, migration 001: rules, their versions and history, the audit trail.
-- Applied by the service at start (src/store/postgres.rs) inside a transaction holding an
-- advisory lock, so replicas starting together apply it once.

-- The rules in force: one row per rule file (the key every replica's registry reads).
CREATE TABLE rules (
    file       text        PRIMARY KEY CHECK (file LIKE '%_.rhai' AND file !~ '^\.' AND file !~ '[/\\]'),
    source     text        NOT NULL,
    tests      text,                      -- NULL: the rule has no test file
    version    text        NOT NULL,      -- content version: 12 hex digits of the SHA-256
    enabled    boolean     NOT NULL DEFAULT true,
    updated_by text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The text of every version ever stored (restorable by RollbackRule).
CREATE TABLE rule_versions (
    rule_id    text        NOT NULL,
    version    text        NOT NULL CHECK (version ~ '^[0-9a-f]+$'),
    source     text        NOT NULL,
    tests      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, version)
);

-- What happened to each rule, in order (append-only).
CREATE TABLE rule_history (
    seq      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule_id  text        NOT NULL,
    version  text        NOT NULL,
    author   text        NOT NULL,
    time     timestamptz NOT NULL,
    comment  text        NOT NULL DEFAULT '',
    action   text        NOT NULL,
    FOREIGN KEY (rule_id, version) REFERENCES rule_versions (rule_id, version)
);
CREATE INDEX rule_history_rule ON rule_history (rule_id, seq DESC);

-- Every admin call, accepted, refused or failed (append-only; never claim data or tokens).
CREATE TABLE audit (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        timestamptz NOT NULL,
    principal   text        NOT NULL,
    action      text        NOT NULL,
    rule_id     text        NOT NULL DEFAULT '',
    old_version text        NOT NULL DEFAULT '',
    new_version text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL
);

CREATE FUNCTION claimscrub_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER rule_history_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON rule_history
    FOR EACH STATEMENT EXECUTE FUNCTION claimscrub_append_only();
CREATE TRIGGER rule_versions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON rule_versions
    FOR EACH STATEMENT EXECUTE FUNCTION claimscrub_append_only();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION claimscrub_append_only();
