#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cityguard/alarm_model/engine.hpp"
#include "cityguard/alarms/alarm_transaction.hpp"
#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/rules/bundle.hpp"
#include "cityguard/rules/packs.hpp"
#include "cityguard/store/alarms_repo.hpp"
#include "cityguard/util/worker_pool.hpp"
#include "cityguard/writer/serial_writer.hpp"

/// Alarm evaluation and handling, wired to the rest of the server: the rule engine runs inside
/// every readings batch (as the writer's batch observer), the offline and expiry timers and
/// the operators' actions run on the same writer thread, so all alarm changes are serialised
/// and each one commits with its cause. alarm_service schedules that work and answers the
/// queries; alarm_transaction owns each change from staging to commit.
namespace cityguard::alarms {

/// Filters of GET /api/v1/alarms as given in the query string.
struct list_query {
    std::optional<std::string> status, level, domain, site, sensor, rule, category, from, to, limit, cursor, inhibited;
    store::place_filter scope;  ///< the caller's part of the city
};

/// GET /api/v1/coverage's query string.
struct coverage_query {
    std::optional<std::string> limit, cursor;
    bool unmet_only = false;  ///< only sites with a required item no working sensor watches
};

class alarm_service final : public writer::batch_observer {
  public:
    alarm_service(
        boost::asio::io_context& ioc,
        std::vector<rules::rule> rules,
        const registry::sensor_directory& directory,
        rules::domain_book& domains,
        writer::serial_writer& writer,
        store::alarms_repo& repo,
        const config::alarms_config& cfg,
        const notification_model::policy& policy
    );

    /// The silences in force and to come (start-up, taking the lead); the writer hands them to
    /// the escalation before the next change it writes. Any thread.
    void set_silences(std::vector<notification_model::silence> silences);
    /// A silence created or ended early (same id, new end). Returns once the writer holds it:
    /// every reading committed after that is matched against it, so a silence holds from the
    /// answer to its request. A follower (not leading) only records it for the next lead.
    boost::asio::awaitable<void> put_silence(notification_model::silence s);

    /// Called on the writer thread after a commit that added outbox rows (wakes the dispatcher).
    void on_outbox(std::function<void()> wake) { transaction_.on_outbox(std::move(wake)); }
    /// Called after rule packs were reloaded here (other instances re-read theirs). Call before serving.
    void on_reloaded(std::function<void()> tell) { reloaded_ = std::move(tell); }

    /// Loads open alarms, rule states and the latest reading of every sensor into the engine.
    /// Call once, before the writer starts.
    boost::asio::awaitable<void> restore();
    /// This instance has just become the leader after another instance led (docs/scaling.md):
    /// forgets what it held in memory and restores it from the database, with the packs now on
    /// disk, exactly as a start does. Call with the writer thread waiting for it.
    boost::asio::awaitable<void> take_over();
    /// Rule packs changed on the leader: re-read them for GET /rules and /bundles here (a
    /// follower's engine is rebuilt when it takes over). Throws what a bad pack throws.
    void reload_catalog();
    /// Starts the timer for offline detection and event expiry.
    void start();
    void stop();

    // batch_observer: writer thread.
    void before_commit(
        store::transaction_scope& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
    ) override;
    void while_copying(const std::vector<rules::reading>& rows) override;
    void after_commit() override;
    void after_abort() override;

    /// One timer step (also callable from tests): runs on the writer thread and waits for it.
    boost::asio::awaitable<void> tick();

    // API. Throw api_error (not_found, bad_request, conflict "invalid_transition", forbidden).
    boost::asio::awaitable<nlohmann::json> list(list_query q);
    boost::asio::awaitable<nlohmann::json> get(std::int64_t id);
    boost::asio::awaitable<nlohmann::json> act(std::int64_t id, alarm_model::action_request req);
    boost::asio::awaitable<nlohmann::json> overview(store::place_filter scope = {});
    /// Who and what an alarm of the rule wants on site (its `responders`, or its pack's);
    /// empty for an unknown rule.
    rules::responders responders_of(std::string_view rule_id) const;
    /// GET /api/v1/rules, rendered: {"rules": [definitions]}.
    std::string rules_body() const;

    /// Where the packs were read from, their bundles ("8+8", "5+1", "4+X") and domains. Set once
    /// by the composition root, before start.
    void set_packs(std::string dir, std::vector<rules::bundle> bundles, rules::domain_catalog domains);
    /// GET /api/v1/bundles, rendered: {"bundles": [...]}.
    std::string bundles_body() const;
    /// GET /api/v1/domains, rendered: {"domains": [...]}.
    std::string domains_body() const;
    /// POST /api/v1/rules/reload and SIGHUP: reads and checks the packs again; if any check
    /// fails nothing changes and the error names file, rule and reason (validation_failed).
    /// Otherwise the engine takes the new rules on the writer thread, between batches, keeping
    /// the state of the rules that did not change. Answers what changed.
    boost::asio::awaitable<nlohmann::json> reload();
    /// Reloads the packs each time `signals` fires (SIGHUP), as POST /api/v1/rules/reload does;
    /// the log says how it went. Ends when the signal set is cancelled.
    boost::asio::awaitable<void> reload_on(boost::asio::signal_set& signals);
    /// POST /api/v1/rules/replay: a rule or pack run by a fresh engine over stored readings, in
    /// reading time; writes nothing and leaves the live engine alone (src/alarms/replay.cpp).
    boost::asio::awaitable<nlohmann::json> replay(nlohmann::json request);

    /// A site's coverage of its domain's bundle. `site` and `sensors` as the registry lists them.
    boost::asio::awaitable<nlohmann::json> coverage(nlohmann::json site, nlohmann::json sensors);
    /// The duty overview (GET /api/v1/coverage): one page of the sites in `sites` (as the
    /// registry lists them, already narrowed to the caller's scope) whose domain has a bundle,
    /// by site id after `q.cursor`, each with its coverage summary; sensors from the directory.
    boost::asio::awaitable<nlohmann::json> coverage_list(nlohmann::json sites, coverage_query q);

    /// For /metrics: alarms raised by level and domain (committed), and the rule engine's time
    /// per readings batch.
    const metrics::labeled_counter& raised() const noexcept { return raised_; }
    const metrics::histogram& evaluation_seconds() const noexcept { return evaluation_seconds_; }

  private:
    /// Starts the alarm transaction and lets the engine judge the batch's rows (writer thread).
    alarm_model::changes judge(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted);
    template <class T>
    boost::asio::awaitable<T> on_writer(std::function<T(store::writer_connection&)> fn, writer::task_lane lane);
    const alarm_model::sensor_facts* facts(std::int32_t key);
    void refresh_facts();
    /// Feeds stored readings (sensor key, ts, value; by sensor then time) into the rules' windows.
    void restore_history(const std::vector<std::tuple<std::int32_t, util::micros, double>>& rows);
    boost::asio::awaitable<void> timer_loop();

    boost::asio::io_context& ioc_;
    alarm_model::engine engine_;                                     // writer thread only (after restore)
    notification_model::escalation escalation_;                      // writer thread only (after restore)
    std::unordered_map<std::string, std::string> district_of_site_;  // writer thread: from the directory
    metrics::labeled_counter raised_;
    metrics::histogram evaluation_seconds_{metrics::latency_buckets()};
    alarm_transaction transaction_{engine_, escalation_, raised_};  // every change of the two above
    std::function<void()> reloaded_;
    const registry::sensor_directory& directory_;
    rules::domain_book& domains_;
    writer::serial_writer& writer_;
    store::alarms_repo& repo_;
    const config::alarms_config& cfg_;
    const notification_model::policy& policy_;
    /// What GET /rules and /bundles show: replaced whole by a reload, read from any thread.
    /// Rendered once per (re)load: GET /rules and /bundles are read often and change rarely.
    struct catalog {
        std::string rules_body;
        std::string bundles_body;
        std::string domains_body;
        std::vector<rules::bundle> bundles;
        std::map<std::string, rules::responders, std::less<>> responders;  ///< by rule id, when it has any
    };
    std::shared_ptr<const catalog> current_catalog() const;
    /// Also hands `domains` to the domain book every service reads (nullopt: keep the book's).
    void publish_catalog(
        const std::vector<rules::rule>& rule_list,
        std::vector<rules::bundle> bundles,
        std::optional<rules::domain_catalog> domains = std::nullopt
    );
    mutable std::mutex catalog_mutex_;
    std::shared_ptr<const catalog> catalog_;
    std::string packs_dir_;
    /// One replay at a time, on its own thread: never on an I/O thread nor the writer.
    util::worker_pool replay_pool_{1, 1, "a replay is running; retry when it has finished"};
    std::atomic<bool> replaying_{false};  // the one replay's slot, taken before it reads anything

    // Writer thread only: sensor facts, rebuilt when the directory snapshot changes.
    std::shared_ptr<const registry::sensor_directory::snapshot_t> facts_of_;
    std::unordered_map<std::int32_t, alarm_model::sensor_facts> facts_;
    std::uint64_t facts_generation_ = 0;
    /// What the engine judged from a batch's rows while they were being copied, as if all were
    /// new (while_copying); taken by before_commit when they were.
    std::optional<alarm_model::changes> judged_while_copying_;

    boost::asio::steady_timer timer_;
    std::atomic<bool> stopping_{false};
};

}  // namespace cityguard::alarms
