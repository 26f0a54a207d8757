-- Outcome store, version 3 (SQLite): which flags came from rules running in shadow (never
-- scored; the calibration report shows what they would have caught).
ALTER TABLE scrub_flags ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0;
