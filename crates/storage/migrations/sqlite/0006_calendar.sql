-- The working calendar as data: each row overrides the weekend rule for one date (a public
-- holiday, a day off in lieu, or a weekend day worked), confirmed by an administrator.
CREATE TABLE calendar_days (
    day          TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    confirmed_by INTEGER REFERENCES accounts(id),
    confirmed_at TEXT NOT NULL
);
-- Bumped with every calendar change, so every app server rebuilds its calendar (like the
-- catalog generation).
INSERT INTO settings (key, value) VALUES ('calendar_generation', '0') ON CONFLICT (key) DO NOTHING;
