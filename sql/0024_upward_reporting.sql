-- Upward reporting (docs/upward.md): how far the exporter has sent the alarm event log to the
-- superior platform. The event log is the queue; this one row is the position in it, advanced
-- after the platform acknowledged each event. A database that already has alarms starts at its
-- newest event: the history before reporting was switched on is not sent.
CREATE TABLE upward_cursor (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    seq bigint NOT NULL,
    sent bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO upward_cursor (seq) SELECT COALESCE(max(seq), 0) FROM alarm_events;
