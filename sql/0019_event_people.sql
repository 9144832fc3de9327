-- The person behind an alarm event (issue 28): their user id and the display name they had when
-- they acted, kept on the append-only event itself (NULL for rules, keys and the escalation). Events
-- before this migration name a person only as "user:<login>"; the API gives those the account's
-- present display name.
ALTER TABLE alarm_events ADD COLUMN actor_user_id bigint, ADD COLUMN actor_name text;
