-- Named groups (R11): a sensor may belong to groups such as the wells along one pipe segment,
-- and correlation rules count the members of one group wherever their sites are.
ALTER TABLE sensors ADD COLUMN groups jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(groups) = 'array');
CREATE INDEX sensors_groups_idx ON sensors USING gin (groups);
