#include "cityguard/store/silences_repo.hpp"

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries/silences.hpp"

namespace cityguard::store {

namespace net = boost::asio;

namespace {

silence_record silence_from(const pqxx::row& r) {
    silence_record s;
    s.what.id = r[0].as<std::int64_t>();
    s.what.site = opt_field<std::string>(r[1]);
    s.what.sensor = opt_field<std::string>(r[2]);
    s.what.rule = opt_field<std::string>(r[3]);
    s.what.domain = opt_field<std::string>(r[4]);
    s.what.district = opt_field<std::string>(r[5]);
    s.what.starts_at = r[6].as<util::micros>();
    s.what.ends_at = r[7].as<util::micros>();
    s.owner = r[8].as<std::string>();
    s.reason = r[9].as<std::string>();
    s.created_at = r[10].as<util::micros>();
    s.ended_early_by = opt_field<std::string>(r[11]);
    return s;
}

// The audit keeps what the silence was at the time, so a later change cannot rewrite history.
nlohmann::json audit_detail(const silence_record& s) {
    auto opt = [](const std::optional<std::string>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {
        {"site", opt(s.what.site)},
        {"sensor", opt(s.what.sensor)},
        {"rule", opt(s.what.rule)},
        {"domain", opt(s.what.domain)},
        {"district", opt(s.what.district)},
        {"starts_at", util::format_rfc3339(s.what.starts_at)},
        {"ends_at", util::format_rfc3339(s.what.ends_at)},
        {"reason", s.reason}};
}

}  // namespace

// The count and the insert under one lock: two creations at once cannot both find room under
// silences.max_active.
net::awaitable<std::optional<silence_record>> silences_repo::create(
    const silence_record& s, std::size_t max_unexpired
) {
    return write(db_, [s, max_unexpired](pqxx::work& tx) -> std::optional<silence_record> {
        tx.exec_prepared(queries::lock_silence_count.name);
        const auto unexpired = tx.exec_prepared1(queries::count_unexpired_silences.name)[0].as<std::int64_t>();
        if (unexpired >= static_cast<std::int64_t>(max_unexpired)) return std::nullopt;
        auto stored = silence_from(tx.exec_prepared1(
            queries::insert_silence.name,
            nullable(s.what.site),
            nullable(s.what.sensor),
            nullable(s.what.rule),
            nullable(s.what.domain),
            nullable(s.what.district),
            pg_time(s.what.starts_at),
            pg_time(s.what.ends_at),
            s.owner,
            s.reason
        ));
        tx.exec_prepared(
            queries::insert_silence_audit.name, stored.what.id, stored.owner, "created", audit_detail(stored).dump()
        );
        return stored;
    });
}

net::awaitable<std::optional<silence_record>> silences_repo::end(std::int64_t id, const std::string& actor) {
    return write(db_, [id, actor](pqxx::work& tx) -> std::optional<silence_record> {
        const auto rows = tx.exec_prepared(queries::end_silence.name, id, actor);
        if (rows.empty()) return std::nullopt;
        auto ended = silence_from(rows[0]);
        tx.exec_prepared(queries::insert_silence_audit.name, id, actor, "ended", audit_detail(ended).dump());
        return ended;
    });
}

net::awaitable<std::optional<silence_record>> silences_repo::get(std::int64_t id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_first(tx, queries::get_silence.name, silence_from, id);
    });
}

net::awaitable<std::vector<silence_audit_record>> silences_repo::audit(std::int64_t id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::silence_audit_of.name,
            [](const pqxx::row& r) {
                return silence_audit_record{
                    r[0].as<std::int64_t>(),
                    r[1].as<util::micros>(),
                    r[2].as<std::string>(),
                    r[3].as<std::string>(),
                    nlohmann::json::parse(r[4].as<std::string>())};
            },
            id
        );
    });
}

net::awaitable<std::vector<silence_record>> silences_repo::list(
    const std::optional<std::string>& state, std::size_t limit
) {
    return read(db_, [state, limit](pqxx::read_transaction& tx) {
        return map_rows(
            tx, queries::list_silences.name, silence_from, nullable(state), static_cast<std::int64_t>(limit)
        );
    });
}

net::awaitable<std::vector<silence_record>> silences_repo::unexpired() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::unexpired_silences.name, silence_from);
    });
}

}  // namespace cityguard::store
