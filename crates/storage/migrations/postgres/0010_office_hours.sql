-- Office hours of a service point (e.g. "07:30-11:30,13:30-17:00"): they apply to the agency and
-- to its sub-agencies that have none of their own; without any, the standard hours.
CREATE TABLE office_hours (
    agency_id   BIGINT PRIMARY KEY REFERENCES agencies(id),
    periods     TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
