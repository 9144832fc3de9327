#pragma once

#include <cstdint>

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

}  // namespace cityguard::rules
