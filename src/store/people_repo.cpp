#include "cityguard/store/people_repo.hpp"

#include <nlohmann/json.hpp>

#include "pool.hpp"
#include "queries/people.hpp"

namespace cityguard::store {

namespace {

// The columns of CITYGUARD_USER_COLUMNS from `first` on.
user_record user_from(const pqxx::row& r, int first = 0) {
    user_record u;
    u.id = r[first + 0].as<std::int64_t>();
    u.login = r[first + 1].as<std::string>();
    u.display_name = r[first + 2].as<std::string>();
    u.role = r[first + 3].as<std::string>();
    u.scope = r[first + 4].as<std::string>();
    u.contact = opt_field<std::string>(r[first + 5]);
    u.disabled = r[first + 6].as<bool>();
    u.password_hash = r[first + 7].as<std::string>();
    u.totp_secret = opt_field<std::string>(r[first + 8]);
    u.totp_pending = opt_field<std::string>(r[first + 9]);
    u.totp_last_step = r[first + 10].as<std::int64_t>();
    for (const auto& code : nlohmann::json::parse(r[first + 11].as<std::string>()))
        u.recovery_codes.push_back(code.get<std::string>());
    u.failed_signins = r[first + 12].as<int>();
    u.locked_until = opt_field<util::micros>(r[first + 13]);
    u.created_at = r[first + 14].as<util::micros>();
    u.updated_at = r[first + 15].as<util::micros>();
    u.password_changed_at = r[first + 16].as<util::micros>();
    return u;
}
constexpr int kUserColumns = 17;

}  // namespace

net::awaitable<std::optional<std::int64_t>> people_repo::insert_user(user_record u) {
    return write(db_, [u = std::move(u)](pqxx::work& tx) -> std::optional<std::int64_t> {
        const auto rows = tx.exec_prepared(
            queries::insert_user.name,
            u.login,
            u.display_name,
            u.role,
            u.scope,
            nullable(u.contact),
            u.disabled,
            u.password_hash
        );
        if (rows.empty()) return std::nullopt;
        return rows[0][0].as<std::int64_t>();
    });
}

net::awaitable<std::vector<user_record>> people_repo::list_users() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return map_rows(tx, queries::list_users.name, [](const pqxx::row& r) { return user_from(r); });
    });
}

net::awaitable<std::optional<user_record>> people_repo::user(std::int64_t id) {
    return read(db_, [id](pqxx::read_transaction& tx) {
        return map_first(
            tx, queries::get_user.name, [](const pqxx::row& r) { return user_from(r); }, id
        );
    });
}

net::awaitable<std::optional<user_record>> people_repo::user_by_login(std::string login) {
    return read(db_, [login = std::move(login)](pqxx::read_transaction& tx) {
        return map_first(
            tx, queries::get_user_by_login.name, [](const pqxx::row& r) { return user_from(r); }, login
        );
    });
}

net::awaitable<bool> people_repo::update_user(user_record u, bool end_sessions) {
    return write(db_, [u = std::move(u), end_sessions](pqxx::work& tx) {
        const bool found = !tx.exec_prepared(
                                  queries::update_user.name,
                                  u.id,
                                  u.display_name,
                                  u.role,
                                  u.scope,
                                  nullable(u.contact),
                                  u.disabled,
                                  u.password_hash,
                                  nullable(u.totp_secret),
                                  nullable(u.totp_pending),
                                  u.totp_last_step,
                                  text_array(u.recovery_codes)
        )
                                .empty();
        if (found && end_sessions) tx.exec_prepared(queries::delete_sessions_of_user.name, u.id);
        return found;
    });
}

net::awaitable<bool> people_repo::delete_user(std::int64_t id) {
    return write(db_, [id](pqxx::work& tx) { return !tx.exec_prepared(queries::delete_user.name, id).empty(); });
}

net::awaitable<long> people_repo::count_city_admins() {
    return read(db_, [](pqxx::read_transaction& tx) {
        return tx.exec_prepared1(queries::count_admin_users.name)[0].as<long>();
    });
}

net::awaitable<void> people_repo::record_failure(std::int64_t id, int max_failures, int base_seconds, int max_seconds) {
    return write(db_, [=](pqxx::work& tx) {
        tx.exec_prepared(queries::record_signin_failure.name, id, max_failures, base_seconds, max_seconds);
    });
}

net::awaitable<void> people_repo::record_success(std::int64_t id) {
    return write(db_, [id](pqxx::work& tx) { tx.exec_prepared(queries::record_signin_success.name, id); });
}

net::awaitable<bool> people_repo::use_totp_step(std::int64_t id, std::int64_t step) {
    return write(db_, [id, step](pqxx::work& tx) {
        return !tx.exec_prepared(queries::use_totp_step.name, id, step).empty();
    });
}

net::awaitable<bool> people_repo::use_recovery_code(std::int64_t id, std::string code_hash) {
    return write(db_, [id, code_hash = std::move(code_hash)](pqxx::work& tx) {
        return !tx.exec_prepared(queries::use_recovery_code.name, id, code_hash).empty();
    });
}

net::awaitable<void> people_repo::insert_session(
    std::string token_hash, std::int64_t user_id, std::string csrf, std::string client, std::size_t max_per_user
) {
    return write(
        db_,
        [token_hash = std::move(token_hash), user_id, csrf = std::move(csrf), client = std::move(client), max_per_user](
            pqxx::work& tx
        ) {
            tx.exec_prepared(queries::insert_session.name, token_hash, user_id, csrf, client);
            tx.exec_prepared(queries::trim_sessions.name, user_id, static_cast<long long>(max_per_user));
        }
    );
}

net::awaitable<std::optional<session_record>> people_repo::find_session(
    std::string token_hash, int idle_seconds, int absolute_seconds
) {
    return read(db_, [token_hash = std::move(token_hash), idle_seconds, absolute_seconds](pqxx::read_transaction& tx) {
        return map_first(
            tx,
            queries::find_session.name,
            [](const pqxx::row& r) {
                return session_record{
                    user_from(r),
                    r[kUserColumns].as<std::string>(),
                    r[kUserColumns + 1].as<util::micros>(),
                    r[kUserColumns + 2].as<util::micros>()};
            },
            token_hash,
            idle_seconds,
            absolute_seconds
        );
    });
}

net::awaitable<void> people_repo::touch_session(std::string token_hash) {
    return write(db_, [token_hash = std::move(token_hash)](pqxx::work& tx) {
        tx.exec_prepared(queries::touch_session.name, token_hash);
    });
}

net::awaitable<std::optional<std::int64_t>> people_repo::delete_session(std::string token_hash) {
    return write(db_, [token_hash = std::move(token_hash)](pqxx::work& tx) -> std::optional<std::int64_t> {
        const auto rows = tx.exec_prepared(queries::delete_session.name, token_hash);
        if (rows.empty()) return std::nullopt;
        return rows[0][0].as<std::int64_t>();
    });
}

net::awaitable<long> people_repo::purge_sessions(int idle_seconds, int absolute_seconds) {
    return write(db_, [idle_seconds, absolute_seconds](pqxx::work& tx) {
        return static_cast<long>(
            tx.exec_prepared(queries::purge_sessions.name, idle_seconds, absolute_seconds).affected_rows()
        );
    });
}

net::awaitable<std::int64_t> audit_repo::append(audit_record r) {
    return write(db_, [r = std::move(r)](pqxx::work& tx) {
        return tx
            .exec_prepared1(
                queries::append_audit.name,
                r.actor,
                nullable(opt_param(r.user_id)),
                r.client,
                r.action,
                r.target,
                r.detail,
                r.status
            )[0]
            .as<std::int64_t>();
    });
}

net::awaitable<std::vector<audit_record>> audit_repo::list(audit_filter f) {
    return read(db_, [f = std::move(f)](pqxx::read_transaction& tx) {
        return map_rows(
            tx,
            queries::list_audit.name,
            [](const pqxx::row& r) {
                audit_record a;
                a.seq = r[0].as<std::int64_t>();
                a.at = r[1].as<util::micros>();
                a.actor = r[2].as<std::string>();
                a.user_id = opt_field<std::int64_t>(r[3]);
                a.client = r[4].as<std::string>();
                a.action = r[5].as<std::string>();
                a.target = r[6].as<std::string>();
                a.detail = r[7].as<std::string>();
                a.status = r[8].as<int>();
                a.hash = r[9].as<std::string>();
                return a;
            },
            nullable(opt_param(f.before_seq)),
            nullable(pg_opt_time(f.from)),
            nullable(pg_opt_time(f.to)),
            nullable(f.actor),
            nullable(f.action_prefix),
            nullable(f.target),
            static_cast<long long>(f.limit + 1)
        );
    });
}

net::awaitable<audit_verification> audit_repo::verify() {
    return read(db_, [](pqxx::read_transaction& tx) {
        const auto r = tx.exec_prepared1(queries::verify_audit.name);
        audit_verification v;
        v.rows = r[0].as<std::int64_t>();
        v.first_seq = opt_field<std::int64_t>(r[1]);
        v.last_seq = opt_field<std::int64_t>(r[2]);
        v.broken_at = opt_field<std::int64_t>(r[3]);
        v.head_seq = r[4].as<std::int64_t>();
        const auto newest = opt_field<std::string>(r[6]);
        v.head_matches = newest ? (*newest == r[5].as<std::string>() && v.last_seq == v.head_seq) : true;
        return v;
    });
}

net::awaitable<long> audit_repo::drop_before(util::micros cutoff) {
    return write(db_, [cutoff](pqxx::work& tx) {
        return tx.exec_prepared1(queries::drop_audit_before.name, pg_time(cutoff))[0].as<long>();
    });
}

}  // namespace cityguard::store
