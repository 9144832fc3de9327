#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cityguard/rules/reading.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/util/time.hpp"

/// Video evidence beside the readings it came with (docs/evidence.md), on the writer's
/// transaction. Blocking; writer thread.
namespace cityguard::store {

/// Writes `rows` inside `tx`, the readings batch's transaction. The first evidence recorded for
/// a sensor and reading time stays, as the first reading does.
void write_evidence(transaction_scope& tx, const std::vector<rules::reading_evidence>& rows);

struct evidence_found {
    std::string sensor;  ///< the sensor's id
    util::micros ts = 0;
    nlohmann::json evidence;
};

/// The evidence recorded for any of `sensors` (ids) with reading time in [from, to], oldest first.
/// At most `limit` rows, the newest kept.
std::vector<evidence_found> find_evidence(
    transaction_scope& tx, const std::vector<std::string>& sensors, util::micros from, util::micros to, int limit
);

}  // namespace cityguard::store
