#include "cityguard/store/registry_repo.hpp"

#include <set>

#include "pool.hpp"
#include "queries/registry.hpp"
#include "resource_rows.hpp"

namespace cityguard::store {
namespace {

registry::site_record site_from(const pqxx::row& row) {
    registry::site_record s;
    s.id = row[0].as<std::string>();
    s.name = row[1].as<std::string>();
    s.domain = row[2].as<std::string>();
    s.district = row[3].as<std::string>();
    s.lat = row[4].as<double>();
    s.lon = row[5].as<double>();
    if (!row[6].is_null()) s.address = row[6].as<std::string>();
    s.attributes = nlohmann::json::parse(row[7].as<std::string>());
    if (!row[8].is_null()) s.unit = row[8].as<std::string>();
    if (!row[9].is_null()) s.geometry = nlohmann::json::parse(row[9].as<std::string>());
    s.sensor_count = row[10].as<std::int64_t>();
    return s;
}

registry::unit_record unit_from(const pqxx::row& row) {
    registry::unit_record u;
    u.id = row[0].as<std::string>();
    u.name = row[1].as<std::string>();
    u.credit_code = opt_field<std::string>(row[2]);
    u.address = opt_field<std::string>(row[3]);
    u.site_count = row[4].as<std::int64_t>();
    return u;
}

registry::contact_record contact_from(const pqxx::row& row) {
    registry::contact_record c;
    c.id = row[0].as<std::string>();
    c.name = row[1].as<std::string>();
    c.tier = row[2].as<std::string>();
    c.unit = opt_field<std::string>(row[3]);
    c.district = opt_field<std::string>(row[4]);
    c.phone = opt_field<std::string>(row[5]);
    c.channels = nlohmann::json::parse(row[6].as<std::string>()).get<std::vector<std::string>>();
    if (!row[7].is_null()) c.domains = nlohmann::json::parse(row[7].as<std::string>()).get<std::vector<std::string>>();
    return c;
}

/// Adds to `known` the ids among `wanted` that `statement` finds stored.
void add_stored(
    pqxx::work& tx, const char* statement, const std::set<std::string>& wanted, std::set<std::string>& known
) {
    if (wanted.empty()) return;
    for (const auto& row :
         tx.exec_prepared(statement, text_array(std::vector<std::string>(wanted.begin(), wanted.end()))))
        known.insert(row[0].as<std::string>());
}

/// The references of one kind of item (`field` of `items`) that neither the document nor the
/// database holds.
template <class Item, class Field>
void find_missing(
    pqxx::work& tx,
    const char* statement,
    const std::vector<Item>& items,
    const char* kind,
    const char* field,
    Field reference,
    std::set<std::string> known,
    std::vector<missing_reference>& missing
) {
    std::set<std::string> wanted;
    for (const auto& item : items)
        if (auto r = reference(item); r && !known.count(*r)) wanted.insert(*r);
    add_stored(tx, statement, wanted, known);
    for (std::size_t i = 0; i < items.size(); ++i)
        if (auto r = reference(items[i]); r && !known.count(*r)) missing.push_back({kind, i, items[i].id, field, *r});
}

// The row's limits are JSON text: parsed here once, so the engine never parses per reading.
registry::sensor_record sensor_from(const pqxx::row& row) {
    registry::sensor_record s;
    s.id = row[0].as<std::string>();
    s.key = row[1].as<std::int32_t>();
    s.site = row[2].as<std::string>();
    s.kind = row[3].as<std::string>();
    s.unit = row[4].as<std::string>();
    if (!row[5].is_null()) s.lat = row[5].as<double>();
    if (!row[6].is_null()) s.lon = row[6].as<double>();
    s.interval_s = row[7].as<std::int32_t>();
    s.limits = nlohmann::json::parse(row[8].as<std::string>());
    s.groups = nlohmann::json::parse(row[9].as<std::string>()).get<std::vector<std::string>>();
    if (!row[10].is_null()) s.latest = registry::latest_reading{row[10].as<util::micros>(), row[11].as<double>()};
    return s;
}

}  // namespace

net::awaitable<std::variant<upsert_counts, std::vector<missing_reference>>> registry_repo::upsert(registry_document doc
) {
    using result_t = std::variant<upsert_counts, std::vector<missing_reference>>;
    // Not write(): a missing reference must roll the whole document back, so the commit is ours.
    return pool_of(db_).run([doc = std::move(doc)](pqxx::connection& c) -> result_t {
        pqxx::work tx(c);
        upsert_counts counts;
        std::set<std::string> units_in_doc, sites_in_doc;
        for (const auto& u : doc.units) units_in_doc.insert(u.id);
        for (const auto& s : doc.sites) sites_in_doc.insert(s.id);
        std::vector<missing_reference> missing;
        const auto unit_of = [](const auto& item) { return item.unit; };
        find_missing(tx, queries::existing_unit_ids.name, doc.sites, "site", "unit", unit_of, units_in_doc, missing);
        find_missing(
            tx, queries::existing_unit_ids.name, doc.contacts, "contact", "unit", unit_of, units_in_doc, missing
        );
        find_missing(
            tx,
            queries::existing_site_ids.name,
            doc.sensors,
            "sensor",
            "site",
            [](const registry::sensor_record& s) { return std::optional<std::string>(s.site); },
            sites_in_doc,
            missing
        );
        if (!missing.empty()) return missing;  // the transaction rolls back unfinished

        for (const auto& u : doc.units) {
            const auto r = tx.exec_prepared1(
                queries::upsert_unit.name, u.id, u.name, nullable(u.credit_code), nullable(u.address)
            );
            (r[0].as<bool>() ? counts.units_created : counts.units_updated)++;
        }
        for (const auto& s : doc.sites) {
            const auto r = tx.exec_prepared1(
                queries::upsert_site.name,
                s.id,
                s.name,
                s.domain,
                s.district,
                s.lat,
                s.lon,
                nullable(s.address),
                s.attributes.dump(),
                nullable(s.unit),
                s.geometry.is_null() ? nullptr : s.geometry.dump().c_str()
            );
            (r[0].as<bool>() ? counts.sites_created : counts.sites_updated)++;
        }
        for (const auto& s : doc.sensors) {
            const auto r = tx.exec_prepared1(
                queries::upsert_sensor.name,
                s.id,
                s.site,
                s.kind,
                s.unit,
                nullable(opt_param(s.lat)),
                nullable(opt_param(s.lon)),
                s.interval_s,
                s.limits.dump(),
                nlohmann::json(s.groups).dump()
            );
            (r[0].as<bool>() ? counts.sensors_created : counts.sensors_updated)++;
        }
        for (const auto& ct : doc.contacts) {
            const auto r = tx.exec_prepared1(
                queries::upsert_contact.name,
                ct.id,
                ct.name,
                ct.tier,
                nullable(ct.unit),
                nullable(ct.district),
                nullable(ct.phone),
                nlohmann::json(ct.channels).dump(),
                nullable(array_or_null(ct.domains))
            );
            (r[0].as<bool>() ? counts.contacts_created : counts.contacts_updated)++;
        }
        for (const auto& res : doc.resources)
            (upsert_resource(tx, res) ? counts.resources_created : counts.resources_updated)++;
        tx.commit();
        return counts;
    });
}

net::awaitable<std::vector<registry::site_record>> registry_repo::list_sites(
    std::optional<std::string> domain, std::optional<std::string> district
) {
    return read(db_, [domain = std::move(domain), district = std::move(district)](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::list_sites.name, site_from, nullable(domain), nullable(district));
    });
}

net::awaitable<std::optional<registry::site_record>> registry_repo::get_site(std::string id) {
    return read(db_, [id = std::move(id)](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_site.name, site_from, id);
    });
}

net::awaitable<std::vector<registry::sensor_record>> registry_repo::sensors_of_site(std::string site_id) {
    return read(db_, [site_id = std::move(site_id)](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::sensors_of_site.name, sensor_from, site_id);
    });
}

net::awaitable<std::vector<registry::sensor_record>> registry_repo::list_sensors(
    std::optional<std::string> site, std::optional<std::string> kind, std::optional<std::string> group
) {
    return read(
        db_,
        [site = std::move(site), kind = std::move(kind), group = std::move(group)](pqxx::read_transaction& tx) {
            return map_rows(
                tx, queries::list_sensors.name, sensor_from, nullable(site), nullable(kind), nullable(group)
            );
        }
    );
}

net::awaitable<std::optional<registry::sensor_record>> registry_repo::get_sensor(std::string id) {
    return read(db_, [id = std::move(id)](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_sensor.name, sensor_from, id);
    });
}

net::awaitable<std::vector<registry::unit_record>> registry_repo::list_units() {
    return read(db_, [](pqxx::read_transaction& tx) { return map_rows(tx, queries::list_units.name, unit_from); });
}

net::awaitable<std::optional<registry::unit_record>> registry_repo::get_unit(const std::string& id) {
    return read(db_, [id](pqxx::read_transaction& tx) { return map_first(tx, queries::get_unit.name, unit_from, id); });
}

net::awaitable<bool> registry_repo::delete_unit(const std::string& id) {
    return write(db_, [id](pqxx::work& tx) { return !tx.exec_prepared(queries::delete_unit.name, id).empty(); });
}

net::awaitable<std::vector<registry::contact_record>> registry_repo::list_contacts(
    const std::optional<std::string>& unit,
    const std::optional<std::string>& district,
    const std::optional<std::string>& tier
) {
    return read(db_, [unit, district, tier](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::list_contacts.name, contact_from, nullable(unit), nullable(district), nullable(tier)
        );
    });
}

net::awaitable<std::optional<registry::contact_record>> registry_repo::get_contact(const std::string& id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_contact.name, contact_from, id);
    });
}

net::awaitable<std::vector<registry::contact_record>> registry_repo::contacts_of_site(const std::string& site_id) {
    return read(db_, [site_id](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::contacts_of_site.name, contact_from, site_id);
    });
}

net::awaitable<bool> registry_repo::delete_contact(const std::string& id) {
    return write(db_, [id](pqxx::work& tx) { return !tx.exec_prepared(queries::delete_contact.name, id).empty(); });
}

net::awaitable<std::vector<registry::sensor_record>> registry_repo::all_sensors() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::sensor_directory.name, [](const pqxx::row& row) {
            registry::sensor_record s;
            s.id = row[0].as<std::string>();
            s.key = row[1].as<std::int32_t>();
            s.site = row[2].as<std::string>();
            s.kind = row[3].as<std::string>();
            s.interval_s = row[4].as<std::int32_t>();
            s.domain = row[5].as<std::string>();
            s.limits = nlohmann::json::parse(row[6].as<std::string>());
            if (!row[7].is_null()) s.lat = row[7].as<double>();
            if (!row[8].is_null()) s.lon = row[8].as<double>();
            s.groups = nlohmann::json::parse(row[9].as<std::string>()).get<std::vector<std::string>>();
            s.district = row[10].as<std::string>();
            if (!row[11].is_null()) s.site_unit = row[11].as<std::string>();
            return s;
        });
    });
}

}  // namespace cityguard::store
