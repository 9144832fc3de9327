#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cityguard/util/time.hpp"

/// Plain rows as the store reads and writes them. No behaviour; validation lives in `registry`.
namespace cityguard::store {

struct site_record {
    std::string id;
    std::string name;
    std::string domain;
    std::string district;
    double lat = 0;
    double lon = 0;
    std::optional<std::string> address;
    nlohmann::json attributes = nlohmann::json::object();
    std::int64_t sensor_count = 0;  ///< filled by reads only
};

struct latest_reading {
    util::micros ts = 0;
    double value = 0;
};

struct sensor_record {
    std::string id;
    std::int32_t key = 0;  ///< compact id carried by readings; assigned by the database
    std::string site;
    std::string kind;
    std::string unit;
    std::optional<double> lat;
    std::optional<double> lon;
    std::int32_t interval_s = 60;
    nlohmann::json limits = nlohmann::json::object();
    std::optional<latest_reading> latest;  ///< filled by reads that ask for it
    std::string domain;                    ///< the site's; filled by the directory read only
};

struct key_record {
    std::string name;
    std::string role;
    util::micros created_at = 0;
};

/// One reading as written: the sensor's compact key, the reading time, the value.
struct reading_row {
    std::int32_t sensor_key = 0;
    util::micros ts = 0;
    double value = 0;
};

struct bucket_row {
    util::micros start = 0;
    double min = 0;
    double avg = 0;
    double max = 0;
    std::int64_t count = 0;
};

/// An alarm row. Levels are severities 1 (red) to 4 (blue); condition and status are text.
struct alarm_record {
    std::int64_t id = 0;
    std::string rule, site, sensor, domain;
    int level = 4, peak_level = 4;
    std::string condition, status, title, advice;
    std::optional<double> value, peak_value;
    util::micros first_ts = 0, last_ts = 0;
    std::optional<util::micros> cleared_ts;
    std::int64_t count = 1;
    util::micros opened_at = 0;
    std::optional<util::micros> closed_at;
    std::string close_reason;
};

struct event_record {
    std::int64_t seq = 0;
    std::int64_t alarm_id = 0;
    std::string type;
    util::micros at = 0;
    std::optional<util::micros> reading_ts;
    std::string actor;
    std::optional<int> level;
    std::optional<double> value;
    std::string note;
};

/// One alarm's changes in one transaction: the row after them, and its new events.
struct alarm_write_record {
    alarm_record after;  ///< id 0: insert
    std::vector<event_record> events;
};

struct rule_state_record {
    std::string rule, sensor;
    nlohmann::json state;
};

}  // namespace cityguard::store
