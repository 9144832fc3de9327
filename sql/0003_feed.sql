-- The live feed sends each event with the whole alarm as it was right after that event. The
-- row in `alarms` only holds the latest state, so each event keeps its own copy, written in
-- the same statement that appends the event. NULL on events written before this migration:
-- readers fall back to the alarm's current row.
ALTER TABLE alarm_events ADD COLUMN alarm jsonb;
