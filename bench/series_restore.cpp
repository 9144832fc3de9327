// What restoring baseline / trend series costs at start-up: N sensors, each with a year of daily
// bucket means persisted in rule_state (a trend rule's whole window), parsed and rebuilt as the
// start-up restore does. Prints the persisted size per sensor and the time for all of them.
//
//   build/release/cityguard-series-bench [SENSORS (default 10000)] [BUCKETS (default 365)]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cityguard/rules/evaluator.hpp"

int main(int argc, char** argv) {
    using cityguard::rules::eval_state;
    const int sensors = argc > 1 ? std::atoi(argv[1]) : 10000;
    const int buckets = argc > 2 ? std::atoi(argv[2]) : 365;
    constexpr long long kDay = 86'400'000'000LL;
    eval_state s;
    s.series_step = kDay;
    const long long first = 1'767'225'600'000'000LL / kDay * kDay;
    for (int i = 0; i < buckets; ++i) s.series.emplace_back(first + i * kDay, 24.0 + 0.0301 * i + (i % 3) * 0.117);
    const std::string text = s.persisted().dump();
    const auto start = std::chrono::steady_clock::now();
    std::size_t restored = 0;
    for (int k = 0; k < sensors; ++k) restored += eval_state::from_persisted(nlohmann::json::parse(text)).series.size();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "RESULT sensors=%d buckets=%d bytes_per_state=%zu total_mb=%.1f restore_ms=%.0f memory_mb=%.1f\n",
        sensors,
        buckets,
        text.size(),
        static_cast<double>(text.size()) * sensors / 1e6,
        ms,
        static_cast<double>(restored) * 16 / 1e6
    );
    return restored == static_cast<std::size_t>(sensors) * buckets ? 0 : 1;
}
