#include "cityguard/store/resources_repo.hpp"

#include <set>

#include "pool.hpp"
#include "queries/registry.hpp"
#include "resource_rows.hpp"

namespace cityguard::store {
namespace {

/// What a rule's responders can match: a team's kind, or each material kind in stock.
std::vector<std::string> tags_of(const registry::resource_record& r) {
    if (r.team_kind) return {*r.team_kind};
    std::set<std::string> kinds;
    for (const auto& m : r.materials)
        if (m.quantity > 0) kinds.insert(m.kind);
    return {kinds.begin(), kinds.end()};
}

nlohmann::json materials_json(const std::vector<registry::material_record>& materials) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : materials)
        out.push_back({{"kind", m.kind}, {"name", m.name}, {"quantity", m.quantity}, {"unit", m.unit}});
    return out;
}

}  // namespace

registry::resource_record resource_from(const pqxx::row& row) {
    registry::resource_record r;
    r.id = row[0].as<std::string>();
    r.kind = row[1].as<std::string>();
    r.name = row[2].as<std::string>();
    r.district = opt_field<std::string>(row[3]);
    r.lat = row[4].as<double>();
    r.lon = row[5].as<double>();
    r.address = opt_field<std::string>(row[6]);
    r.team_kind = opt_field<std::string>(row[7]);
    r.size = opt_field<std::int32_t>(row[8]);
    r.on_duty = opt_field<bool>(row[9]);
    r.capacity = opt_field<std::int32_t>(row[10]);
    r.speciality = opt_field<std::string>(row[11]);
    r.phone = opt_field<std::string>(row[12]);
    for (const auto& m : nlohmann::json::parse(row[13].as<std::string>()))
        r.materials.push_back(
            {m.at("kind").get<std::string>(),
             m.at("name").get<std::string>(),
             m.at("quantity").get<double>(),
             m.at("unit").get<std::string>()}
        );
    return r;
}

// Written inside the registry document's transaction: resources and the sites they serve
// change together or not at all.
bool upsert_resource(pqxx::work& tx, const registry::resource_record& r) {
    const auto row = tx.exec_prepared1(
        queries::upsert_resource.name,
        r.id,
        r.kind,
        r.name,
        nullable(r.district),
        r.lat,
        r.lon,
        nullable(r.address),
        nullable(r.team_kind),
        nullable(opt_param(r.size)),
        nullable(opt_param(r.on_duty)),
        nullable(opt_param(r.capacity)),
        nullable(r.speciality),
        nullable(r.phone),
        materials_json(r.materials).dump(),
        text_array(tags_of(r))
    );
    return row[0].as<bool>();
}

net::awaitable<std::vector<registry::resource_record>> resources_repo::list(
    const std::optional<std::string>& kind,
    const std::optional<std::string>& district,
    const std::optional<std::string>& tag
) {
    return read(db_, [kind, district, tag](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::list_resources.name, resource_from, nullable(kind), nullable(district), nullable(tag)
        );
    });
}

net::awaitable<std::optional<registry::resource_record>> resources_repo::get(const std::string& id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_resource.name, resource_from, id);
    });
}

net::awaitable<bool> resources_repo::remove(const std::string& id) {
    return write(db_, [id](pqxx::work& tx) { return !tx.exec_prepared(queries::delete_resource.name, id).empty(); });
}

// The database finds candidates by straight-line distance (GiST); ranking by what the incident
// needs and by travel time is the pure model's (registry::rank_nearby).
net::awaitable<std::vector<registry::resource_record>> resources_repo::nearest(const nearest_query& q) {
    return read(db_, [q](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::nearest_resources.name,
            resource_from,
            q.lat,
            q.lon,
            q.warehouses,
            q.teams,
            q.shelters,
            q.experts,
            text_array(q.team_kinds),
            text_array(q.material_kinds),
            q.per_wanted
        );
    });
}

net::awaitable<std::optional<alarm_place>> resources_repo::place_of_alarm(std::int64_t alarm_id) {
    return read(db_, [alarm_id](pqxx::read_transaction& tx) {
        return map_first(
            tx,
            queries::alarm_place.name,
            [](const pqxx::row& row) {
                alarm_place p;
                p.rule = row[0].as<std::string>();
                p.site = row[1].as<std::string>();
                p.sensor = row[2].as<std::string>();
                p.level = row[3].as<int>();
                p.lat = opt_field<double>(row[4]);
                p.lon = opt_field<double>(row[5]);
                return p;
            },
            alarm_id
        );
    });
}

}  // namespace cityguard::store
