#pragma once
// Deadlines, the outbox and delivery attempts (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

// Notification and escalation (notification_model::escalation's output, the outbox, the dispatcher).
inline constexpr query update_deadlines{
    "update_deadlines",
    "UPDATE alarms SET ack_due = $2, dispose_due = $3, told_tiers = $4, suppressed = $5, raise_pending = $6, "
    "silence_id = $7 WHERE id = $1"};
// One row per contact of the tier who answers for the alarm's site, and per channel of theirs.
// A group's pseudo-site has no row in sites: only city contacts answer for it.
inline constexpr query insert_notifications{
    "insert_notifications",
    "INSERT INTO notifications (alarm_id, kind, tier, level, contact_id, contact_name, channel) "
    "SELECT $1, $2, $3, $4, c.id, c.name, ch.name FROM contacts c LEFT JOIN sites s ON s.id = $5 "
    "LEFT JOIN alarms a ON a.id = $1 CROSS JOIN LATERAL jsonb_array_elements_text(c.channels) AS ch(name) "
    "WHERE c.tier = $3 AND (c.domains IS NULL OR a.domain = ANY(c.domains)) AND "
    "((c.tier = 'enterprise' AND c.unit_id = s.unit_id) OR (c.tier = 'district' AND c.district = s.district) OR "
    "(c.tier = 'sector' AND (c.district IS NULL OR c.district = s.district)) OR c.tier = 'city') "
    "ORDER BY c.id, ch.name"};
#define CITYGUARD_NOTIFICATION_COLUMNS                                                               \
    "n.id, n.alarm_id, n.kind, n.tier, n.level, n.contact_id, n.contact_name, n.channel, n.status, " \
    "n.attempts, " CITYGUARD_EPOCH("n.next_attempt_at") ", " CITYGUARD_EPOCH("n.created_at"          \
    ) ", " CITYGUARD_EPOCH("n.delivered_at") ", n.last_error"
// The people who are the contact, as JSON text (NULL when none): one column after the 14.
#define CITYGUARD_NOTIFICATION_PEOPLE                                                                 \
    ", (SELECT json_agg(json_build_object('id', u.id, 'display_name', u.display_name) ORDER BY u.id)" \
    "::text FROM users u WHERE u.contact_id = n.contact_id AND NOT u.disabled)"
inline constexpr query notifications_of_alarm{
    "notifications_of_alarm",
    "SELECT " CITYGUARD_NOTIFICATION_COLUMNS CITYGUARD_NOTIFICATION_PEOPLE
    " FROM notifications n WHERE n.alarm_id = $1 ORDER BY n.id"};
inline constexpr query list_notifications{
    "list_notifications",
    "SELECT " CITYGUARD_NOTIFICATION_COLUMNS CITYGUARD_NOTIFICATION_PEOPLE
    " FROM notifications n "
    "WHERE ($1::text IS NULL OR n.status = $1) AND ($2::bigint IS NULL OR n.id < $2) AND "
    "(($4::text[] IS NULL AND $5::text[] IS NULL AND $6::text[] IS NULL) OR EXISTS (SELECT 1 FROM alarms a "
    "JOIN sites si ON si.id = a.site_id WHERE a.id = n.alarm_id AND ($4::text[] IS NULL OR si.district = ANY($4)) "
    "AND ($5::text[] IS NULL OR a.domain = ANY($5)) AND ($6::text[] IS NULL OR si.unit_id = ANY($6)))) "
    "ORDER BY n.id DESC LIMIT $3"};
// What the dispatcher delivers next: due rows not already in flight, with what a message needs.
inline constexpr query due_notifications{
    "due_notifications",
    "SELECT n_id, n_alarm, n_kind, n_tier, n_level, n_contact, n_contact_name, n_channel, n_status, n_attempts, "
    "n_next, n_created, n_delivered, n_error, n_phone, n_site_name, n_district, " CITYGUARD_ALARM_COLUMNS
    " FROM (SELECT n.id AS n_id, n.alarm_id AS n_alarm, n.kind AS n_kind, n.tier AS n_tier, n.level AS n_level, "
    "n.contact_id AS n_contact, n.contact_name AS n_contact_name, n.channel AS n_channel, n.status AS n_status, "
    "n.attempts AS n_attempts, " CITYGUARD_EPOCH("n.next_attempt_at") " AS n_next, " CITYGUARD_EPOCH("n.created_at"
    ) " AS n_created, " CITYGUARD_EPOCH("n.delivered_at"
    ) " AS n_delivered, n.last_error AS n_error, "
      "c.phone AS n_phone, s.name AS n_site_name, s.district AS n_district, to_jsonb(a) AS snap "
      "FROM notifications n JOIN alarms a ON a.id = n.alarm_id LEFT JOIN contacts c ON c.id = n.contact_id "
      "LEFT JOIN sites s ON s.id = a.site_id "
      "WHERE n.status = 'pending' AND n.next_attempt_at <= now() AND NOT (n.id = ANY($1::bigint[])) "
      "ORDER BY n.next_attempt_at, n.id LIMIT $2) nn "
      "CROSS JOIN LATERAL jsonb_populate_record(NULL::alarms, nn.snap) ORDER BY n_next, n_id"};
// Marked once: a row already delivered (by an earlier attempt that was not recorded in time)
// stays as it is.
inline constexpr query record_attempt{
    "record_attempt",
    "WITH n AS (UPDATE notifications SET attempts = attempts + 1, status = $2, last_error = $3, "
    "next_attempt_at = $4, delivered_at = CASE WHEN $2 = 'delivered' THEN now() END "
    "WHERE id = $1 AND status = 'pending' RETURNING attempts) "
    "INSERT INTO notification_attempts (notification_id, attempt, duration_ms, http_status, error) "
    "SELECT $1, n.attempts, $5, $6, $3 FROM n"};
inline constexpr query attempts_of_alarm{
    "attempts_of_alarm",
    "SELECT t.notification_id, t.attempt, " CITYGUARD_EPOCH("t.at"
    ) ", t.duration_ms, t.http_status, t.error "
      "FROM notification_attempts t JOIN notifications n ON n.id = t.notification_id WHERE n.alarm_id = $1 "
      "ORDER BY t.notification_id, t.attempt"};
#undef CITYGUARD_NOTIFICATION_COLUMNS
#undef CITYGUARD_NOTIFICATION_PEOPLE

}  // namespace cityguard::store::queries
