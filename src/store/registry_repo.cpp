#include "cityguard/store/registry_repo.hpp"

#include <set>

#include "pool.hpp"
#include "queries.hpp"

namespace cityguard::store {
namespace {

std::optional<std::string> opt_double(const std::optional<double>& v) {
    if (!v) return std::nullopt;
    return pqxx::to_string(*v);
}

site_record site_from(const pqxx::row& row) {
    site_record s;
    s.id = row[0].as<std::string>();
    s.name = row[1].as<std::string>();
    s.domain = row[2].as<std::string>();
    s.district = row[3].as<std::string>();
    s.lat = row[4].as<double>();
    s.lon = row[5].as<double>();
    if (!row[6].is_null()) s.address = row[6].as<std::string>();
    s.attributes = nlohmann::json::parse(row[7].as<std::string>());
    s.sensor_count = row[8].as<std::int64_t>();
    return s;
}

sensor_record sensor_from(const pqxx::row& row) {
    sensor_record s;
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
    if (!row[10].is_null()) s.latest = latest_reading{row[10].as<util::micros>(), row[11].as<double>()};
    return s;
}

}  // namespace

net::awaitable<std::variant<upsert_counts, std::vector<missing_site>>> registry_repo::upsert(
    std::vector<site_record> sites, std::vector<sensor_record> sensors
) {
    using result_t = std::variant<upsert_counts, std::vector<missing_site>>;
    // Not write(): a missing site must roll the whole document back, so the commit is ours.
    return pool_of(db_).run([sites = std::move(sites), sensors = std::move(sensors)](pqxx::connection& c) -> result_t {
        pqxx::work tx(c);
        upsert_counts counts;
        std::set<std::string> known;
        for (const auto& s : sites) {
            const auto r = tx.exec_prepared1(
                queries::upsert_site.name,
                s.id,
                s.name,
                s.domain,
                s.district,
                s.lat,
                s.lon,
                nullable(s.address),
                s.attributes.dump()
            );
            (r[0].as<bool>() ? counts.sites_created : counts.sites_updated)++;
            known.insert(s.id);
        }
        std::set<std::string> wanted;
        for (const auto& s : sensors)
            if (!known.count(s.site)) wanted.insert(s.site);
        if (!wanted.empty()) {
            for (const auto& row : tx.exec_prepared(
                     queries::existing_site_ids.name, text_array(std::vector<std::string>(wanted.begin(), wanted.end()))
                 ))
                known.insert(row[0].as<std::string>());
            std::vector<missing_site> missing;
            for (std::size_t i = 0; i < sensors.size(); ++i)
                if (!known.count(sensors[i].site)) missing.push_back({i, sensors[i].site});
            if (!missing.empty()) return missing;  // the transaction rolls back unfinished
        }
        for (const auto& s : sensors) {
            const auto r = tx.exec_prepared1(
                queries::upsert_sensor.name,
                s.id,
                s.site,
                s.kind,
                s.unit,
                nullable(opt_double(s.lat)),
                nullable(opt_double(s.lon)),
                s.interval_s,
                s.limits.dump(),
                nlohmann::json(s.groups).dump()
            );
            (r[0].as<bool>() ? counts.sensors_created : counts.sensors_updated)++;
        }
        tx.commit();
        return counts;
    });
}

net::awaitable<std::vector<site_record>> registry_repo::list_sites(
    std::optional<std::string> domain, std::optional<std::string> district
) {
    return read(db_, [domain = std::move(domain), district = std::move(district)](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::list_sites.name, site_from, nullable(domain), nullable(district));
    });
}

net::awaitable<std::optional<site_record>> registry_repo::get_site(std::string id) {
    return read(db_, [id = std::move(id)](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_site.name, site_from, id);
    });
}

net::awaitable<std::vector<sensor_record>> registry_repo::sensors_of_site(std::string site_id) {
    return read(db_, [site_id = std::move(site_id)](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::sensors_of_site.name, sensor_from, site_id);
    });
}

net::awaitable<std::vector<sensor_record>> registry_repo::list_sensors(
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

net::awaitable<std::optional<sensor_record>> registry_repo::get_sensor(std::string id) {
    return read(db_, [id = std::move(id)](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_sensor.name, sensor_from, id);
    });
}

net::awaitable<std::vector<sensor_record>> registry_repo::all_sensors() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::sensor_directory.name, [](const pqxx::row& row) {
            sensor_record s;
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
            return s;
        });
    });
}

}  // namespace cityguard::store
