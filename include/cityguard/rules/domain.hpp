#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cityguard/rules/rule.hpp"

/// The monitored domains as data: each rule pack declares its domain's names, map colour and
/// icon, and the sensor kinds it uses with their unit and physical range. Sites, statistics,
/// policies, silences and the dashboard take any domain of the catalog; adding a domain is
/// adding a pack file and reloading. Pure.
namespace cityguard::rules {

/// A sensor kind a domain uses: what it measures in, and the range the instrument can read
/// (outside it a reading is a device fault, not a hazard).
struct sensor_kind_info {
    std::string kind;
    text name;
    std::string unit;
    std::optional<double> min, max;
};

struct domain_info {
    std::string id;
    text name;
    std::string color;  ///< "#rrggbb", the map's and the charts' colour of the domain
    std::string icon;   ///< a short symbol name the dashboard draws (docs/rules.md lists them)
    std::vector<sensor_kind_info> kinds;
    std::string file;  ///< the pack it comes from
};

/// The domains of one set of packs, in pack file order. Immutable once built.
class domain_catalog {
  public:
    domain_catalog() = default;
    explicit domain_catalog(std::vector<domain_info> domains);

    bool contains(std::string_view id) const noexcept { return find(id) != nullptr; }
    const domain_info* find(std::string_view id) const noexcept;
    const std::vector<domain_info>& all() const noexcept { return domains_; }
    /// "gas_pipeline, bridge, ..." for error messages.
    std::string listed() const;

  private:
    std::vector<domain_info> domains_;
};

/// The catalog part of a pack ("domain", "name", "color", "icon", "sensor_kinds"). Throws
/// pack_error naming the file.
domain_info parse_domain(const nlohmann::json& pack, const std::string& file);
/// Every pack's domain; two packs of one domain are refused.
domain_catalog load_domains(const std::vector<std::pair<std::string, nlohmann::json>>& packs);
/// The domains of every pack in `dir` (read_packs).
domain_catalog load_domains(const std::string& dir);

nlohmann::json to_json(const domain_info& d);

/// The catalog in force, replaced whole on a reload; readers on any thread take a snapshot.
class domain_book {
  public:
    domain_book() : current_(std::make_shared<const domain_catalog>()) {}
    explicit domain_book(domain_catalog initial)
        : current_(std::make_shared<const domain_catalog>(std::move(initial))) {}
    std::shared_ptr<const domain_catalog> snapshot() const {
        std::lock_guard lock(mutex_);
        return current_;
    }
    void replace(domain_catalog next) {
        auto made = std::make_shared<const domain_catalog>(std::move(next));
        std::lock_guard lock(mutex_);
        current_ = std::move(made);
    }

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const domain_catalog> current_;
};

}  // namespace cityguard::rules
