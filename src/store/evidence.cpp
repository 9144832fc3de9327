#include "cityguard/store/evidence.hpp"

#include "pool.hpp"
#include "queries/readings.hpp"
#include "scope.hpp"

namespace cityguard::store {

void write_evidence(transaction_scope& scope, const std::vector<rules::reading_evidence>& rows) {
    if (rows.empty()) return;
    std::vector<std::string> texts;
    texts.reserve(rows.size());
    for (const auto& r : rows) texts.push_back(r.json);
    static_cast<pqxx_scope&>(scope).tx().exec_prepared(
        queries::insert_evidence.name,
        pg_int_array(rows, [](const auto& r) { return r.sensor_key; }),
        pg_int_array(rows, [](const auto& r) { return r.ts; }),
        text_array(texts)
    );
}

std::vector<evidence_found> find_evidence(
    transaction_scope& scope, const std::vector<std::string>& sensors, util::micros from, util::micros to, int limit
) {
    std::vector<evidence_found> out;
    if (sensors.empty() || limit <= 0) return out;
    for (const auto& row : static_cast<pqxx_scope&>(scope).tx().exec_prepared(
             queries::evidence_of_sensors.name, text_array(sensors), from, to, limit
         ))
        out.push_back(
            {row[0].as<std::string>(), row[1].as<util::micros>(), nlohmann::json::parse(row[2].c_str(), nullptr, false)}
        );
    return out;
}

}  // namespace cityguard::store
