-- Outcome store, version 3 (PostgreSQL): which flags came from rules running in shadow (never
-- scored; the calibration report shows what they would have caught).
ALTER TABLE scrub_flags ADD COLUMN shadow boolean NOT NULL DEFAULT false;
