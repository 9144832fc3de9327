#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "cityguard/alarm_model/alarm.hpp"

/// What upward reporting sends for one alarm event (docs/upward.md). Pure: no I/O, no cryptography.
namespace cityguard::upward {

/// Whether events of this type are sent upward: raised, escalated, deescalated (a level change)
/// and closed.
bool reported(std::string_view event_type);

/// Where the alarm is, from the registry.
struct place {
    std::string district;
    std::optional<double> lat, lon;
};

/// The report of one event: {"eventId","eventType","alarmId","rule","level","levelName","title",
/// "advice","siteId","district","domain","sensorId","value","longitude","latitude","occurredAt",
/// "platform"}. `fields` renames ({"alarmId":"warningId"}) or, with null, omits a field.
nlohmann::json report(
    const alarm_model::event& e,
    const alarm_model::alarm& a,
    const place& where,
    const std::string& platform_code,
    const nlohmann::json& fields
);

/// The idempotency key of an event: the same on every attempt, so the platform drops a repeat.
std::string event_id(const std::string& platform_code, std::int64_t seq);

/// What the signature covers: appId + timestamp + nonce + data, concatenated.
std::string string_to_sign(
    const std::string& app_id, std::int64_t timestamp_ms, const std::string& nonce, const std::string& data
);

/// Checks a fields document ({"alarmId":"warningId","advice":null}); empty: fine, else why not.
std::string fields_problem(const nlohmann::json& fields);

}  // namespace cityguard::upward
