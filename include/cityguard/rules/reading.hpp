#pragma once

#include <cstdint>
#include <string>

#include "cityguard/util/time.hpp"

namespace cityguard::rules {

/// One reading as rules judge it and the store writes it: the sensor's compact key (the
/// database's `sensors.key`), the reading's own time, the value. 16 bytes, so a batch of
/// thousands sorts and copies cheaply on the writer thread.
struct reading {
    std::int32_t sensor_key = 0;
    util::micros ts = 0;
    double value = 0;
};

/// What a camera or video-analysis platform showed with a reading (docs/evidence.md): the
/// validated evidence object as JSON text, kept beside the reading it came with (the first one
/// sent for a sensor and time, as with readings). Rules never look at it.
struct reading_evidence {
    std::int32_t sensor_key = 0;
    util::micros ts = 0;
    std::string json;
};

}  // namespace cityguard::rules
