#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cityguard/store/records.hpp"

namespace cityguard::registry {

/// What ingest needs to know about a sensor, without asking the database.
struct sensor_entry {
    std::int32_t key = 0;
    std::string site;
    std::string kind;
    std::int32_t interval_s = 0;
};

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// An immutable map from sensor id to entry, replaced copy-on-write when the registry changes.
/// Readers take a snapshot (one shared_ptr copy under a short lock) and look up freely.
///
/// Thread safety: all members may be called from any thread.
class sensor_directory {
  public:
    using map = std::unordered_map<std::string, sensor_entry, string_hash, std::equal_to<>>;

    sensor_directory() : current_(std::make_shared<const map>()) {}

    std::shared_ptr<const map> snapshot() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    /// Replaces the whole directory (start-up load).
    void replace(const std::vector<store::sensor_record>& all);

    /// Adds or replaces the given sensors, keeping the rest.
    void upsert(const std::vector<store::sensor_record>& changed);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const map> current_;
};

}  // namespace cityguard::registry
