-- Video evidence (issue 29, docs/evidence.md): what a camera or video-analysis platform showed
-- with a reading (camera id, snapshot and clip URLs, label, confidence), kept beside the reading
-- and copied onto the alarm events it caused. Not partitioned: evidence comes with detections,
-- a tiny share of readings; retention deletes it with the readings' days.
CREATE TABLE reading_evidence (
    sensor_key integer NOT NULL,
    ts timestamptz NOT NULL,
    evidence jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sensor_key, ts)
);
CREATE INDEX reading_evidence_ts ON reading_evidence (ts);

-- The evidence of the reading behind an event, and the newest on the alarm (null: none).
ALTER TABLE alarm_events ADD COLUMN evidence jsonb;
ALTER TABLE alarms ADD COLUMN evidence jsonb;
