#pragma once
// Users, sessions and the audit trail (sql/0017_people.sql): what people_repo and audit_repo run
// (part of queries.hpp: see there).

#include "common.hpp"

namespace cityguard::store::queries {

#define CITYGUARD_USER_COLUMNS                                                                          \
    "u.id, u.login, u.display_name, u.role, u.scope::text, u.contact_id, u.disabled, u.password_hash, " \
    "u.totp_secret, u.totp_pending, u.totp_last_step, array_to_json(u.recovery_codes)::text, "          \
    "u.failed_signins, " CITYGUARD_EPOCH("u.locked_until") ", " CITYGUARD_EPOCH("u.created_at"          \
    ) ", " CITYGUARD_EPOCH("u.updated_at") ", " CITYGUARD_EPOCH("u.password_changed_at")

inline constexpr query insert_user{
    "insert_user",
    "INSERT INTO users (login, display_name, role, scope, contact_id, disabled, password_hash) "
    "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7) ON CONFLICT (login) DO NOTHING RETURNING id"};
inline constexpr query list_users{"list_users", "SELECT " CITYGUARD_USER_COLUMNS " FROM users u ORDER BY u.login"};
inline constexpr query get_user{"get_user", "SELECT " CITYGUARD_USER_COLUMNS " FROM users u WHERE u.id = $1"};
inline constexpr query get_user_by_login{
    "get_user_by_login", "SELECT " CITYGUARD_USER_COLUMNS " FROM users u WHERE u.login = $1"};
inline constexpr query update_user{
    "update_user",
    "UPDATE users SET display_name = $2, role = $3, scope = $4::jsonb, contact_id = $5, disabled = $6, "
    "password_hash = $7, password_changed_at = CASE WHEN password_hash = $7 THEN password_changed_at ELSE now() END, "
    "totp_secret = $8, totp_pending = $9, totp_last_step = $10, recovery_codes = $11::text[], updated_at = now() "
    "WHERE id = $1 RETURNING id"};
inline constexpr query delete_user{"delete_user", "DELETE FROM users WHERE id = $1 RETURNING id"};
inline constexpr query count_admin_users{
    "count_admin_users", "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND scope = '{}'::jsonb"};
inline constexpr query record_signin_failure{
    "record_signin_failure",
    "UPDATE users SET failed_signins = failed_signins + 1, "
    "locked_until = CASE WHEN failed_signins + 1 >= $2 "
    "THEN now() + make_interval(secs => least($4::double precision, $3::double precision * "
    "power(2, failed_signins + 1 - $2))) ELSE locked_until END WHERE id = $1"};
inline constexpr query record_signin_success{
    "record_signin_success", "UPDATE users SET failed_signins = 0, locked_until = NULL WHERE id = $1"};
inline constexpr query use_totp_step{
    "use_totp_step", "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 RETURNING id"};
inline constexpr query use_recovery_code{
    "use_recovery_code",
    "UPDATE users SET recovery_codes = array_remove(recovery_codes, $2) WHERE id = $1 AND $2 = ANY(recovery_codes) "
    "RETURNING id"};

inline constexpr query insert_session{
    "insert_session", "INSERT INTO user_sessions (token_hash, user_id, csrf_token, client) VALUES ($1, $2, $3, $4)"};
// The oldest sessions of a user beyond the newest $2 end (auth.max_sessions_per_user).
inline constexpr query trim_sessions{
    "trim_sessions",
    "DELETE FROM user_sessions WHERE token_hash IN (SELECT token_hash FROM user_sessions WHERE user_id = $1 "
    "ORDER BY created_at DESC OFFSET $2)"};
// A live session and its user: not idle longer than $2 seconds, not older than $3 seconds.
inline constexpr query find_session{
    "find_session",
    "SELECT " CITYGUARD_USER_COLUMNS
    ", s.csrf_token, " CITYGUARD_EPOCH("s.created_at") ", " CITYGUARD_EPOCH("s.last_seen"
    ) " FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND NOT u.disabled "
      "AND s.last_seen > now() - make_interval(secs => $2) AND s.created_at > now() - make_interval(secs => $3)"};
inline constexpr query touch_session{
    "touch_session", "UPDATE user_sessions SET last_seen = now() WHERE token_hash = $1"};
inline constexpr query delete_session{
    "delete_session", "DELETE FROM user_sessions WHERE token_hash = $1 RETURNING user_id"};
inline constexpr query delete_sessions_of_user{
    "delete_sessions_of_user", "DELETE FROM user_sessions WHERE user_id = $1"};
inline constexpr query purge_sessions{
    "purge_sessions",
    "DELETE FROM user_sessions WHERE last_seen < now() - make_interval(secs => $1) "
    "OR created_at < now() - make_interval(secs => $2)"};

inline constexpr query append_audit{"append_audit", "SELECT cityguard_audit_append($1, $2, $3, $4, $5, $6::jsonb, $7)"};
// Newest first, keyset-paged by seq; every filter optional.
inline constexpr query list_audit{
    "list_audit",
    "SELECT seq, " CITYGUARD_EPOCH("at"
    ) ", actor, user_id, client, action, target, detail::text, status, hash "
      "FROM audit_log WHERE ($1::bigint IS NULL OR seq < $1) AND ($2::timestamptz IS NULL OR at >= $2) "
      "AND ($3::timestamptz IS NULL OR at < $3) AND ($4::text IS NULL OR actor = $4) "
      "AND ($5::text IS NULL OR action LIKE $5 || '%') AND ($6::text IS NULL OR target = $6) "
      "ORDER BY seq DESC LIMIT $7"};
// Every row whose hash is not what its content and its predecessor make, or whose predecessor
// is missing: the first such seq tells where the chain breaks. The head row holds the newest.
inline constexpr query verify_audit{
    "verify_audit",
    "WITH chain AS (SELECT seq, hash, prev_hash, lag(seq) OVER w AS before_seq, lag(hash) OVER w AS before_hash, "
    "cityguard_audit_row_hash(prev_hash, seq, at, actor, user_id, client, action, target, detail, status) AS computed "
    "FROM audit_log WINDOW w AS (ORDER BY seq)) "
    "SELECT (SELECT count(*) FROM chain), (SELECT min(seq) FROM chain), (SELECT max(seq) FROM chain), "
    "(SELECT min(seq) FROM chain WHERE computed <> hash OR (before_seq IS NOT NULL AND "
    "(before_seq <> seq - 1 OR before_hash <> prev_hash))), "
    "(SELECT seq FROM audit_head), (SELECT hash FROM audit_head), "
    "(SELECT hash FROM chain ORDER BY seq DESC LIMIT 1)"};
inline constexpr query drop_audit_before{"drop_audit_before", "SELECT cityguard_audit_drop_before($1)"};

}  // namespace cityguard::store::queries
