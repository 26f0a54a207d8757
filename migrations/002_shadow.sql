-- claimscrub rule store, migration 002: rules in shadow (evaluated on live traffic and
-- recorded, never scored). A disabled rule is never in shadow; re-enabling it says which.
ALTER TABLE rules ADD COLUMN shadow boolean NOT NULL DEFAULT false;
