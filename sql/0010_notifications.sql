-- Notification and escalation (docs/notifications.md).

-- Each open alarm's deadlines and who has been told, written by the writer with the events that
-- change them, so a restart neither forgets an overdue escalation nor fires it twice.
ALTER TABLE alarms
    ADD COLUMN ack_due        timestamptz,
    ADD COLUMN dispose_due    timestamptz,
    ADD COLUMN told_tiers     smallint NOT NULL DEFAULT 0,   -- bit 0 enterprise, 1 district, 2 city
    ADD COLUMN suppressed     boolean NOT NULL DEFAULT false,
    ADD COLUMN raise_pending  boolean NOT NULL DEFAULT false,
    ADD COLUMN silence_id     bigint;

ALTER TABLE alarm_events DROP CONSTRAINT alarm_events_type_check;
ALTER TABLE alarm_events ADD CONSTRAINT alarm_events_type_check CHECK (type IN (
    'raised', 'escalated', 'deescalated', 'cleared', 'reactivated', 'unknown', 'acknowledged', 'handling',
    'resolved', 'closed', 'inhibited', 'released',
    'notified', 'escalated_to', 'disposal_overdue', 'silenced', 'unsilenced'));

-- The outbox: one row per (notice, contact, channel), inserted in the transaction of the alarm
-- event that caused it. The dispatcher delivers it at least once and marks it delivered once;
-- its idempotency key is 'cityguard-' || id on every attempt.
CREATE TABLE notifications (
    id               bigserial PRIMARY KEY,
    alarm_id         bigint NOT NULL REFERENCES alarms (id),
    kind             text NOT NULL CHECK (kind IN ('raised', 'level_up', 'escalated', 'reminder', 'cleared', 'closed')),
    tier             text NOT NULL CHECK (tier IN ('enterprise', 'district', 'city')),
    level            smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    contact_id       text NOT NULL,   -- no foreign key: a contact deleted later keeps its history
    contact_name     text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_alarm_idx ON notifications (alarm_id);
CREATE INDEX notifications_failed_idx ON notifications (id) WHERE status = 'failed';

-- Every delivery attempt: when, how long, what the receiver said.
CREATE TABLE notification_attempts (
    notification_id  bigint NOT NULL REFERENCES notifications (id),
    attempt          integer NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    duration_ms      integer NOT NULL,
    http_status      integer,
    error            text,
    PRIMARY KEY (notification_id, attempt)
);

-- Silences and maintenance windows: matching alarms are recorded and shown, not notified and not
-- escalated. Every change is an audit row.
CREATE TABLE silences (
    id          bigserial PRIMARY KEY,
    site_id     text,
    sensor_id   text,
    rule_id     text,
    domain      text,
    district    text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    owner       text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_early_by text,
    CHECK (ends_at > starts_at)
);
CREATE INDEX silences_ends_idx ON silences (ends_at);

CREATE TABLE silence_audit (
    seq         bigserial PRIMARY KEY,
    silence_id  bigint NOT NULL REFERENCES silences (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('created', 'ended')),
    detail      jsonb NOT NULL
);
