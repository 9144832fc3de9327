#include <algorithm>
#include <charconv>
#include <map>

#include "cityguard/alarm_model/coverage.hpp"
#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

// alarm_service's reads: the alarm list with its filters and cursor, one alarm with its history,
// the overview, and a site's bundle coverage. They read the database through the pool and never
// touch the engine: what the API shows is what was committed.
namespace cityguard::alarms {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::vector<std::string> split_list(const std::optional<std::string>& text) {
    std::vector<std::string> out;
    if (!text) return out;
    std::string_view rest(*text);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        auto part = rest.substr(0, comma);
        if (!part.empty()) out.emplace_back(part);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return out;
}

// The cursor is opaque to clients; today it is the last id seen, in hex, behind a version tag.
std::string make_cursor(std::int64_t id) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, id, 16);
    return "c1." + std::string(buf, p);
}

std::int64_t read_cursor(const std::string& c) {
    std::int64_t id = 0;
    if (c.rfind("c1.", 0) == 0) {
        auto [p, ec] = std::from_chars(c.data() + 3, c.data() + c.size(), id, 16);
        if (ec == std::errc{} && p == c.data() + c.size() && id > 0) return id;
    }
    throw api_error(errc::bad_request, "cursor is not one this server returned");
}

}  // namespace

net::awaitable<json> alarm_service::list(list_query q) {
    store::alarm_filter f;
    for (auto& s : split_list(q.status)) {
        if (s != "active" && !alarm_model::parse_status(s))
            throw api_error(
                errc::bad_request, "status must be active, open, acknowledged, handling, resolved or closed"
            );
        f.statuses.push_back(std::move(s));
    }
    for (const auto& l : split_list(q.level)) {
        auto lvl = rules::parse_level(l);
        if (!lvl) throw api_error(errc::bad_request, "level must be red, orange, yellow or blue");
        f.levels.push_back(static_cast<int>(*lvl));
    }
    f.domains = split_list(q.domain);
    f.sites = split_list(q.site);
    f.sensors = split_list(q.sensor);
    f.rules = split_list(q.rule);
    for (auto& c : split_list(q.category)) {
        if (!alarm_model::parse_category(c))
            throw api_error(errc::bad_request, "category must be process, fault or offline");
        f.categories.push_back(std::move(c));
    }
    if (q.from) f.from = util::parse_time_param(*q.from, "from");
    if (q.to) f.to = util::parse_time_param(*q.to, "to");
    if (q.cursor) f.before_id = read_cursor(*q.cursor);
    if (q.inhibited) {
        if (*q.inhibited != "true" && *q.inhibited != "false")
            throw api_error(errc::bad_request, "inhibited must be true or false");
        f.inhibited = *q.inhibited == "true";
    }
    f.scope = std::move(q.scope);
    f.limit = cfg_.default_list;
    if (q.limit) {
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(q.limit->data(), q.limit->data() + q.limit->size(), n);
        if (ec != std::errc{} || p != q.limit->data() + q.limit->size() || n < 1 || n > cfg_.max_list)
            throw api_error(errc::bad_request, "limit must be between 1 and " + std::to_string(cfg_.max_list));
        f.limit = n;
    }
    const std::size_t limit = f.limit;
    auto rows = co_await repo_.list(std::move(f));
    const bool more = rows.size() > limit;
    if (more) rows.pop_back();
    json items = json::array();
    for (const auto& r : rows) items.push_back(alarm_model::to_json(r));
    json out{{"alarms", std::move(items)}, {"next_cursor", nullptr}};
    if (more) out["next_cursor"] = make_cursor(rows.back().id);
    co_return out;
}

net::awaitable<json> alarm_service::get(std::int64_t id) {
    auto stored = co_await repo_.get(id);
    if (!stored) throw api_error(errc::not_found, "no alarm " + std::to_string(id));
    auto events = co_await repo_.events_of(id);
    json out = alarm_model::to_json(*stored);
    json list = json::array();
    for (const auto& e : events) list.push_back(alarm_model::to_json(e));
    out["events"] = std::move(list);
    co_return out;
}

net::awaitable<json> alarm_service::overview(store::place_filter scope) {
    auto o = co_await repo_.overview(std::move(scope));
    json levels = json::object();
    for (auto l : {rules::level::red, rules::level::orange, rules::level::yellow, rules::level::blue})
        levels[std::string(rules::to_string(l))] = o.active_by_level.value(std::to_string(static_cast<int>(l)), 0);
    json out{
        {"sites_by_domain", o.sites_by_domain},
        {"sensors_by_domain", o.sensors_by_domain},
        {"sensors_offline", o.sensors_offline},
        {"sensors_in_fault", o.sensors_in_fault},
        {"active_alarms_by_level", levels},
        {"active_alarms_by_domain", o.active_by_domain},
        {"oldest_unacknowledged_red", nullptr}};
    if (o.oldest_unacknowledged_red)
        out["oldest_unacknowledged_red"] = alarm_model::to_json(*o.oldest_unacknowledged_red);
    co_return out;
}

net::awaitable<json> alarm_service::coverage(json site, json sensors) {
    const std::string site_id = site.value("id", "");
    const std::string domain = site.value("domain", "");
    const auto packs = current_catalog();
    const auto& bundles = packs->bundles;
    auto b = std::find_if(bundles.begin(), bundles.end(), [&](const rules::bundle& x) { return x.domain == domain; });
    if (b == bundles.end()) {
        std::string with_bundles;
        for (const auto& x : bundles) with_bundles += (with_bundles.empty() ? "" : ", ") + x.domain;
        throw api_error(
            errc::not_found, "no bundle for domain '" + domain + "': coverage applies to sites of " + with_bundles
        );
    }
    std::vector<alarm_model::site_sensor> present;
    for (const auto& s : sensors.value("sensors", json::array()))
        present.push_back({s.value("id", ""), s.value("kind", "")});
    store::alarm_filter f;
    f.sites = {site_id};
    f.statuses = {"active"};
    f.limit = cfg_.max_list;
    const auto open = co_await repo_.list(std::move(f));
    auto out = alarm_model::coverage_of(site_id, *b, present, open);
    if (open.size() > cfg_.max_list) out["truncated"] = true;  // more open alarms than a list returns
    co_return out;
}

net::awaitable<json> alarm_service::coverage_list(json sites, coverage_query q) {
    const auto packs = current_catalog();
    const auto bundle_of = [&packs](const std::string& domain) -> const rules::bundle* {
        for (const auto& b : packs->bundles)
            if (b.domain == domain) return &b;
        return nullptr;
    };
    std::size_t limit = cfg_.default_list;
    if (q.limit) {
        std::size_t n = 0;
        auto [p, ec] = std::from_chars(q.limit->data(), q.limit->data() + q.limit->size(), n);
        if (ec != std::errc{} || p != q.limit->data() + q.limit->size() || n < 1 || n > cfg_.max_list)
            throw api_error(errc::bad_request, "limit must be between 1 and " + std::to_string(cfg_.max_list));
        limit = n;
    }
    // The page: bundle sites by id, after the cursor (the last site of the previous page).
    std::vector<json> page;
    for (auto& site : sites.value("sites", json::array())) {
        const std::string id = site.value("id", "");
        if (bundle_of(site.value("domain", "")) && (!q.cursor || id > *q.cursor)) page.push_back(std::move(site));
    }
    std::sort(page.begin(), page.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
    const bool more = page.size() > limit;
    if (more) page.resize(limit);

    std::map<std::string, std::vector<alarm_model::site_sensor>> present;
    store::alarm_filter f;
    for (const auto& site : page) {
        present[site["id"].get<std::string>()];
        f.sites.push_back(site["id"].get<std::string>());
    }
    {
        const auto places = directory_.snapshot();
        for (const auto& [id, sensor] : places->by_id)
            if (auto it = present.find(sensor.site); it != present.end()) it->second.push_back({id, sensor.kind});
    }
    for (auto& [site, sensors] : present)
        std::sort(sensors.begin(), sensors.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    f.statuses = {"active"};
    f.limit = cfg_.max_list;
    std::vector<alarm_model::alarm> open;
    if (!page.empty()) open = co_await repo_.list(std::move(f));
    const bool alarms_truncated = open.size() > cfg_.max_list;

    json out = json::array();
    std::size_t met = 0, unmet = 0;
    for (const auto& site : page) {
        const std::string id = site["id"].get<std::string>();
        std::vector<alarm_model::alarm> of_site;
        for (const auto& a : open)
            if (a.site == id) of_site.push_back(a);
        auto c = alarm_model::coverage_of(id, *bundle_of(site.value("domain", "")), present[id], of_site);
        const bool duty_met = c["summary"]["required_unwatched"].empty();
        (duty_met ? met : unmet) += 1;
        if (q.unmet_only && duty_met) continue;
        out.push_back(
            {{"site", id},
             {"name", site.value("name", "")},
             {"district", site.value("district", "")},
             {"domain", site.value("domain", "")},
             {"unit", site.contains("unit") ? site["unit"] : json(nullptr)},
             {"bundle", std::move(c["bundle"])},
             {"duty_met", duty_met},
             {"summary", std::move(c["summary"])}}
        );
    }
    json body{
        {"sites", std::move(out)},
        {"page", {{"sites", page.size()}, {"duty_met", met}, {"duty_unmet", unmet}}},
        {"next_cursor", more ? page.back()["id"] : json(nullptr)}};
    if (alarms_truncated) body["truncated"] = true;  // more open alarms than a list returns
    co_return body;
}

}  // namespace cityguard::alarms
