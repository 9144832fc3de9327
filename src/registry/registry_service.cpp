#include "cityguard/registry/registry_service.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "cityguard/registry/registry_model.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::registry {

namespace net = boost::asio;
using json = nlohmann::json;

void sensor_directory::replace(const std::vector<store::sensor_record>& all) {
    auto next = std::make_shared<snapshot_t>();
    next->by_id.reserve(all.size());
    for (const auto& s : all)
        next->by_id.insert_or_assign(
            s.id, sensor_entry{s.id, s.key, s.site, s.domain, s.kind, s.interval_s, s.limits, s.lat, s.lon, s.groups}
        );
    for (const auto& [id, entry] : next->by_id) next->by_key.emplace(entry.key, &entry);
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

namespace {

json with_latest(const store::sensor_record& s) {
    json j = to_json(s);
    j["latest"] =
        s.latest ? json{{"ts", util::format_rfc3339(s.latest->ts)}, {"value", s.latest->value}} : json(nullptr);
    return j;
}

json item_error(const char* kind, std::size_t index, const std::string& id, const std::string& error) {
    return {{"kind", kind}, {"index", index}, {"id", id}, {"error", error}};
}

std::string id_of(const json& item) {
    if (item.is_object())
        if (auto it = item.find("id"); it != item.end() && it->is_string()) return it->get<std::string>();
    return "";
}

/// Parses every item of a bulk array, collecting per-item errors (including repeated ids) into
/// `errors` and returning the items that passed.
template <class Record, class Parser>
std::vector<Record> parse_all(const json& items, const char* kind, Parser parse, json& errors) {
    std::vector<Record> out;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto parsed = parse(items[i], std::nullopt);
        if (auto* err = std::get_if<std::string>(&parsed)) {
            errors.push_back(item_error(kind, i, id_of(items[i]), *err));
            continue;
        }
        auto& record = std::get<Record>(parsed);
        if (!seen.insert(record.id).second)
            errors.push_back(item_error(kind, i, record.id, std::string(kind) + " id appears more than once"));
        else
            out.push_back(std::move(record));
    }
    return out;
}

}  // namespace

net::awaitable<void> registry_service::load_directory() {
    auto all = co_await repo_.all_sensors();
    directory_.replace(all);
    spdlog::info("sensor directory loaded: {} sensors", all.size());
}

net::awaitable<bool> registry_service::put_site(std::string id, const json& body) {
    auto parsed = parse_site(body, id);
    if (auto* err = std::get_if<std::string>(&parsed)) throw api_error(errc::validation_failed, *err);
    // Named vectors, not braced lists: GCC 12 miscompiles initializer lists inside co_await.
    std::vector<store::site_record> sites;
    sites.push_back(std::get<store::site_record>(std::move(parsed)));
    auto result = co_await repo_.upsert(std::move(sites), {});
    const bool created = std::get<store::upsert_counts>(result).sites_created == 1;
    co_await load_directory();
    co_return created;
}

net::awaitable<bool> registry_service::put_sensor(std::string id, const json& body) {
    auto parsed = parse_sensor(body, id);
    if (auto* err = std::get_if<std::string>(&parsed)) throw api_error(errc::validation_failed, *err);
    std::vector<store::sensor_record> sensors;
    sensors.push_back(std::get<store::sensor_record>(std::move(parsed)));
    auto result = co_await repo_.upsert({}, std::move(sensors));
    if (auto* missing = std::get_if<std::vector<store::missing_site>>(&result))
        throw api_error(errc::validation_failed, "site '" + missing->front().site + "' does not exist");
    const bool created = std::get<store::upsert_counts>(result).sensors_created == 1;
    co_await load_directory();
    co_return created;
}

net::awaitable<json> registry_service::bulk_upsert(const json& body) {
    if (!body.is_object()) throw api_error(errc::validation_failed, "body must be {\"sites\":[...],\"sensors\":[...]}");
    for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "sites" && it.key() != "sensors")
            throw api_error(errc::validation_failed, "unknown field '" + it.key() + "'");
    static const json empty = json::array();
    const json& sites_in = body.contains("sites") ? body["sites"] : empty;
    const json& sensors_in = body.contains("sensors") ? body["sensors"] : empty;
    if (!sites_in.is_array() || !sensors_in.is_array())
        throw api_error(errc::validation_failed, "sites and sensors must be arrays");

    json errors = json::array();
    auto sites = parse_all<store::site_record>(sites_in, "site", parse_site, errors);
    auto sensors = parse_all<store::sensor_record>(sensors_in, "sensor", parse_sensor, errors);
    if (!errors.empty())
        throw api_error(
            errc::validation_failed, std::to_string(errors.size()) + " item(s) refused; nothing was written", errors
        );

    const auto sensor_ids = [&] {
        std::vector<std::string> ids;
        for (const auto& s : sensors) ids.push_back(s.id);
        return ids;
    }();
    auto result = co_await repo_.upsert(std::move(sites), std::move(sensors));
    if (auto* missing = std::get_if<std::vector<store::missing_site>>(&result)) {
        for (const auto& m : *missing)
            errors.push_back(
                item_error("sensor", m.sensor_index, sensor_ids[m.sensor_index], "site '" + m.site + "' does not exist")
            );
        throw api_error(
            errc::validation_failed, std::to_string(errors.size()) + " item(s) refused; nothing was written", errors
        );
    }
    auto& counts = std::get<store::upsert_counts>(result);
    // A reload, not a patch: a site's domain change reaches all of its sensors too.
    co_await load_directory();
    co_return json{
        {"sites", {{"created", counts.sites_created}, {"updated", counts.sites_updated}}},
        {"sensors", {{"created", counts.sensors_created}, {"updated", counts.sensors_updated}}}};
}

net::awaitable<json> registry_service::list_sites(
    std::optional<std::string> domain, std::optional<std::string> district
) {
    json out = json::array();
    auto rows = co_await repo_.list_sites(std::move(domain), std::move(district));
    for (const auto& s : rows) out.push_back(to_json(s));
    co_return json{{"sites", std::move(out)}};
}

net::awaitable<json> registry_service::get_site(std::string id) {
    auto site = co_await repo_.get_site(id);
    if (!site) throw api_error(errc::not_found, "no site '" + id + "'");
    json j = to_json(*site);
    json sensors = json::array();
    auto rows = co_await repo_.sensors_of_site(id);
    for (const auto& s : rows) sensors.push_back(with_latest(s));
    j["sensors"] = std::move(sensors);
    co_return j;
}

net::awaitable<json> registry_service::list_sensors(
    std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
) {
    json out = json::array();
    auto rows = co_await repo_.list_sensors(std::move(site), std::move(kind), std::move(group));
    for (const auto& s : rows) out.push_back(to_json(s));
    co_return json{{"sensors", std::move(out)}};
}

net::awaitable<json> registry_service::get_sensor(std::string id) {
    auto sensor = co_await repo_.get_sensor(id);
    if (!sensor) throw api_error(errc::not_found, "no sensor '" + id + "'");
    co_return with_latest(*sensor);
}

}  // namespace cityguard::registry
