#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/util/time.hpp"

/// Plain rows the store reads and writes that belong to no model (the registry's rows are
/// registry/records.hpp).
namespace cityguard::store {

/// The part of the city a read may cover, as the store applies it: each list narrows, empty means
/// any (auth::scope, without the store knowing auth). Sites by district, domain and unit;
/// alarms by their site's.
struct place_filter {
    std::vector<std::string> districts, domains, units;
    bool any() const noexcept { return districts.empty() && domains.empty() && units.empty(); }
};

struct key_record {
    std::string name;
    std::string role;
    util::micros created_at = 0;
    std::string scope = "{}";    ///< JSON text (auth::parse_scope reads it)
    std::string binding = "{}";  ///< JSON text (auth::parse_binding reads it)
};

/// A person's account as stored (sql/0017_people.sql). Scope is JSON text: auth reads it.
struct user_record {
    std::int64_t id = 0;
    std::string login, display_name, role;
    std::string scope = "{}";
    std::optional<std::string> contact;
    bool disabled = false;
    std::string password_hash;
    std::optional<std::string> totp_secret, totp_pending;
    std::int64_t totp_last_step = 0;
    std::vector<std::string> recovery_codes;  ///< hex SHA-256 of the unused ones
    int failed_signins = 0;
    std::optional<util::micros> locked_until;
    util::micros created_at = 0, updated_at = 0, password_changed_at = 0;
};

/// A live session and its user.
struct session_record {
    user_record user;
    std::string csrf_token;
    util::micros created_at = 0, last_seen = 0;
};

/// One row of the audit trail.
struct audit_record {
    std::int64_t seq = 0;
    util::micros at = 0;
    std::string actor;
    std::optional<std::int64_t> user_id;
    std::string client, action, target;
    std::string detail = "{}";  ///< JSON text
    int status = 0;
    std::string hash;
};

struct audit_filter {
    std::optional<std::int64_t> before_seq;
    std::optional<util::micros> from, to;
    std::optional<std::string> actor, action_prefix, target;
    std::size_t limit = 100;
};

/// What GET /api/v1/audit/verify reports: the rows kept and the first seq where the chain breaks.
struct audit_verification {
    std::int64_t rows = 0;
    std::optional<std::int64_t> first_seq, last_seq, broken_at;
    std::int64_t head_seq = 0;
    bool head_matches = true;  ///< the head's hash is the newest row's (a removed newest row shows here)
};

struct bucket_row {
    util::micros start = 0;
    double min = 0;
    double avg = 0;
    double max = 0;
    std::int64_t count = 0;
};

}  // namespace cityguard::store
