#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cityguard/registry/records.hpp"

namespace cityguard::registry {

/// What ingest needs to know about a sensor, without asking the database.
struct sensor_entry {
    std::string id;
    std::int32_t key = 0;
    std::string site;
    std::string domain;  ///< the site's
    std::string kind;
    std::int32_t interval_s = 0;
    nlohmann::json limits = nlohmann::json::object();
    std::optional<double> lat, lon;   ///< where it is, when the registry says
    std::vector<std::string> groups;  ///< named groups it belongs to
    std::string district{};           ///< the site's
    std::string site_unit{};          ///< the site's responsible unit; empty: none
};

/// Where a site is, for scope checks: its district, domain and responsible unit.
struct site_place {
    std::string district, domain, unit;
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

    /// One immutable version of the directory.
    struct snapshot_t {
        map by_id;
        std::unordered_map<std::int32_t, const sensor_entry*> by_key;  ///< points into by_id
        /// Sites that have sensors (every site an alarm can name).
        std::unordered_map<std::string, site_place, string_hash, std::equal_to<>> by_site;

        const sensor_entry* find(std::string_view id) const {
            auto it = by_id.find(id);
            return it == by_id.end() ? nullptr : &it->second;
        }
        const sensor_entry* find(std::int32_t key) const {
            auto it = by_key.find(key);
            return it == by_key.end() ? nullptr : it->second;
        }
        const site_place* site(std::string_view id) const {
            auto it = by_site.find(id);
            return it == by_site.end() ? nullptr : &it->second;
        }
    };

    sensor_directory() : current_(std::make_shared<const snapshot_t>()) {}

    std::shared_ptr<const snapshot_t> snapshot() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    /// Replaces the whole directory: at start-up and after every registry write. Registry
    /// writes are rare next to lookups, so rebuilding here keeps every lookup lock-free.
    void replace(const std::vector<sensor_record>& all);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const snapshot_t> current_;
};

}  // namespace cityguard::registry
