-- The working calendar as data: each row overrides the weekend rule for one date (a public
-- holiday, a day off in lieu, or a weekend day worked), confirmed by an administrator.
CREATE TABLE calendar_days (
    day          DATE PRIMARY KEY,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    confirmed_by BIGINT REFERENCES accounts(id),
    confirmed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO settings (key, value) VALUES ('calendar_generation', '0') ON CONFLICT (key) DO NOTHING;
