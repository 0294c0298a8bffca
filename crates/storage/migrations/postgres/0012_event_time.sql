-- The GovStack statistics and the 766 reports count decisions by time.
CREATE INDEX dossier_events_at ON dossier_events(at, kind);
