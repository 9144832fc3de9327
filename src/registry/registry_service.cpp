#include "cityguard/registry/registry_service.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "cityguard/registry/registry_model.hpp"
#include "cityguard/store/errors.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::registry {

namespace net = boost::asio;
using json = nlohmann::json;

void sensor_directory::replace(const std::vector<sensor_record>& all) {
    auto next = std::make_shared<snapshot_t>();
    next->by_id.reserve(all.size());
    for (const auto& s : all)
        next->by_id.insert_or_assign(
            s.id,
            sensor_entry{
                s.id,
                s.key,
                s.site,
                s.domain,
                s.kind,
                s.interval_s,
                s.limits,
                s.lat,
                s.lon,
                s.groups,
                s.district,
                s.site_unit}
        );
    for (const auto& [id, entry] : next->by_id) {
        next->by_key.emplace(entry.key, &entry);
        next->by_site.try_emplace(entry.site, site_place{entry.district, entry.domain, entry.site_unit});
    }
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
}

namespace {

json with_latest(const sensor_record& s) {
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

net::awaitable<store::upsert_counts> registry_service::write_document(store::registry_document& doc, bool itemised) {
    const bool sensors_changed = !doc.sites.empty() || !doc.sensors.empty();
    auto result = co_await repo_.upsert(std::move(doc));
    if (auto* missing = std::get_if<std::vector<store::missing_reference>>(&result)) {
        if (!itemised) throw api_error(errc::validation_failed, missing->front().message());
        json errors = json::array();
        for (const auto& m : *missing) errors.push_back(item_error(m.kind.c_str(), m.index, m.id, m.message()));
        throw api_error(
            errc::validation_failed, std::to_string(errors.size()) + " item(s) refused; nothing was written", errors
        );
    }
    // A reload, not a patch: a site's domain change reaches all of its sensors too.
    if (sensors_changed) co_await load_directory();
    co_return std::get<store::upsert_counts>(result);
}

namespace {

/// A document of the one record a PUT carries, or the parser's reason as a 422.
template <class Record>
store::registry_document single_document(
    std::variant<Record, std::string> parsed, std::vector<Record> store::registry_document::*list
) {
    if (auto* err = std::get_if<std::string>(&parsed)) throw api_error(errc::validation_failed, *err);
    store::registry_document doc;
    (doc.*list).push_back(std::get<Record>(std::move(parsed)));
    return doc;
}

}  // namespace

net::awaitable<bool> registry_service::put_site(std::string id, const json& body) {
    const auto domains = domains_.snapshot();
    auto doc =
        single_document(parse_site(body, id, *domains, cfg_.max_geometry_points), &store::registry_document::sites);
    const auto counts = co_await write_document(doc, false);
    co_return counts.sites_created == 1;
}

net::awaitable<bool> registry_service::put_sensor(std::string id, const json& body) {
    auto doc = single_document(parse_sensor(body, id), &store::registry_document::sensors);
    const auto counts = co_await write_document(doc, false);
    co_return counts.sensors_created == 1;
}

net::awaitable<bool> registry_service::put_unit(std::string id, const json& body) {
    auto doc = single_document(parse_unit(body, id), &store::registry_document::units);
    const auto counts = co_await write_document(doc, false);
    co_return counts.units_created == 1;
}

net::awaitable<bool> registry_service::put_contact(std::string id, const json& body) {
    const auto domains = domains_.snapshot();
    auto doc = single_document(parse_contact(body, id, known_channel_, *domains), &store::registry_document::contacts);
    const auto counts = co_await write_document(doc, false);
    co_return counts.contacts_created == 1;
}

net::awaitable<json> registry_service::bulk_upsert(const json& body) {
    static const char* usage =
        "body must be {\"units\":[...],\"contacts\":[...],\"sites\":[...],\"sensors\":[...],\"resources\":[...]}";
    if (!body.is_object()) throw api_error(errc::validation_failed, usage);
    static const std::set<std::string> sections{"units", "contacts", "sites", "sensors", "resources"};
    for (auto it = body.begin(); it != body.end(); ++it) {
        if (!sections.count(it.key())) throw api_error(errc::validation_failed, "unknown field '" + it.key() + "'");
        if (!it->is_array()) throw api_error(errc::validation_failed, it.key() + " must be an array");
    }
    static const json empty = json::array();
    const auto section = [&](const char* name) -> const json& { return body.contains(name) ? body[name] : empty; };

    json errors = json::array();
    store::registry_document doc;
    doc.units = parse_all<unit_record>(section("units"), "unit", parse_unit, errors);
    const auto domains = domains_.snapshot();
    doc.contacts = parse_all<contact_record>(
        section("contacts"),
        "contact",
        [this, &domains](const json& item, std::optional<std::string_view> path_id) {
            return parse_contact(item, path_id, known_channel_, *domains);
        },
        errors
    );
    doc.sites = parse_all<site_record>(
        section("sites"),
        "site",
        [this, &domains](const json& item, std::optional<std::string_view> path_id) {
            return parse_site(item, path_id, *domains, cfg_.max_geometry_points);
        },
        errors
    );
    doc.sensors = parse_all<sensor_record>(section("sensors"), "sensor", parse_sensor, errors);
    doc.resources = parse_all<resource_record>(section("resources"), "resource", parse_resource, errors);
    if (!errors.empty())
        throw api_error(
            errc::validation_failed, std::to_string(errors.size()) + " item(s) refused; nothing was written", errors
        );
    auto counts = co_await write_document(doc, true);
    co_return json{
        {"units", {{"created", counts.units_created}, {"updated", counts.units_updated}}},
        {"contacts", {{"created", counts.contacts_created}, {"updated", counts.contacts_updated}}},
        {"sites", {{"created", counts.sites_created}, {"updated", counts.sites_updated}}},
        {"sensors", {{"created", counts.sensors_created}, {"updated", counts.sensors_updated}}},
        {"resources", {{"created", counts.resources_created}, {"updated", counts.resources_updated}}}};
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
    std::optional<unit_record> unit;
    if (site->unit) unit = co_await repo_.get_unit(*site->unit);
    j["responsible"] = {{"unit", unit ? to_json(*unit) : json(nullptr)}, {"contacts", json::array()}};
    auto contacts = co_await repo_.contacts_of_site(id);
    for (const auto& c : contacts) j["responsible"]["contacts"].push_back(to_json(c));
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

net::awaitable<json> registry_service::list_units() {
    json out = json::array();
    auto rows = co_await repo_.list_units();
    for (const auto& u : rows) out.push_back(to_json(u));
    co_return json{{"units", std::move(out)}};
}

net::awaitable<json> registry_service::get_unit(std::string id) {
    auto unit = co_await repo_.get_unit(id);
    if (!unit) throw api_error(errc::not_found, "no unit '" + id + "'");
    json j = to_json(*unit);
    auto contacts = co_await repo_.list_contacts(id, std::nullopt, std::nullopt);
    j["contacts"] = json::array();
    for (const auto& c : contacts) j["contacts"].push_back(to_json(c));
    co_return j;
}

net::awaitable<void> registry_service::delete_unit(std::string id) {
    bool existed = false;
    try {
        existed = co_await repo_.delete_unit(id);
    } catch (const store::error& e) {
        if (e.kind() != store::failure::conflict) throw;
        throw api_error(errc::conflict, "unit '" + id + "' is still named by sites or contacts: change those first");
    }
    if (!existed) throw api_error(errc::not_found, "no unit '" + id + "'");
}

net::awaitable<json> registry_service::list_contacts(
    std::optional<std::string> unit, std::optional<std::string> district, std::optional<std::string> tier
) {
    json out = json::array();
    auto rows = co_await repo_.list_contacts(unit, district, tier);
    for (const auto& c : rows) out.push_back(to_json(c));
    co_return json{{"contacts", std::move(out)}};
}

net::awaitable<json> registry_service::get_contact(std::string id) {
    auto contact = co_await repo_.get_contact(id);
    if (!contact) throw api_error(errc::not_found, "no contact '" + id + "'");
    co_return to_json(*contact);
}

net::awaitable<void> registry_service::delete_contact(std::string id) {
    const bool existed = co_await repo_.delete_contact(id);
    if (!existed) throw api_error(errc::not_found, "no contact '" + id + "'");
}

net::awaitable<bool> registry_service::put_resource(const std::string& id, const json& body) {
    auto doc = single_document(parse_resource(body, id), &store::registry_document::resources);
    const auto counts = co_await write_document(doc, false);
    co_return counts.resources_created == 1;
}

net::awaitable<json> registry_service::list_resources(
    const std::optional<std::string>& kind,
    const std::optional<std::string>& district,
    const std::optional<std::string>& tag
) {
    json out = json::array();
    auto rows = co_await resources_.list(kind, district, tag);
    for (const auto& r : rows) out.push_back(to_json(r));
    co_return json{{"resources", std::move(out)}};
}

net::awaitable<json> registry_service::get_resource(const std::string& id) {
    auto resource = co_await resources_.get(id);
    if (!resource) throw api_error(errc::not_found, "no resource '" + id + "'");
    co_return to_json(*resource);
}

net::awaitable<void> registry_service::delete_resource(const std::string& id) {
    const bool existed = co_await resources_.remove(id);
    if (!existed) throw api_error(errc::not_found, "no resource '" + id + "'");
}

}  // namespace cityguard::registry
