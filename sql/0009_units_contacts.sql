-- Who is responsible for a site (一企一档) and who is told about its alarms (docs/notifications.md).

-- The enterprise or operator responsible for sites.
CREATE TABLE units (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    credit_code  text,   -- unified social credit code (统一社会信用代码) or licence number
    address      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE sites ADD COLUMN unit_id text REFERENCES units (id);
CREATE INDEX sites_unit_idx ON sites (unit_id);

-- A person told about alarms, by tier: an enterprise contact belongs to a unit (its safety
-- officer), a district contact to a district (street or district supervisor), a city contact to
-- the whole city (the duty desk). `channels` names configured channels.
CREATE TABLE contacts (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    tier        text NOT NULL CHECK (tier IN ('enterprise', 'district', 'city')),
    unit_id     text REFERENCES units (id),
    district    text,
    phone       text,
    channels    jsonb NOT NULL CHECK (jsonb_typeof(channels) = 'array'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((tier = 'enterprise') = (unit_id IS NOT NULL)),
    CHECK ((tier = 'district') = (district IS NOT NULL))
);
CREATE INDEX contacts_unit_idx ON contacts (unit_id);
CREATE INDEX contacts_district_idx ON contacts (district);
