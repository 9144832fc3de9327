#include "cityguard/store/notifications_repo.hpp"

#include <nlohmann/json.hpp>

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries/notifications.hpp"
#include "scope.hpp"

namespace cityguard::store {

namespace {

std::optional<std::string> opt_int(const std::optional<std::int64_t>& v) {
    if (!v) return std::nullopt;
    return std::to_string(*v);
}

/// The 14 columns of CITYGUARD_NOTIFICATION_COLUMNS.
notification_record notification_from(const pqxx::row& r) {
    notification_record n;
    n.id = r[0].as<std::int64_t>();
    n.alarm = r[1].as<std::int64_t>();
    n.kind = r[2].as<std::string>();
    n.tier = r[3].as<std::string>();
    n.lvl = level_from(r[4]);
    n.contact = r[5].as<std::string>();
    n.contact_name = r[6].as<std::string>();
    n.channel = r[7].as<std::string>();
    n.status = r[8].as<std::string>();
    n.attempts = r[9].as<int>();
    n.next_attempt_at = r[10].as<util::micros>();
    n.created_at = r[11].as<util::micros>();
    n.delivered_at = opt_field<util::micros>(r[12]);
    n.last_error = opt_field<std::string>(r[13]);
    return n;
}

/// The 14 columns and CITYGUARD_NOTIFICATION_PEOPLE.
notification_record notification_with_people(const pqxx::row& r) {
    auto n = notification_from(r);
    if (const auto people = opt_field<std::string>(r[14]))
        for (const auto& p : nlohmann::json::parse(*people))
            n.people.push_back({p.at("id").get<std::int64_t>(), p.at("display_name").get<std::string>()});
    return n;
}

}  // namespace

net::awaitable<std::vector<notification_record>> notifications_repo::of_alarm(std::int64_t alarm) {
    return read(db_, [alarm](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::notifications_of_alarm.name, notification_with_people, alarm);
    });
}

net::awaitable<std::vector<attempt_record>> notifications_repo::attempts_of_alarm(std::int64_t alarm) {
    return read(db_, [alarm](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::attempts_of_alarm.name,
            [](const pqxx::row& r) {
                return attempt_record{
                    r[0].as<std::int64_t>(),
                    r[1].as<int>(),
                    r[2].as<util::micros>(),
                    r[3].as<int>(),
                    opt_field<int>(r[4]),
                    opt_field<std::string>(r[5])};
            },
            alarm
        );
    });
}

net::awaitable<std::vector<notification_record>> notifications_repo::list(
    const std::optional<std::string>& status, std::optional<std::int64_t> before, std::size_t limit, place_filter scope
) {
    return read(db_, [status, before, limit, scope = std::move(scope)](pqxx::read_transaction& tx) {
        const auto list_or_null = [](const std::vector<std::string>& v) {
            return v.empty() ? std::optional<std::string>() : std::optional<std::string>(text_array(v));
        };
        return map_rows(
            tx,
            queries::list_notifications.name,
            notification_with_people,
            nullable(status),
            nullable(opt_int(before)),
            static_cast<std::int64_t>(limit),
            nullable(list_or_null(scope.districts)),
            nullable(list_or_null(scope.domains)),
            nullable(list_or_null(scope.units))
        );
    });
}

// Rows in flight are left out by id: a delivery slower than the poll is not started twice.
net::awaitable<std::vector<delivery_job>> notifications_repo::due(
    const std::vector<std::int64_t>& in_flight, std::size_t limit
) {
    return read(db_, [busy = pg_int_array(in_flight), limit](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::due_notifications.name,
            [](const pqxx::row& r) {
                delivery_job job;
                job.notification = notification_from(r);
                job.phone = opt_field<std::string>(r[14]);
                job.site_name = opt_field<std::string>(r[15]).value_or("");
                job.district = opt_field<std::string>(r[16]).value_or("");
                job.alarm = alarm_at(r, 17);
                return job;
            },
            busy,
            static_cast<std::int64_t>(limit)
        );
    });
}

// One statement updates the row and adds the attempt: the attempt count on the row and the list
// of attempts always agree, and a row no longer pending (delivered by an earlier attempt whose
// record came late) is left as it is.
net::awaitable<void> notifications_repo::record(const delivery_attempt& a) {
    return write(db_, [a](pqxx::work& tx) {
        const auto http_status =
            a.http_status ? std::optional<std::string>(std::to_string(*a.http_status)) : std::nullopt;
        tx.exec_prepared(
            queries::record_attempt.name,
            a.notification,
            a.status,
            nullable(a.error),
            pg_time(a.next_attempt_at),
            a.duration_ms,
            nullable(http_status)
        );
    });
}

}  // namespace cityguard::store
