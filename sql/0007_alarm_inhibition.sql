-- Inhibition (R14): a compound or group alarm that is active marks the member alarms it
-- contains, so operators (and notifiers) see one incident. The member stays fully recorded;
-- this says which alarm it is part of while that one holds.
ALTER TABLE alarms ADD COLUMN inhibited_by bigint;
CREATE INDEX alarms_inhibited_by ON alarms (inhibited_by) WHERE inhibited_by IS NOT NULL;
-- Marking and releasing are on the member's record.
ALTER TABLE alarm_events DROP CONSTRAINT alarm_events_type_check;
ALTER TABLE alarm_events ADD CONSTRAINT alarm_events_type_check CHECK (type IN (
    'raised', 'escalated', 'deescalated', 'cleared', 'reactivated', 'unknown', 'acknowledged', 'handling',
    'resolved', 'closed', 'inhibited', 'released'));
