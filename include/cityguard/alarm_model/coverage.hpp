#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/rules/bundle.hpp"

/// A site's coverage of its domain's bundle: which items have sensors, and of those which are
/// in alarm, offline or in fault. The supervisor's view of whether an enterprise meets its
/// monitoring duty. Pure.
namespace cityguard::alarm_model {

struct site_sensor {
    std::string id, kind;
};

/// `alarms`: the site's alarms that are not closed (sensor and site alarms).
nlohmann::json coverage_of(
    const std::string& site,
    const rules::bundle& b,
    const std::vector<site_sensor>& sensors,
    const std::vector<alarm>& alarms
);

}  // namespace cityguard::alarm_model
