-- Emergency resources (应急资源) and the 5-minute disposal circle (docs/resources.md).
--
-- The nearest resources are found with a GiST index over a point on the unit sphere (cube's
-- `<->` is the straight chord between two such points, which orders exactly as the great-circle
-- distance does). `cube` is a trusted extension shipped with PostgreSQL 15; `earthdistance`,
-- which would compute the same point, is not trusted, so the point is computed here.
CREATE EXTENSION IF NOT EXISTS cube;

CREATE FUNCTION cityguard_earth_point(lat double precision, lon double precision) RETURNS cube
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN cube(ARRAY[cos(radians(lat)) * cos(radians(lon)), cos(radians(lat)) * sin(radians(lon)), sin(radians(lat))]);

CREATE TABLE resources (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('warehouse', 'team', 'shelter', 'expert')),
    name        text NOT NULL,
    district    text,
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    address     text,
    team_kind   text,      -- team: fire, hazmat, gas_repair, ...
    size        integer,   -- team: people
    on_duty     boolean,   -- team
    capacity    integer,   -- shelter: people
    speciality  text,      -- expert
    phone       text,      -- expert: personal data, operator and admin keys only
    materials   jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(materials) = 'array'),
    -- What a rule's `responders` can ask for: a team's kind, or the material kinds a warehouse
    -- holds in a quantity above 0. Written by the server from the fields above.
    tags        text[] NOT NULL DEFAULT '{}',
    earth       cube NOT NULL GENERATED ALWAYS AS (cityguard_earth_point(lat, lon)) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'team') = (team_kind IS NOT NULL))
);
-- One index per kind: "the nearest teams" walks the teams' index in distance order.
CREATE INDEX resources_warehouse_earth ON resources USING gist (earth) WHERE kind = 'warehouse';
CREATE INDEX resources_team_earth ON resources USING gist (earth) WHERE kind = 'team';
CREATE INDEX resources_shelter_earth ON resources USING gist (earth) WHERE kind = 'shelter';
CREATE INDEX resources_expert_earth ON resources USING gist (earth) WHERE kind = 'expert';
CREATE INDEX resources_district ON resources (district);
