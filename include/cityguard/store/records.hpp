#pragma once

#include <cstdint>
#include <string>

#include "cityguard/util/time.hpp"

/// Plain rows the store reads and writes that belong to no model (the registry's rows are
/// registry/records.hpp).
namespace cityguard::store {

struct key_record {
    std::string name;
    std::string role;
    util::micros created_at = 0;
};

struct bucket_row {
    util::micros start = 0;
    double min = 0;
    double avg = 0;
    double max = 0;
    std::int64_t count = 0;
};

}  // namespace cityguard::store
