#include "cityguard/alarms/alarm_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <utility>

#include "cityguard/alarm_model/coverage.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::alarms {

namespace net = boost::asio;
using json = nlohmann::json;

alarm_service::alarm_service(
    net::io_context& ioc,
    std::vector<rules::rule> rules,
    const registry::sensor_directory& directory,
    rules::domain_book& domains,
    writer::serial_writer& writer,
    store::alarms_repo& repo,
    const config::alarms_config& cfg,
    const notification_model::policy& policy
)
    : ioc_(ioc),
      engine_(std::move(rules), util::now_micros()),
      escalation_(
          policy,
          [this](const std::string& site) {
              auto it = district_of_site_.find(site);
              return it == district_of_site_.end() ? std::string() : it->second;
          }
      ),
      directory_(directory),
      domains_(domains),
      writer_(writer),
      repo_(repo),
      cfg_(cfg),
      policy_(policy),
      timer_(ioc) {
    publish_catalog(engine_.rules(), {});  // the rules at once; the bundles when set_packs() gives them
}

void alarm_service::refresh_facts() {
    auto snap = directory_.snapshot();
    if (snap == facts_of_) return;
    // A new directory version: every sensor gets a new version number, so cached levels follow.
    ++facts_generation_;
    facts_.clear();
    facts_.reserve(snap->by_id.size());
    district_of_site_.clear();
    for (const auto& [id, e] : snap->by_id) district_of_site_.emplace(e.site, e.district);
    for (const auto& [id, e] : snap->by_id)
        facts_.emplace(
            e.key,
            alarm_model::sensor_facts{
                e.id,
                e.key,
                e.site,
                e.domain,
                e.kind,
                e.interval_s,
                e.limits,
                facts_generation_,
                e.lat,
                e.lon,
                e.groups}
        );
    facts_of_ = std::move(snap);
}

const alarm_model::sensor_facts* alarm_service::facts(std::int32_t key) {
    auto it = facts_.find(key);
    return it == facts_.end() ? nullptr : &it->second;
}

net::awaitable<void> alarm_service::restore() {
    refresh_facts();
    auto by_id = [&](const std::string& id) -> const alarm_model::sensor_facts* {
        const auto* e = facts_of_->find(std::string_view(id));
        return e ? facts(e->key) : nullptr;
    };
    const auto open = co_await repo_.not_closed();
    for (const auto& r : open) {
        if (r.sensor.empty())
            engine_.restore_site_alarm(r);  // a compound's: it belongs to its site
        else if (const auto* s = by_id(r.sensor))
            engine_.restore_alarm(r, *s);
    }
    for (const auto& r : open) {
        const auto& n = r.notification;
        notification_model::deadline_state st;
        st.ack_due = n.ack_due;
        st.dispose_due = n.dispose_due;
        st.told = n.told;
        st.suppressed = n.suppressed;
        st.raise_pending = n.raise_pending;
        st.silence = n.silence;
        escalation_.restore(r, st);
    }
    const auto states = co_await repo_.rule_states();
    const std::string site_prefix = alarm_model::engine::site_subject("");
    for (const auto& st : states) {
        if (st.sensor.starts_with(site_prefix))
            engine_.restore_site_state(st.rule, st.sensor.substr(site_prefix.size()), st.state);
        else if (const auto* s = by_id(st.sensor))
            engine_.restore_state(st.rule, *s, st.state);
    }
    const auto latest = co_await repo_.latest_readings();
    std::vector<store::alarms_repo::history_request> wanted;
    for (const auto& [id, ts, value] : latest) {
        const auto* s = by_id(id);
        if (!s) continue;
        engine_.restore_last_reading(*s, ts, value);
        // Rate windows refilled from stored readings: without them the first rate after a
        // restart would wait half a window, and an alarm could come that much late.
        if (const auto need = engine_.history_needed(*s); need.span > 0)
            wanted.push_back({s->key, ts - need.span, need.step});
    }
    const auto history = co_await repo_.recent_readings(std::move(wanted));
    restore_history(history);
    spdlog::info(
        "rule engine: {} rules, {} open alarms, {} rule states, {} readings of rule windows restored",
        engine_.rules().size(),
        open.size(),
        states.size(),
        history.size()
    );
}

net::awaitable<void> alarm_service::take_over() {
    std::optional<rules::pack_set> next;
    try {
        next = rules::load_pack_set(packs_dir_);
    } catch (const std::exception& e) {
        spdlog::warn("rule packs on disk refused at takeover, the loaded ones stay: {}", e.what());
    }
    transaction_.rollback();
    engine_ = alarm_model::engine(next ? std::move(next->rules) : engine_.rules(), util::now_micros());
    if (next) publish_catalog(engine_.rules(), std::move(next->bundles), std::move(next->domains));
    escalation_ = notification_model::escalation(policy_, [this](const std::string& site) {
        auto it = district_of_site_.find(site);
        return it == district_of_site_.end() ? std::string() : it->second;
    });
    facts_of_.reset();
    facts_.clear();
    co_await restore();
}

void alarm_service::restore_history(const std::vector<std::tuple<std::int32_t, util::micros, double>>& rows) {
    std::vector<std::pair<util::micros, double>> of_sensor;
    for (std::size_t i = 0; i < rows.size();) {
        const std::int32_t key = std::get<0>(rows[i]);
        of_sensor.clear();
        for (; i < rows.size() && std::get<0>(rows[i]) == key; ++i)
            of_sensor.emplace_back(std::get<1>(rows[i]), std::get<2>(rows[i]));
        if (const auto* s = facts(key)) engine_.restore_history(*s, of_sensor);
    }
}

void alarm_service::start() { net::co_spawn(ioc_, timer_loop(), net::detached); }

void alarm_service::stop() {
    stopping_ = true;
    net::post(ioc_, [this] { timer_.cancel(); });
}

net::awaitable<void> alarm_service::timer_loop() {
    while (!stopping_) {
        timer_.expires_after(std::chrono::milliseconds(cfg_.tick_ms));
        auto [ec] = co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
        if (ec || stopping_) co_return;
        if (!writer_.leading()) continue;  // the leader's timer runs deadlines and offline checks
        try {
            co_await tick();
        } catch (const std::exception& e) {
            spdlog::warn("alarm timer step failed, will retry: {}", e.what());
        }
    }
}

void alarm_service::set_silences(std::vector<notification_model::silence> silences) {
    transaction_.set_silences(std::move(silences));
}

net::awaitable<void> alarm_service::put_silence(notification_model::silence s) {
    transaction_.put_silence(std::move(s));
    // A writer task runs between batches, ahead of readings still waiting for theirs: every batch
    // after it (those waiting included) matches the silence, and every batch before it committed
    // before the caller answers.
    std::function<bool(store::writer_connection&)> step = [this](store::writer_connection&) {
        transaction_.apply_silences();
        return true;
    };
    try {
        co_await on_writer<bool>(std::move(step), writer::task_lane::before_readings);
    } catch (const api_error&) {
        // Not leading (or stopping): the silence is stored; the instance that leads next loads it.
    }
}

// The engine judges the rows while PostgreSQL copies them: the two largest steps of a batch
// overlap. Every row is taken as new, which is what a plain COPY that succeeds means.
void alarm_service::while_copying(const std::vector<rules::reading>& rows) {
    judged_while_copying_ = judge(rows, std::vector<bool>(rows.size(), true));
}

void alarm_service::before_commit(
    store::transaction_scope& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
) {
    auto ahead = std::exchange(judged_while_copying_, std::nullopt);
    const bool all_new = std::find(inserted.begin(), inserted.end(), false) == inserted.end();
    // Some rows were stored already (a retry): begin() in judge() forgets what was staged for
    // them, and they are judged again with what is new.
    auto ch = ahead && all_new ? std::move(*ahead) : judge(rows, inserted);
    transaction_.write(tx, std::move(ch));
}

alarm_model::changes alarm_service::judge(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted) {
    transaction_.begin();
    refresh_facts();
    const auto started = std::chrono::steady_clock::now();
    auto ch = engine_.evaluate(
        rows, inserted, [this](std::int32_t key) { return facts(key); }, util::now_micros()
    );
    evaluation_seconds_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return ch;
}

void alarm_service::after_commit() { transaction_.commit(); }
void alarm_service::after_abort() {
    judged_while_copying_.reset();
    transaction_.rollback();
}

// Not a coroutine on purpose: GCC 12 mishandles a coroutine that moves from its own by-value
// parameter (both copies end up owning it). A plain function returning the awaitable has no
// coroutine frame, so `fn` moves once, into the task.
template <class T>
net::awaitable<T> alarm_service::on_writer(std::function<T(store::writer_connection&)> fn, writer::task_lane lane) {
    return net::async_initiate<decltype(net::use_awaitable), void(std::exception_ptr, T)>(
        [this, lane](auto handler, std::function<T(store::writer_connection&)> work) {
            auto ex = net::any_io_executor(net::get_associated_executor(handler));
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto deliver = [ex, shared](std::exception_ptr e, T value) {
                net::post(ex, [shared, e, value = std::move(value)]() mutable {
                    std::move (*shared)(e, std::move(value));
                });
            };
            const auto queued = writer_.post(
                [work = std::move(work), deliver](store::writer_connection& c) mutable {
                    try {
                        deliver(nullptr, work(c));
                    } catch (...) {
                        deliver(std::current_exception(), T{});
                    }
                },
                lane
            );
            if (queued == writer::post_result::full)
                deliver(
                    std::make_exception_ptr(
                        api_error(errc::overloaded, "the alarm writer is busy (writer.max_queued_tasks); retry later")
                    ),
                    T{}
                );
            else if (queued == writer::post_result::stopped)
                deliver(std::make_exception_ptr(api_error(errc::unavailable, "server is shutting down")), T{});
            else if (queued == writer::post_result::not_leading)
                deliver(
                    std::make_exception_ptr(
                        api_error(errc::unavailable, "this instance does not lead at the moment; retry")
                    ),
                    T{}
                );
        },
        net::use_awaitable,
        std::move(fn)
    );
}

net::awaitable<void> alarm_service::tick() {
    // Named, not a temporary inside co_await: GCC 12 destroys such temporaries twice.
    std::function<bool(store::writer_connection&)> step = [this](store::writer_connection& connection) {
        refresh_facts();
        std::vector<const alarm_model::sensor_facts*> all;
        all.reserve(facts_.size());
        for (const auto& [key, f] : facts_) all.push_back(&f);
        const auto now = util::now_micros();
        transaction_.begin();
        auto ch = engine_.tick(all, now);
        auto due = escalation_.tick(now);
        transaction_.run(connection, std::move(ch), std::move(due));
        return true;
    };
    co_await on_writer<bool>(std::move(step), writer::task_lane::with_readings);
}

net::awaitable<json> alarm_service::act(std::int64_t id, alarm_model::action_request req) {
    using result_t = std::variant<alarm_model::alarm, alarm_model::refusal, bool>;  // bool: not open here
    std::function<result_t(store::writer_connection&)> step = [this, id, req](store::writer_connection& connection
                                                              ) -> result_t {
        transaction_.begin();
        auto outcome = engine_.act(id, req, util::now_micros());
        if (auto* ch = std::get_if<alarm_model::changes>(&outcome)) {
            auto after = ch->alarms.front().after;
            transaction_.run(connection, std::move(*ch));
            return after;
        }
        if (auto* no = std::get_if<alarm_model::refusal>(&outcome)) return *no;
        return false;
    };
    auto result = co_await on_writer<result_t>(std::move(step), writer::task_lane::before_readings);
    if (auto* no = std::get_if<alarm_model::refusal>(&result)) throw api_error(no->code, no->message);
    if (std::holds_alternative<bool>(result)) {
        auto stored = co_await repo_.get(id);
        if (!stored) throw api_error(errc::not_found, "no alarm " + std::to_string(id));
        throw api_error(errc::invalid_transition, "the alarm is closed already");
    }
    co_return alarm_model::to_json(std::get<alarm_model::alarm>(result));
}

net::awaitable<json> alarm_service::reload() {
    // The result: the summary, or why the packs were refused (nothing changed then).
    using result_t = std::variant<json, std::string>;
    std::function<result_t(store::writer_connection&)> step = [this](store::writer_connection& connection) -> result_t {
        rules::pack_set next;
        try {
            next = rules::load_pack_set(packs_dir_);
        } catch (const std::exception& e) {  // pack_error, or a file that cannot be read
            return std::string(e.what());
        }
        transaction_.begin();  // the engine to be replaced has nothing staged
        engine_ = alarm_model::engine(std::move(next.rules), std::move(engine_));
        const auto& summary = engine_.last_reload();
        const auto live = std::count_if(engine_.rules().begin(), engine_.rules().end(), [](const rules::rule& r) {
            return !r.retired;
        });
        json out{
            {"rules", live},
            {"added", summary.added},
            {"changed", summary.changed},
            {"removed", summary.removed},
            {"unchanged", summary.unchanged}};
        publish_catalog(engine_.rules(), std::move(next.bundles), std::move(next.domains));
        try {
            transaction_.run(connection, engine_.retire_removed(util::now_micros()));
        } catch (const std::exception& e) {
            // The new rules are live; the removed rules' alarms keep their condition until the
            // next reload marks them.
            out["warning"] = std::string("could not mark the alarms of removed rules: ") + e.what();
        }
        return out;
    };
    auto result = co_await on_writer<result_t>(std::move(step), writer::task_lane::before_readings);
    if (auto* refused = std::get_if<std::string>(&result)) {
        spdlog::warn("rule packs not reloaded, the old ones stay: {}", *refused);
        throw api_error(errc::validation_failed, "rule packs not reloaded, the old ones stay: " + *refused);
    }
    auto& summary = std::get<json>(result);
    spdlog::info("rule packs reloaded from {}: {}", packs_dir_, summary.dump());
    if (reloaded_) reloaded_();
    co_return std::move(summary);
}

net::awaitable<void> alarm_service::reload_on(net::signal_set& signals) {
    for (;;) {
        auto [ec, signo] = co_await signals.async_wait(net::as_tuple(net::use_awaitable));
        if (ec) co_return;
        spdlog::info("signal {} received: reloading rule packs", signo);
        try {
            co_await reload();  // logs the summary, or why the old packs stay
        } catch (const std::exception&) {
        }
    }
}

}  // namespace cityguard::alarms
