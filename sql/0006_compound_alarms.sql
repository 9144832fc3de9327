-- Compound alarms (R12) belong to a site, not to one sensor: their sensor_id is ''. One alarm
-- that is not closed per (rule, site, sensor), which for sensor alarms is the same as before
-- (a sensor belongs to one site).
CREATE UNIQUE INDEX alarms_one_open_per_rule_subject ON alarms (rule_id, site_id, sensor_id) WHERE status <> 'closed';
DROP INDEX alarms_one_open_per_rule_sensor;
-- What made a compound alarm true: [{"sensor", "rule", "alarm", "level"}].
ALTER TABLE alarms ADD COLUMN members jsonb;
