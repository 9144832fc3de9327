#pragma once
// Sites, units, contacts, emergency resources and sensors: what registry_repo and resources_repo run (part of
// queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

inline constexpr query upsert_site{
    "upsert_site",
    "INSERT INTO sites (id, name, domain, district, lat, lon, address, attributes, unit_id, geometry) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, domain = EXCLUDED.domain, district = EXCLUDED.district, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, address = EXCLUDED.address, attributes = EXCLUDED.attributes, "
    "unit_id = EXCLUDED.unit_id, geometry = EXCLUDED.geometry, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query upsert_sensor{
    "upsert_sensor",
    "INSERT INTO sensors (id, site_id, kind, unit, lat, lon, interval_s, limits, groups) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb) "
    "ON CONFLICT (id) DO UPDATE SET site_id = EXCLUDED.site_id, kind = EXCLUDED.kind, unit = EXCLUDED.unit, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, interval_s = EXCLUDED.interval_s, limits = EXCLUDED.limits, "
    "groups = EXCLUDED.groups, "
    "updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query existing_site_ids{"existing_site_ids", "SELECT id FROM sites WHERE id = ANY($1::text[])"};

#define CITYGUARD_SITE_COLUMNS \
    "s.id, s.name, s.domain, s.district, s.lat, s.lon, s.address, s.attributes::text, s.unit_id, s.geometry::text, "
inline constexpr query list_sites{
    "list_sites",
    "SELECT " CITYGUARD_SITE_COLUMNS
    "(SELECT count(*) FROM sensors x WHERE x.site_id = s.id) "
    "FROM sites s WHERE ($1::text IS NULL OR s.domain = $1) AND ($2::text IS NULL OR s.district = $2) "
    "ORDER BY s.id"};
inline constexpr query get_site{
    "get_site",
    "SELECT " CITYGUARD_SITE_COLUMNS
    "(SELECT count(*) FROM sensors x WHERE x.site_id = s.id) FROM sites s WHERE s.id = $1"};
#undef CITYGUARD_SITE_COLUMNS

inline constexpr query upsert_unit{
    "upsert_unit",
    "INSERT INTO units (id, name, credit_code, address) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, credit_code = EXCLUDED.credit_code, "
    "address = EXCLUDED.address, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
inline constexpr query existing_unit_ids{"existing_unit_ids", "SELECT id FROM units WHERE id = ANY($1::text[])"};
#define CITYGUARD_UNIT_COLUMNS \
    "u.id, u.name, u.credit_code, u.address, (SELECT count(*) FROM sites x WHERE x.unit_id = u.id) FROM units u "
inline constexpr query list_units{"list_units", "SELECT " CITYGUARD_UNIT_COLUMNS "ORDER BY u.id"};
inline constexpr query get_unit{"get_unit", "SELECT " CITYGUARD_UNIT_COLUMNS "WHERE u.id = $1"};
#undef CITYGUARD_UNIT_COLUMNS
// A unit that still has sites or contacts is not deleted (the foreign keys refuse it).
inline constexpr query delete_unit{"delete_unit", "DELETE FROM units WHERE id = $1 RETURNING id"};
inline constexpr query upsert_contact{
    "upsert_contact",
    "INSERT INTO contacts (id, name, tier, unit_id, district, phone, channels, domains) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[]) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, unit_id = EXCLUDED.unit_id, "
    "district = EXCLUDED.district, phone = EXCLUDED.phone, channels = EXCLUDED.channels, "
    "domains = EXCLUDED.domains, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
#define CITYGUARD_CONTACT_COLUMNS                                                                             \
    "c.id, c.name, c.tier, c.unit_id, c.district, c.phone, c.channels::text, array_to_json(c.domains)::text " \
    "FROM contacts c "
inline constexpr query list_contacts{
    "list_contacts",
    "SELECT " CITYGUARD_CONTACT_COLUMNS
    "WHERE ($1::text IS NULL OR c.unit_id = $1) AND ($2::text IS NULL OR c.district = $2) "
    "AND ($3::text IS NULL OR c.tier = $3) ORDER BY c.id"};
inline constexpr query get_contact{"get_contact", "SELECT " CITYGUARD_CONTACT_COLUMNS "WHERE c.id = $1"};
// Who answers for a site: its unit's enterprise contacts, its district's, its domain's sector desks
// (the city's, or its district's), and the city's; a contact limited to domains only for those.
inline constexpr query contacts_of_site{
    "contacts_of_site",
    "SELECT " CITYGUARD_CONTACT_COLUMNS
    "JOIN sites s ON s.id = $1 WHERE (c.domains IS NULL OR s.domain = ANY(c.domains)) AND "
    "((c.tier = 'enterprise' AND c.unit_id = s.unit_id) OR (c.tier = 'district' AND c.district = s.district) OR "
    "(c.tier = 'sector' AND (c.district IS NULL OR c.district = s.district)) OR c.tier = 'city') "
    "ORDER BY CASE c.tier WHEN 'enterprise' THEN 0 WHEN 'district' THEN 1 WHEN 'sector' THEN 2 ELSE 3 END, c.id"};
#undef CITYGUARD_CONTACT_COLUMNS
inline constexpr query delete_contact{"delete_contact", "DELETE FROM contacts WHERE id = $1 RETURNING id"};

// Emergency resources (sql/0011_resources.sql). `tags` is what a rule's responders match.
inline constexpr query upsert_resource{
    "upsert_resource",
    "INSERT INTO resources (id, kind, name, district, lat, lon, address, team_kind, size, on_duty, capacity, "
    "speciality, phone, materials, tags) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::text[]) "
    "ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, district = EXCLUDED.district, "
    "lat = EXCLUDED.lat, lon = EXCLUDED.lon, address = EXCLUDED.address, team_kind = EXCLUDED.team_kind, "
    "size = EXCLUDED.size, on_duty = EXCLUDED.on_duty, capacity = EXCLUDED.capacity, "
    "speciality = EXCLUDED.speciality, phone = EXCLUDED.phone, materials = EXCLUDED.materials, "
    "tags = EXCLUDED.tags, updated_at = now() "
    "RETURNING (xmax = 0) AS inserted"};
#define CITYGUARD_RESOURCE_COLUMNS                                                                            \
    "r.id, r.kind, r.name, r.district, r.lat, r.lon, r.address, r.team_kind, r.size, r.on_duty, r.capacity, " \
    "r.speciality, r.phone, r.materials::text FROM resources r "
inline constexpr query list_resources{
    "list_resources",
    "SELECT " CITYGUARD_RESOURCE_COLUMNS
    "WHERE ($1::text IS NULL OR r.kind = $1) AND ($2::text IS NULL OR r.district = $2) "
    "AND ($3::text IS NULL OR $3 = ANY (r.tags)) ORDER BY r.id"};
inline constexpr query get_resource{"get_resource", "SELECT " CITYGUARD_RESOURCE_COLUMNS "WHERE r.id = $1"};
// The candidates around ($1 lat, $2 lon): of each kind the $3..$6 nearest (warehouse, team,
// shelter, expert; 0 for none), and for each wanted team kind ($7) and material kind ($8) the $9
// nearest teams or warehouses that have it. Each branch walks its kind's GiST index in distance
// order (the kind is a literal so that the partial index applies); UNION drops repeats.
#define CITYGUARD_HERE "cityguard_earth_point($1, $2)"
#define CITYGUARD_NEAREST_OF(KIND, LIMIT)                                                                  \
    "(SELECT " CITYGUARD_RESOURCE_COLUMNS "WHERE r.kind = '" KIND "' ORDER BY r.earth <-> " CITYGUARD_HERE \
    " LIMIT " LIMIT ")"
#define CITYGUARD_NEAREST_TAGGED(KIND, TAGS)                                                                           \
    "(SELECT n.* FROM unnest(" TAGS "::text[]) AS wanted (tag) CROSS JOIN LATERAL (SELECT " CITYGUARD_RESOURCE_COLUMNS \
    "WHERE r.kind = '" KIND "' AND r.tags @> ARRAY[wanted.tag] ORDER BY r.earth <-> " CITYGUARD_HERE                   \
    " LIMIT $9) AS n)"
inline constexpr query nearest_resources{
    "nearest_resources",
    CITYGUARD_NEAREST_OF("warehouse", "$3") " UNION " CITYGUARD_NEAREST_OF("team", "$4") " UNION "
    CITYGUARD_NEAREST_OF("shelter", "$5") " UNION " CITYGUARD_NEAREST_OF("expert", "$6") " UNION "
    CITYGUARD_NEAREST_TAGGED("team", "$7") " UNION " CITYGUARD_NEAREST_TAGGED("warehouse", "$8")};
#undef CITYGUARD_NEAREST_TAGGED
#undef CITYGUARD_NEAREST_OF
#undef CITYGUARD_HERE
#undef CITYGUARD_RESOURCE_COLUMNS
inline constexpr query delete_resource{"delete_resource", "DELETE FROM resources WHERE id = $1 RETURNING id"};
// Where an alarm is: its sensor's location, else its site's, else (a named group's alarm, site
// "group:NAME") the middle of the group's sensors, each at its own or its site's location.
inline constexpr query alarm_place{
    "alarm_place",
    "SELECT a.rule_id, a.site_id, a.sensor_id, a.level, "
    "coalesce(se.lat, s.lat, g.lat), coalesce(se.lon, s.lon, g.lon) FROM alarms a "
    "LEFT JOIN sensors se ON se.id = a.sensor_id AND se.lat IS NOT NULL "
    "LEFT JOIN sites s ON s.id = a.site_id "
    "LEFT JOIN LATERAL (SELECT avg(coalesce(m.lat, ms.lat)) AS lat, avg(coalesce(m.lon, ms.lon)) AS lon "
    "FROM sensors m JOIN sites ms ON ms.id = m.site_id "
    "WHERE a.site_id LIKE 'group:%' AND m.groups ? substr(a.site_id, 7)) g ON true "
    "WHERE a.id = $1"};

// The latest reading per sensor is one backward index probe per partition at most, and the
// partitions are scanned newest first, so it stays cheap for the handful of sensors of a site.
#define CITYGUARD_SENSOR_COLUMNS \
    "s.id, s.key, s.site_id, s.kind, s.unit, s.lat, s.lon, s.interval_s, s.limits::text, s.groups::text"
#define CITYGUARD_LATEST_JOIN                                                                                 \
    " LEFT JOIN LATERAL (SELECT (extract(epoch FROM r.ts) * 1000000)::bigint AS ts, r.value FROM readings r " \
    "WHERE r.sensor_key = s.key ORDER BY r.ts DESC LIMIT 1) l ON true "
inline constexpr query list_sensors{
    "list_sensors",
    "SELECT " CITYGUARD_SENSOR_COLUMNS
    ", NULL::bigint, NULL::float8 FROM sensors s "
    "WHERE ($1::text IS NULL OR s.site_id = $1) AND ($2::text IS NULL OR s.kind = $2) "
    "AND ($3::text IS NULL OR s.groups ? $3) ORDER BY s.id"};
inline constexpr query sensors_of_site{
    "sensors_of_site",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN
    "WHERE s.site_id = $1 ORDER BY s.id"};
inline constexpr query get_sensor{
    "get_sensor",
    "SELECT " CITYGUARD_SENSOR_COLUMNS ", l.ts, l.value FROM sensors s" CITYGUARD_LATEST_JOIN "WHERE s.id = $1"};
inline constexpr query sensor_directory{
    "sensor_directory",
    "SELECT s.id, s.key, s.site_id, s.kind, s.interval_s, si.domain, s.limits::text, s.lat, s.lon, s.groups::text, "
    "si.district, si.unit_id FROM sensors s "
    "JOIN sites si ON si.id = s.site_id"};
#undef CITYGUARD_SENSOR_COLUMNS
#undef CITYGUARD_LATEST_JOIN

}  // namespace cityguard::store::queries
