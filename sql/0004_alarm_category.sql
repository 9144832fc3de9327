-- Device alarms (a sensor offline or faulty) are shown and counted apart from process alarms
-- (gas, deformation, level): they call for a technician, not an evacuation.
ALTER TABLE alarms ADD COLUMN category text NOT NULL DEFAULT 'process'
    CHECK (category IN ('process', 'fault', 'offline'));
-- Every pack's offline rule is named DOMAIN.offline; no fault alarms exist before this migration.
UPDATE alarms SET category = 'offline' WHERE rule_id LIKE '%.offline';
CREATE INDEX alarms_not_closed_by_category ON alarms (category, id DESC) WHERE status <> 'closed';
