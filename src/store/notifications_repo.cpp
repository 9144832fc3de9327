#include "cityguard/store/notifications_repo.hpp"

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries.hpp"
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

}  // namespace

std::size_t write_escalation(transaction_scope& scope, const notify::escalation_output& out) {
    auto& tx = static_cast<pqxx_scope&>(scope).tx();
    for (const auto& [id, st] : out.states)
        tx.exec_prepared(
            queries::update_deadlines.name,
            id,
            nullable(pg_opt_time(st.ack_due)),
            nullable(pg_opt_time(st.dispose_due)),
            static_cast<int>(st.told),
            st.suppressed,
            st.raise_pending,
            nullable(opt_int(st.silence))
        );
    std::int64_t last_seq = 0;
    if (!out.events.empty()) tx.exec_prepared(queries::lock_event_order.name);
    for (const auto& [alarm, e] : out.events) {
        const auto level = e.lvl ? std::optional<std::string>(std::to_string(level_column(*e.lvl))) : std::nullopt;
        last_seq = tx.exec_prepared1(
                         queries::insert_event.name,
                         alarm,
                         e.type,
                         pg_time(e.at),
                         nullptr,
                         e.actor,
                         nullable(level),
                         nullptr,
                         e.note
        )[0]
                       .as<std::int64_t>();
    }
    if (last_seq) tx.exec_prepared(queries::notify_events.name, std::to_string(last_seq));
    std::size_t rows = 0;
    for (const auto& n : out.notices)
        rows += tx.exec_prepared(
                      queries::insert_notifications.name,
                      n.alarm,
                      std::string(notify::to_string(n.kind)),
                      std::string(notify::to_string(n.to)),
                      level_column(n.lvl),
                      n.site
        )
                    .affected_rows();
    return rows;
}

net::awaitable<std::vector<notification_record>> notifications_repo::of_alarm(std::int64_t alarm) {
    return read(db_, [alarm](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::notifications_of_alarm.name, notification_from, alarm);
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
    const std::optional<std::string>& status, std::optional<std::int64_t> before, std::size_t limit
) {
    return read(db_, [status, before, limit](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::list_notifications.name,
            notification_from,
            nullable(status),
            nullable(opt_int(before)),
            static_cast<std::int64_t>(limit)
        );
    });
}

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
