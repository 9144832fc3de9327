-- People, scopes and the audit trail (docs/security.md, "People and scopes").

-- Keys keep working: every existing key becomes a city-scoped key of its role.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('gateway', 'operator', 'admin', 'monitor', 'viewer', 'enterprise'));
ALTER TABLE api_keys ADD COLUMN scope jsonb NOT NULL DEFAULT '{}';
ALTER TABLE api_keys ADD COLUMN binding jsonb NOT NULL DEFAULT '{}';

-- A person who signs in. The password is stored only as an Argon2id hash (libsodium's string
-- form, which carries its own salt and parameters, so stronger parameters apply at the next
-- sign-in without a migration).
CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    login               text NOT NULL UNIQUE,
    display_name        text NOT NULL,
    role                text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'enterprise')),
    scope               jsonb NOT NULL DEFAULT '{}',
    contact_id          text REFERENCES contacts (id) ON DELETE SET NULL,
    disabled            boolean NOT NULL DEFAULT false,
    password_hash       text NOT NULL,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    totp_secret         text,             -- base32; NULL: no second factor
    totp_pending        text,             -- a secret shown for enrolment, not yet confirmed
    totp_last_step      bigint NOT NULL DEFAULT 0,  -- a code is accepted once (RFC 6238 §5.2)
    recovery_codes      text[] NOT NULL DEFAULT '{}',  -- hex SHA-256 of the unused ones
    failed_signins      integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- A signed-in browser. Only a hash of the cookie's token is stored: a copy of the database
-- signs nobody in. Kept in the database so that sessions survive a restart and work on every
-- instance of a cluster.
CREATE TABLE user_sessions (
    token_hash  text PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    client      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);
CREATE INDEX user_sessions_last_seen_idx ON user_sessions (last_seen);

-- The audit trail: every state-changing request and every sign-in. Append-only (the trigger
-- below refuses UPDATE, DELETE and TRUNCATE even to the table's owner) and hash-chained: each
-- row's hash covers the previous row's hash and the row, so a removed or altered row breaks the
-- chain (GET /api/v1/audit/verify). Old months are dropped whole, by partition.
CREATE TABLE audit_log (
    seq        bigint NOT NULL,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,       -- "user:<login>", a key's name, or "anonymous"
    user_id    bigint,
    client     text NOT NULL,
    action     text NOT NULL,       -- "POST /api/v1/alarms/{id}/acknowledge", "sign-in", ...
    target     text NOT NULL,       -- the ids the request named, "/"-joined
    detail     jsonb NOT NULL,      -- a summary of the change (secrets removed)
    status     integer NOT NULL,    -- the HTTP status answered
    prev_hash  text NOT NULL,
    hash       text NOT NULL,
    PRIMARY KEY (seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, seq);

-- The end of the chain: one row, locked by every append, so appends are ordered and the newest
-- row's removal is seen too (its hash stays here).
CREATE TABLE audit_head (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq        bigint NOT NULL,
    hash       text NOT NULL
);
INSERT INTO audit_head VALUES (true, 0, repeat('0', 64));

CREATE FUNCTION cityguard_audit_row_hash(prev text, seq bigint, at timestamptz, actor text, user_id bigint,
                                         client text, action text, target text, detail jsonb, status integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(prev || jsonb_build_array(seq, (extract(epoch FROM at) * 1000000)::bigint,
                  actor, user_id, client, action, target, detail, status)::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION cityguard_audit_append(p_actor text, p_user_id bigint, p_client text, p_action text,
                                       p_target text, p_detail jsonb, p_status integer)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head audit_head;
    now_at timestamptz := date_trunc('microseconds', clock_timestamp());
    month date := date_trunc('month', now_at AT TIME ZONE 'UTC')::date;
    part text := 'audit_log_' || to_char(month, 'YYYYMM');
    h text;
BEGIN
    SELECT * INTO head FROM audit_head FOR UPDATE;
    IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF audit_log FOR VALUES FROM (%L) TO (%L)',
                       part, month::timestamp AT TIME ZONE 'UTC',
                       (month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END IF;
    h := cityguard_audit_row_hash(head.hash, head.seq + 1, now_at, p_actor, p_user_id, p_client, p_action,
                                  p_target, p_detail, p_status);
    INSERT INTO audit_log VALUES (head.seq + 1, now_at, p_actor, p_user_id, p_client, p_action, p_target,
                                  p_detail, p_status, head.hash, h);
    UPDATE audit_head SET seq = head.seq + 1, hash = h;
    RETURN head.seq + 1;
END $$;

CREATE FUNCTION cityguard_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION cityguard_audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION cityguard_audit_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- Drops the months that ended before `cutoff`; returns how many. The chain then starts at the
-- first row kept (its prev_hash is the anchor verify begins from).
CREATE FUNCTION cityguard_audit_drop_before(cutoff timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'audit_log'::regclass AND c.relname ~ '^audit_log_[0-9]{6}$'
    LOOP
        IF (to_date(substr(part.relname, 11), 'YYYYMM') + interval '1 month') <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;
