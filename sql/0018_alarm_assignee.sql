-- Who takes an alarm on (POST /api/v1/alarms/{id}/assign): a person's login, NULL for nobody.
ALTER TABLE alarms ADD COLUMN assignee text;
CREATE INDEX alarms_assignee_idx ON alarms (assignee) WHERE assignee IS NOT NULL AND status <> 'closed';

-- A comment (a note on record, the status unchanged) and an assignment are events too.
ALTER TABLE alarm_events DROP CONSTRAINT alarm_events_type_check;
ALTER TABLE alarm_events ADD CONSTRAINT alarm_events_type_check CHECK (type IN (
    'raised', 'escalated', 'deescalated', 'cleared', 'reactivated', 'unknown', 'acknowledged', 'handling',
    'resolved', 'closed', 'inhibited', 'released',
    'notified', 'escalated_to', 'disposal_overdue', 'silenced', 'unsilenced', 'commented', 'assigned'));
