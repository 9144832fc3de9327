#include "cityguard/alarms/alarm_service.hpp"

// alarm_service's rule catalog: what GET /rules and /bundles show and who each rule calls for,
// rendered once per (re)load and replaced whole, so readers on any thread never lock for long.
namespace cityguard::alarms {

using json = nlohmann::json;

std::shared_ptr<const alarm_service::catalog> alarm_service::current_catalog() const {
    std::lock_guard lock(catalog_mutex_);
    return catalog_;
}

rules::responders alarm_service::responders_of(std::string_view rule_id) const {
    const auto current = current_catalog();
    auto it = current->responders.find(rule_id);
    return it == current->responders.end() ? rules::responders{} : it->second;
}

void alarm_service::publish_catalog(
    const std::vector<rules::rule>& rule_list,
    std::vector<rules::bundle> bundles,
    std::optional<rules::domain_catalog> domains
) {
    if (domains) domains_.replace(std::move(*domains));
    json listed_domains = json::array();
    for (const auto& d : domains_.snapshot()->all()) listed_domains.push_back(rules::to_json(d));
    json listed = json::array();
    std::map<std::string, rules::responders, std::less<>> responders;
    for (const auto& r : rule_list) {
        if (r.retired) continue;
        listed.push_back(r.definition);
        // A pack's responders apply to its rules that name none: GET /rules shows them in place.
        if (!r.definition.contains("responders") && !r.wanted.empty())
            listed.back()["responders"] = {{"teams", r.wanted.teams}, {"materials", r.wanted.materials}};
        if (!r.wanted.empty()) responders.emplace(r.id, r.wanted);
    }
    json listed_bundles = json::array();
    for (const auto& b : bundles) listed_bundles.push_back(rules::to_json(b));
    auto next = std::make_shared<const catalog>(catalog{
        json{{"rules", std::move(listed)}}.dump(),
        json{{"bundles", std::move(listed_bundles)}}.dump(),
        json{{"domains", std::move(listed_domains)}}.dump(),
        std::move(bundles),
        std::move(responders)});
    std::lock_guard lock(catalog_mutex_);
    catalog_ = std::move(next);
}

void alarm_service::set_packs(std::string dir, std::vector<rules::bundle> bundles, rules::domain_catalog domains) {
    packs_dir_ = std::move(dir);
    publish_catalog(engine_.rules(), std::move(bundles), std::move(domains));
}

std::string alarm_service::bundles_body() const { return current_catalog()->bundles_body; }

std::string alarm_service::domains_body() const { return current_catalog()->domains_body; }

std::string alarm_service::rules_body() const { return current_catalog()->rules_body; }

void alarm_service::reload_catalog() {
    auto next = rules::load_pack_set(packs_dir_);
    // Only the catalog: a follower's engine is not in use, and is rebuilt when it takes over.
    publish_catalog(next.rules, std::move(next.bundles), std::move(next.domains));
}

}  // namespace cityguard::alarms
