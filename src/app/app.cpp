#include "cityguard/app/app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/api/routes.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/cluster/cluster_service.hpp"
#include "cityguard/cluster/readings_relay.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/history/history_service.hpp"
#include "cityguard/http/server.hpp"
#include "cityguard/ingest/ingest_service.hpp"
#include "cityguard/metrics/http_metrics.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notifications/dispatcher.hpp"
#include "cityguard/notifications/outbox_service.hpp"
#include "cityguard/notifications/silence_service.hpp"
#include "cityguard/notify/policy.hpp"
#include "cityguard/registry/nearby_service.hpp"
#include "cityguard/registry/registry_service.hpp"
#include "cityguard/rules/bundle.hpp"
#include "cityguard/rules/rule.hpp"
#include "cityguard/stats/stats_service.hpp"
#include "cityguard/storage/retention_service.hpp"
#include "cityguard/store/alarms_repo.hpp"
#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/store/migrations.hpp"
#include "cityguard/store/notifications_repo.hpp"
#include "cityguard/store/readings_repo.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/resources_repo.hpp"
#include "cityguard/store/silences_repo.hpp"
#include "cityguard/store/stats_repo.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/web/static_files.hpp"
#include "cityguard/writer/serial_writer.hpp"

namespace cityguard::app {

namespace net = boost::asio;

/// Every component, in dependency order: members are built top to bottom and destroyed in
/// reverse, so nothing outlives what it uses.
struct app::parts {
    static bool has_boundaries(const config::config& cfg) {
        return !cfg.web.boundaries_file.empty() && cfg.web.boundaries_file != "-";
    }

    parts(const config::config& cfg, std::vector<rules::rule> rules, notify::policy policy)
        : cfg(cfg),
          policy(std::move(policy)),
          ioc(cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
          work(net::make_work_guard(ioc)),
          db(cfg.db),
          read_db(cfg.db.read_url.empty() ? nullptr : std::make_unique<store::database>(replica_config(cfg.db))),
          keys_repo(db),
          registry_repo(db),
          resources_repo(db),
          stats_repo(db),
          stats_tables(read_db ? *read_db : db),
          readings_repo(db),
          history_readings(read_db ? *read_db : db),
          alarms_repo(db),
          notifications_repo(db),
          silences_repo(db),
          cluster_repo(db),
          event_log(db),
          writer_connection(cfg.db.url, cfg.db.statement_timeout_ms),
          keys(keys_repo, cfg.auth),
          registry(
              registry_repo,
              resources_repo,
              directory,
              [this](std::string_view name) { return this->policy.has_channel(name); }
          ),
          writer(writer_connection, cfg.ingest, cfg.writer),
          cluster(ioc, cluster_repo, writer, cfg.cluster, make_member_id(cfg)),
          ingest(directory, writer, cfg.ingest, cfg.http.json_max_depth),
          history(history_readings, directory, cfg.query),
          alarms(ioc, std::move(rules), directory, writer, alarms_repo, cfg.alarms, this->policy),
          nearby(resources_repo, cfg.resources, [this](std::string_view rule) { return alarms.responders_of(rule); }),
          stats(stats_repo, stats_tables, cfg.stats),
          retention(readings_repo, cfg.storage),
          parsing(static_cast<std::size_t>(cfg.http.parse_threads), cfg.http.max_queued_parses),
          outbox(notifications_repo, this->policy),
          silences(silences_repo, alarms, this->policy),
          notifier(ioc, notifications_repo, this->policy, cfg.notifications),
          services{
              keys,
              registry,
              ingest,
              history,
              alarms,
              [this] { return db.ping(); },
              parsing,
              cfg.http,
              outbox,
              silences,
              nearby,
              stats,
              retention,
              [this]() { return scrape(); },
              cfg.metrics,
              cluster,
              cfg.cluster},
          dispatcher(api::make_router(services), keys),
          http_metrics(route_labels(dispatcher)),
          feed(event_log, keys, directory, cfg.feed, cfg.http.json_max_depth),
          follower(
              cfg.db.url,
              cfg.db.statement_timeout_ms,
              cfg.feed.poll_ms,
              1000,
              [this](std::vector<store::logged_event> events) { feed.events().publish(std::move(events)); }
          ),
          relay(ioc, readings_repo, feed.events(), writer, cfg.feed.poll_ms),
          files(
              cfg.web.root,
              nlohmann::json{
                  {"tile_url", cfg.web.tile_url},
                  {"boundaries", has_boundaries(cfg) ? nlohmann::json("boundaries.geojson") : nlohmann::json(nullptr)}}
                  .dump(),
              {{"/boundaries.geojson", cfg.web.boundaries_file}}
          ),
          server(ioc, cfg, dispatcher, feed, files, http_metrics),
          signals(ioc, SIGINT, SIGTERM),
          reload_signal(ioc, SIGHUP),
          maintenance_timer(ioc),
          retention_timer(ioc) {}

    const config::config& cfg;
    const notify::policy policy;
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work;
    store::database db;
    std::unique_ptr<store::database> read_db;  // db.read_url: the replica for history and statistics
    store::keys_repo keys_repo;
    store::registry_repo registry_repo;
    store::resources_repo resources_repo;
    store::stats_repo stats_repo;
    store::stats_repo stats_tables;  // on the replica when db.read_url is set
    store::readings_repo readings_repo;
    store::readings_repo history_readings;  // on the replica when db.read_url is set
    store::alarms_repo alarms_repo;
    store::notifications_repo notifications_repo;
    store::silences_repo silences_repo;
    store::cluster_repo cluster_repo;
    store::event_log event_log;
    store::writer_connection writer_connection;
    auth::key_service keys;
    registry::sensor_directory directory;
    registry::registry_service registry;
    writer::serial_writer writer;
    cluster::cluster_service cluster;  // this instance among others on the database; forwards writes to the leader
    ingest::ingest_service ingest;
    history::history_service history;
    alarms::alarm_service alarms;
    registry::nearby_service nearby;
    stats::stats_service stats;
    storage::retention_service retention;
    util::worker_pool parsing;
    notifications::outbox_service outbox;
    notifications::silence_service silences;
    notifications::dispatcher notifier;  // delivers the outbox the writer fills
    api::services services;
    api::dispatcher dispatcher;
    metrics::http_metrics http_metrics;
    feed::feed_service feed;
    store::event_follower follower;  // hands every committed alarm event to the feed, in seq order
    cluster::readings_relay relay;   // a follower's live readings for its feed clients
    web::static_files files;
    http::server server;
    net::signal_set signals;
    net::signal_set reload_signal;
    net::steady_timer maintenance_timer;
    net::steady_timer retention_timer;
    metrics::registry measurements;
    bool restored_once = false;  // writer thread: the first lead restores, later ones take over
    const std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
    const double started_at_unix = static_cast<double>(util::now_micros()) / 1e6;

    static config::db_config replica_config(const config::db_config& primary) {
        auto replica = primary;
        replica.url = primary.read_url;
        return replica;
    }

    /// This instance among others: host, port and a random part, so that a restart is a new member.
    static std::string make_member_id(const config::config& cfg) {
        return net::ip::host_name() + ":" + std::to_string(cfg.listen_port) + "-" +
               util::generate_api_key().substr(3, 8);
    }

    /// How other instances reach this one: cluster.advertise_url, else the bound address (this
    /// machine's name when listening on every address).
    std::string advertise_url() const {
        if (!cfg.cluster.advertise_url.empty()) return cfg.cluster.advertise_url;
        std::string host = cfg.listen_host;
        if (host == "0.0.0.0" || host == "::" || host.empty()) host = net::ip::host_name();
        if (host.find(':') != std::string::npos) host = "[" + host + "]";
        std::string url = "http://" + host;
        url += ":";
        url += std::to_string(server.port());
        return url;
    }

    /// Runs on the writer thread when this instance wins the lead: what a leader keeps in memory
    /// comes from the database, as at a start. The first time it is the start's restore.
    void on_lead() {
        run_now(registry.load_directory());
        if (std::exchange(restored_once, true))
            run_now(alarms.take_over());
        else
            run_now(alarms.restore());
        run_now(silences.load());
        notifier.wake();
    }

    /// Registry, key and rule-pack changes made on any instance (sql/0016_cluster.sql), heard on
    /// the event follower's thread: the work is posted to the I/O threads.
    void on_change(const std::string& what) {
        const bool all = what == "reconnected";
        if (all || what == "keys" || what.starts_with("key-")) {
            keys.changed(what);
            net::co_spawn(ioc, keys.refresh(), net::detached);
        }
        if ((all || what == "registry") && !writer.leading())  // the leader reloads after its own writes
            net::co_spawn(ioc, reload_directory(), net::detached);
        if ((all || what == "rules") && !writer.leading()) net::post(ioc, [this] { reload_catalog(); });
    }

    net::awaitable<void> reload_directory() {
        try {
            co_await registry.load_directory();
        } catch (const std::exception& e) {
            spdlog::warn("cluster: sensor directory not reloaded after a change: {}", e.what());
        }
    }

    void reload_catalog() {
        try {
            alarms.reload_catalog();
        } catch (const std::exception& e) {
            spdlog::warn("cluster: rule packs changed on the leader but not here: {}", e.what());
        }
    }

    net::awaitable<void> announce_rules() {
        try {
            co_await cluster_repo.announce("rules");
        } catch (const std::exception& e) {
            spdlog::warn("cluster: could not tell the other instances about the rule reload: {}", e.what());
        }
    }

    static std::vector<metrics::http_metrics::route_label> route_labels(const api::dispatcher& d) {
        std::vector<metrics::http_metrics::route_label> out;
        for (const auto& r : d.routes()) out.push_back({r.method, r.pattern});
        return out;
    }

    /// GET /metrics: what the components count, and the open alarms from the database (left out,
    /// with cityguard_scrape_database_ok 0, when it does not answer).
    net::awaitable<std::string> scrape() {
        metrics::exposition out;
        std::optional<std::vector<store::alarms_repo::open_count>> open;
        try {
            open = co_await alarms_repo.open_counts();
        } catch (const std::exception& e) {
            spdlog::debug("metrics: open alarm counts unavailable: {}", e.what());
        }
        measurements.render(out);
        write_open_alarms(out, open);
        co_return out.take();
    }

    static void write_open_alarms(
        metrics::exposition& out, const std::optional<std::vector<store::alarms_repo::open_count>>& open
    ) {
        using t = metrics::exposition::type;
        out.single(
            "cityguard_scrape_database_ok",
            "1 when this scrape could count the open alarms in the database.",
            t::gauge,
            open ? 1 : 0
        );
        if (!open) return;
        out.family("cityguard_alarms_open", "Alarms not closed, by status, level and category.", t::gauge);
        for (const auto& c : *open) {
            const int level = std::atoi(c.level.c_str());
            const std::string level_name =
                level >= 1 && level <= 4 ? std::string(rules::to_string(static_cast<rules::level>(level))) : c.level;
            out.sample(
                "cityguard_alarms_open",
                {{"status", c.status}, {"level", level_name}, {"category", c.category}},
                static_cast<double>(c.count)
            );
        }
    }

    /// What every component counts, read at each scrape. Called once, before serving.
    void register_metrics() {
        using t = metrics::exposition::type;
        measurements.add([this](metrics::exposition& out) {
            out.family("cityguard_build_info", "The running version (always 1).", t::gauge);
            out.sample("cityguard_build_info", {{"version", CITYGUARD_VERSION}}, 1);
            metrics::write_process_metrics(
                out,
                started_at_unix,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count()
            );
        });
        measurements.add([this](metrics::exposition& out) {
            http_metrics.render(out);
            out.single(
                "cityguard_http_connections",
                "HTTP and feed connections open now.",
                t::gauge,
                static_cast<double>(server.connections())
            );
            out.single(
                "cityguard_http_body_bytes_in_flight",
                "Bytes of request bodies being read now (bounded by http.max_body_bytes_in_flight).",
                t::gauge,
                static_cast<double>(server.body_bytes_in_flight())
            );
        });
        measurements.add([this](metrics::exposition& out) { write_ingest_metrics(out); });
        measurements.add([this](metrics::exposition& out) { write_queue_metrics(out); });
        measurements.add([this](metrics::exposition& out) { write_alarm_and_feed_metrics(out); });
    }

    void write_ingest_metrics(metrics::exposition& out) const {
        using t = metrics::exposition::type;
        const auto& w = writer.measured();
        out.single(
            "cityguard_readings_stored_total",
            "Readings committed as new rows.",
            t::counter,
            static_cast<double>(w.readings_stored.value())
        );
        out.single(
            "cityguard_readings_duplicate_total",
            "Readings accepted that were already stored (a gateway's retry) or repeated within a batch.",
            t::counter,
            static_cast<double>(w.readings_duplicate.value())
        );
        out.family("cityguard_readings_rejected_total", "Readings refused one by one, by error code.", t::counter);
        for (const auto& [labels, n] : ingest.rejected().read())
            out.sample("cityguard_readings_rejected_total", {{"code", labels.at(0)}}, static_cast<double>(n));
        out.single(
            "cityguard_readings_refused_total",
            "Readings of requests answered 503 because the writer could not take or commit them.",
            t::counter,
            static_cast<double>(ingest.refused().value())
        );
        out.family("cityguard_writer_batch_rows", "Readings per group commit.", t::histogram);
        out.histogram_samples("cityguard_writer_batch_rows", {}, w.batch_rows.read());
        out.family(
            "cityguard_writer_commit_duration_seconds",
            "Time of one group commit: COPY, rule engine, alarm writes and COMMIT.",
            t::histogram
        );
        out.histogram_samples("cityguard_writer_commit_duration_seconds", {}, w.commit_seconds.read());
        out.single(
            "cityguard_writer_batches_failed_total",
            "Readings batches rolled back (every request in them got 503).",
            t::counter,
            static_cast<double>(w.batches_failed.value())
        );
        out.single(
            "cityguard_writer_tasks_total",
            "Alarm timer steps and operator actions run on the writer thread.",
            t::counter,
            static_cast<double>(w.tasks_run.value())
        );
    }

    void write_queue_metrics(metrics::exposition& out) const {
        using t = metrics::exposition::type;
        const auto pool = db.stats();
        struct queue {
            const char* name;
            std::size_t length, limit;
        };
        const queue queues[] = {
            {"db_pool", pool.queued, pool.max_queued},
            {"writer_rows", writer.pending_rows(), cfg.ingest.max_pending_rows},
            {"writer_tasks", writer.queued_tasks(), cfg.writer.max_queued_tasks},
            {"parsing", parsing.queued(), parsing.max_queued()},
        };
        out.family("cityguard_queue_length", "Work waiting or running in a bounded queue.", t::gauge);
        for (const auto& q : queues)
            out.sample("cityguard_queue_length", {{"queue", q.name}}, static_cast<double>(q.length));
        out.family("cityguard_queue_limit", "The bound of each queue; past it, requests get 503.", t::gauge);
        for (const auto& q : queues)
            out.sample("cityguard_queue_limit", {{"queue", q.name}}, static_cast<double>(q.limit));
        out.single(
            "cityguard_db_pool_connections",
            "Connections (and threads) of the query pool: db.pool_size.",
            t::gauge,
            static_cast<double>(pool.size)
        );
        out.single(
            "cityguard_db_pool_in_use",
            "Pool connections running a query now.",
            t::gauge,
            static_cast<double>(pool.in_use)
        );
        out.family("cityguard_db_errors_total", "Failed pool tasks, by kind.", t::counter);
        out.sample("cityguard_db_errors_total", {{"kind", "unavailable"}}, static_cast<double>(pool.unavailable));
        out.sample("cityguard_db_errors_total", {{"kind", "overloaded"}}, static_cast<double>(pool.overloaded));
        out.sample("cityguard_db_errors_total", {{"kind", "conflict"}}, static_cast<double>(pool.conflicts));
        out.sample("cityguard_db_errors_total", {{"kind", "other"}}, static_cast<double>(pool.other_errors));
    }

    void write_alarm_and_feed_metrics(metrics::exposition& out) {
        using t = metrics::exposition::type;
        out.family("cityguard_alarms_raised_total", "Alarms raised (committed), by level and domain.", t::counter);
        for (const auto& [labels, n] : alarms.raised().read())
            out.sample(
                "cityguard_alarms_raised_total",
                {{"level", labels.at(0)}, {"domain", labels.at(1)}},
                static_cast<double>(n)
            );
        out.family("cityguard_rule_evaluation_duration_seconds", "Rule engine time per readings batch.", t::histogram);
        out.histogram_samples("cityguard_rule_evaluation_duration_seconds", {}, alarms.evaluation_seconds().read());
        auto& f = feed.measured();
        const auto opened = f.opened.value(), ended = f.ended.value();
        out.single(
            "cityguard_feed_connections",
            "Live feed (WebSocket) connections open now.",
            t::gauge,
            static_cast<double>(opened >= ended ? opened - ended : 0)
        );
        out.single(
            "cityguard_feed_messages_sent_total",
            "Feed messages written whole to clients.",
            t::counter,
            static_cast<double>(f.messages_sent.value())
        );
        out.single(
            "cityguard_feed_slow_consumer_closes_total",
            "Feed connections closed with 4008: past feed.max_queued_messages or feed.max_queued_bytes.",
            t::counter,
            static_cast<double>(f.slow_consumer_closes.value())
        );
        out.family("cityguard_feed_closes_total", "Feed connections the server closed, by close code.", t::counter);
        for (const auto& [labels, n] : f.closes.read())
            out.sample("cityguard_feed_closes_total", {{"code", labels.at(0)}}, static_cast<double>(n));
        out.family(
            "cityguard_notification_attempts_total",
            "Notification delivery attempts by channel and outcome (delivered, retrying, failed: gave up).",
            t::counter
        );
        for (const auto& [labels, n] : notifier.attempts().read())
            out.sample(
                "cityguard_notification_attempts_total",
                {{"channel", labels.at(0)}, {"outcome", labels.at(1)}},
                static_cast<double>(n)
            );
        out.single(
            "cityguard_notifications_in_flight",
            "Notifications being delivered now.",
            t::gauge,
            static_cast<double>(notifier.in_flight())
        );
    }

    /// Runs a start-up coroutine on the I/O threads and waits for it here.
    template <class T>
    T run_now(net::awaitable<T> task) {
        return net::co_spawn(ioc, std::move(task), net::use_future).get();
    }

    /// SIGHUP reloads the rule packs, as POST /api/v1/rules/reload does (the log says how it went).
    net::awaitable<void> reload_on_sighup() {
        for (;;) {
            auto [ec, signo] = co_await reload_signal.async_wait(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            spdlog::info("signal {} received: reloading rule packs", signo);
            try {
                co_await alarms.reload();  // logs the summary, or why the old packs stay
            } catch (const std::exception&) {
            }
        }
    }

    /// Rolls up past days and drops what retention allows: 30 s after start, then every
    /// storage.maintenance_interval_s.
    net::awaitable<void> maintain_storage() {
        auto wait = std::chrono::seconds(std::min(30, cfg.storage.maintenance_interval_s));
        for (;;) {
            retention_timer.expires_after(wait);
            auto [ec] = co_await retention_timer.async_wait(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            wait = std::chrono::seconds(cfg.storage.maintenance_interval_s);
            if (!writer.leading()) continue;  // the leader maintains storage
            try {
                const auto report = co_await retention.run_once();
                if (report["rolled_days"] != 0 || !report["dropped"].empty())
                    spdlog::info("storage maintenance: {}", report.dump());
            } catch (const api_error& e) {
                spdlog::info("storage maintenance skipped: {}", e.what());  // a pass asked for by the API is running
            } catch (const std::exception& e) {
                spdlog::warn("storage maintenance failed, will retry: {}", e.what());
            }
        }
    }

    /// Keeps daily partitions ahead of time, hourly, so ingest never waits on DDL at midnight.
    net::awaitable<void> maintain_partitions() {
        for (;;) {
            maintenance_timer.expires_after(std::chrono::hours(1));
            auto [ec] = co_await maintenance_timer.async_wait(net::as_tuple(net::use_awaitable));
            if (ec) co_return;
            try {
                if (int n = co_await readings_repo.ensure_partitions(cfg.storage.partition_days_ahead))
                    spdlog::info("created {} readings partition(s)", n);
            } catch (const std::exception& e) {
                spdlog::warn("partition maintenance failed, will retry: {}", e.what());
            }
        }
    }
};

namespace {

/// The last line of defence: an exception that escapes a handler (one that no session boundary
/// caught) is logged and the thread goes on serving. A safety system that stops on one bad
/// client misses every alarm after it.
void run_io_thread(net::io_context& ioc) {
    for (;;) {
        try {
            ioc.run();
            return;
        } catch (const std::exception& e) {
            spdlog::error("I/O thread: exception escaped a handler, serving on: {}", e.what());
        } catch (...) {
            spdlog::error("I/O thread: unknown exception escaped a handler, serving on");
        }
    }
}

}  // namespace

app::app(config::config cfg) : cfg_(std::move(cfg)) {}

app::~app() { stop(); }

void app::start() {
    const auto& migrations =
        cfg_.migrations_dir.empty() ? store::embedded_migrations() : store::load_migrations(cfg_.migrations_dir);
    const auto applied = store::migrate(cfg_.db.url, migrations);
    spdlog::info("schema: {} migration(s) applied, {} known", applied.size(), migrations.size());
    store::ensure_partitions_around_today(cfg_.db.url, 1, cfg_.storage.partition_days_ahead);

    if (cfg_.rules_dir.empty())
        throw std::runtime_error("no rule packs found: set rules_dir in the config or pass --rules DIR");
    auto rule_set = rules::load_packs(cfg_.rules_dir);  // a bad pack stops start-up, naming file and rule
    spdlog::info("rule packs: {} rules from {}", rule_set.size(), cfg_.rules_dir);

    auto bundles = rules::load_bundles(cfg_.rules_dir, rule_set);
    if (cfg_.notifications_file.empty())
        throw std::runtime_error(
            "no notification file found: set notifications_file in the config or pass --notifications FILE"
        );
    auto policy = notify::load_policy_file(cfg_.notifications_file);  // a bad file stops start-up, naming the field
    spdlog::info("notifications: {} channel(s) from {}", policy.channels.size(), cfg_.notifications_file);
    parts_ = std::make_unique<parts>(cfg_, std::move(rule_set), std::move(policy));
    auto& p = *parts_;
    p.register_metrics();
    p.alarms.set_packs(cfg_.rules_dir, std::move(bundles));
    const int n = cfg_.threads > 0 ? cfg_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) threads_.emplace_back([&p] { run_io_thread(p.ioc); });

    try {
        p.run_now(p.stats.configure());
    } catch (const std::exception& e) {
        throw std::runtime_error(
            "config: stats.time_zone '" + cfg_.stats.time_zone + "' is not a time zone PostgreSQL knows: " + e.what()
        );
    }
    generated_admin_key_ = p.run_now(p.keys.bootstrap_admin());
    p.run_now(p.keys.load());
    if (!cfg_.registry_file.empty()) {
        std::ifstream in(cfg_.registry_file);
        if (!in) throw std::runtime_error("cannot read registry file " + cfg_.registry_file);
        std::stringstream text;
        text << in.rdbuf();
        auto doc = nlohmann::json::parse(text.str(), nullptr, false, true);
        if (doc.is_discarded()) throw std::runtime_error("registry file " + cfg_.registry_file + " is not valid JSON");
        try {
            auto counts = p.run_now(p.registry.bulk_upsert(doc));
            spdlog::info("registry file {} loaded: {}", cfg_.registry_file, counts.dump());
        } catch (const api_error& e) {
            throw std::runtime_error(
                "registry file " + cfg_.registry_file + " refused: " + e.what() + " " + e.details().dump()
            );
        }
    }
    p.run_now(p.registry.load_directory());
    p.writer.observe(&p.alarms);
    p.alarms.on_outbox([&notifier = p.notifier] { notifier.wake(); });
    p.writer.on_committed([&hub = p.feed.events()](const auto& rows, const auto& inserted) {
        if (hub.wants_readings()) hub.publish_readings(rows, inserted);
    });
    p.follower.on_change([&p](const std::string& what) { p.on_change(what); });
    p.follower.start();
    p.alarms.on_reloaded([&p] { net::co_spawn(p.ioc, p.announce_rules(), net::detached); });
    p.notifier.only_while([&w = p.writer] { return w.leading(); });
    p.dispatcher.forward_writes(api::make_forwarding(p.services));
    if (p.files.enabled())
        spdlog::info("dashboard: {} file(s) from {}", p.files.size(), cfg_.web.root);
    else
        spdlog::info("dashboard: off (no web.root)");
    writer::leadership lead;
    lead.member_id = p.cluster.member_id();
    lead.poll_ms = cfg_.cluster.poll_ms;
    lead.on_lead = [&p] { p.on_lead(); };
    p.writer.lead_with(std::move(lead));
    p.writer.start();
    // A lone instance restarted after SIGKILL may find its old session's lock not yet released
    // (PostgreSQL ends that backend a moment later): it bids again for up to two polls before it
    // settles as a follower, so that it listens knowing who takes writes.
    for (const auto until = std::chrono::steady_clock::now() + 2 * std::chrono::milliseconds(cfg_.cluster.poll_ms);
         !p.run_now(p.cluster.learn_leader()) && std::chrono::steady_clock::now() < until;) {
        p.writer.bid_soon();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    p.server.start();
    // Registered once listening: the others forward to the bound address.
    p.cluster.start(p.advertise_url());
    p.run_now(p.cluster.register_now());
    spdlog::info(
        "cluster: instance {} at {} {}",
        p.cluster.member_id(),
        p.advertise_url(),
        p.writer.leading() ? "leads" : "follows (another instance leads)"
    );
    p.alarms.start();
    p.notifier.start();
    p.relay.start();
    net::co_spawn(p.ioc, p.maintain_partitions(), net::detached);
    net::co_spawn(p.ioc, p.maintain_storage(), net::detached);
    net::co_spawn(p.ioc, p.reload_on_sighup(), net::detached);
    p.signals.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        spdlog::info("signal {} received: shutting down", signo);
        request_stop();
    });
    spdlog::info(
        "cityguard {} listening on http://{}:{} with {} I/O thread(s)",
        CITYGUARD_VERSION,
        cfg_.listen_host,
        p.server.port(),
        n
    );
}

std::uint16_t app::port() const { return parts_ ? parts_->server.port() : 0; }

void app::request_stop() {
    {
        std::lock_guard lock(mutex_);
        stop_flag_ = true;
    }
    stop_requested_.notify_all();
}

void app::wait_for_signal() {
    std::unique_lock lock(mutex_);
    stop_requested_.wait(lock, [this] { return stop_flag_; });
    lock.unlock();
    stop();
}

void app::stop() {
    if (stopped_ || !parts_) return;
    stopped_ = true;
    auto& p = *parts_;
    p.server.stop();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.http.shutdown_timeout_ms);
    while (p.server.connections() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (p.server.connections() > 0)
        spdlog::warn(
            "{} connection(s) still open after http.shutdown_timeout_ms; closing them", p.server.connections()
        );
    // Deliveries under way finish (each is bounded by its channel's timeout) or stay pending in
    // the outbox for the next start, with the same idempotency key.
    p.notifier.stop();
    while (p.notifier.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Every request that got an answer was committed before it; whatever is still queued is
    // committed now, before the process goes.
    p.alarms.stop();
    p.writer.stop();
    p.writer_connection.resign();  // the lead is free now: another instance takes over within cluster.poll_ms
    p.cluster.stop();
    p.relay.stop();
    p.follower.stop();
    boost::system::error_code ignored;
    p.signals.cancel(ignored);
    p.reload_signal.cancel(ignored);
    p.maintenance_timer.cancel();
    p.retention_timer.cancel();
    p.work.reset();
    p.ioc.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    p.db.stop();
    if (p.read_db) p.read_db->stop();
    spdlog::info("cityguard stopped");
}

}  // namespace cityguard::app
