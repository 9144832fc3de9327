#include "cityguard/app/app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "cityguard/rules/bundle.hpp"
#include "cityguard/store/migrations.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "parts.hpp"

namespace cityguard::app {

namespace net = boost::asio;

namespace {

int io_threads(const config::config& cfg) {
    return cfg.threads > 0 ? cfg.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

/// This instance among others: host, port and a random part, so that a restart is a new member.
std::string make_member_id(const config::config& cfg) {
    return net::ip::host_name() + ":" + std::to_string(cfg.listen_port) + "-" + util::generate_api_key().substr(3, 8);
}

}  // namespace

app::parts::parts(const config::config& cfg, rules::pack_set packs, notification_model::policy policy)
    : cfg(cfg),
      ioc(io_threads(cfg)),
      work(net::make_work_guard(ioc)),
      c(cfg,
        ioc,
        wiring{
            std::move(packs.rules),
            packs.domains,
            std::move(policy),
            make_member_id(cfg),
            [this] { return scrape(); },
            {}}),
      notifier(ioc, c.notifications_repo, c.policy, cfg.notifications),
      handover(ioc, c.writer, c.registry, c.alarms, c.silences, c.keys, c.cluster_repo, [this] { notifier.wake(); }),
      follower(
          cfg.db.url,
          cfg.db.statement_timeout_ms,
          cfg.feed.poll_ms,
          1000,
          [this](std::vector<store::logged_event> events) { c.feed.events().publish(std::move(events)); }
      ),
      relay(ioc, c.readings_repo, c.feed.events(), c.writer, cfg.feed.poll_ms),
      signals(ioc, SIGINT, SIGTERM),
      reload_signal(ioc, SIGHUP) {}

std::string app::parts::advertise_url() const {
    if (!cfg.cluster.advertise_url.empty()) return cfg.cluster.advertise_url;
    std::string host = cfg.listen_host;
    if (host == "0.0.0.0" || host == "::" || host.empty()) host = net::ip::host_name();
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(c.server.port());
}

// --registry FILE: loaded through the same checks as POST /api/v1/registry; a refused document
// stops start-up with the items named.
void app::parts::load_registry_file() {
    if (!cfg.registry_file.empty()) {
        std::ifstream in(cfg.registry_file);
        if (!in) throw std::runtime_error("cannot read registry file " + cfg.registry_file);
        std::stringstream text;
        text << in.rdbuf();
        auto doc = nlohmann::json::parse(text.str(), nullptr, false, true);
        if (doc.is_discarded()) throw std::runtime_error("registry file " + cfg.registry_file + " is not valid JSON");
        try {
            auto counts = run_now(c.registry.bulk_upsert(doc));
            spdlog::info("registry file {} loaded: {}", cfg.registry_file, counts.dump());
        } catch (const api_error& e) {
            throw std::runtime_error(
                "registry file " + cfg.registry_file + " refused: " + e.what() + " " + e.details().dump()
            );
        }
    }
}

// Who tells whom: the engine observes every batch, the outbox wakes on commits that added rows,
// the feed hears committed readings and events, the hand-over hears other instances' changes.
void app::parts::wire() {
    c.writer.observe(&c.alarms);
    c.alarms.on_outbox([this] { notifier.wake(); });
    c.writer.on_committed([&hub = c.feed.events()](const auto& rows, const auto& inserted) {
        if (hub.wants_readings()) hub.publish_readings(rows, inserted);
    });
    follower.on_change([this](const std::string& what) { handover.on_change(what); });
    follower.start();
    c.alarms.on_reloaded([this] { net::co_spawn(ioc, handover.announce_rules(), net::detached); });
    notifier.only_while([&w = c.writer] { return w.leading(); });
    c.dispatcher.forward_writes(api::make_forwarding(c.services));
    c.dispatcher.use_people(&c.people, &c.audit);
    c.feed.use_people(&c.people);
    c.retention.also_run("sessions ended", [this] { return c.people.purge_sessions(); });
    c.retention.also_run("months of the audit trail dropped", [this] { return c.audit.drop_expired(); });
    if (c.files.enabled())
        spdlog::info("dashboard: {} file(s) from {}", c.files.size(), cfg.web.root);
    else
        spdlog::info("dashboard: off (no web.root)");
}

// Bids for the lead, then listens and registers among the instances.
void app::parts::lead_or_follow() {
    writer::leadership lead;
    lead.member_id = c.cluster.member_id();
    lead.poll_ms = cfg.cluster.poll_ms;
    lead.on_lead = [this] { handover.on_lead(); };
    c.writer.lead_with(std::move(lead));
    c.writer.start();
    // A lone instance restarted after SIGKILL may find its old session's lock not yet released
    // (PostgreSQL ends that backend a moment later): it bids again for up to two polls before it
    // settles as a follower, so that it listens knowing who takes writes.
    for (const auto until = std::chrono::steady_clock::now() + 2 * std::chrono::milliseconds(cfg.cluster.poll_ms);
         !run_now(c.cluster.learn_leader()) && std::chrono::steady_clock::now() < until;) {
        c.writer.bid_soon();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    c.server.start();
    // Registered once listening: the others forward to the bound address.
    c.cluster.start(advertise_url());
    run_now(c.cluster.register_now());
    spdlog::info(
        "cluster: instance {} at {} {}",
        c.cluster.member_id(),
        advertise_url(),
        c.writer.leading() ? "leads" : "follows (another instance leads)"
    );
}

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
    auto packs = rules::load_pack_set(cfg_.rules_dir);  // a bad pack stops start-up, naming file and rule
    spdlog::info(
        "rule packs: {} rules of {} domains from {}", packs.rules.size(), packs.domains.all().size(), cfg_.rules_dir
    );
    auto bundles = std::move(packs.bundles);
    auto domains = packs.domains;
    if (cfg_.notifications_file.empty())
        throw std::runtime_error(
            "no notification file found: set notifications_file in the config or pass --notifications FILE"
        );
    auto policy =
        notification_model::load_policy_file(cfg_.notifications_file);  // a bad file stops start-up, naming the field
    spdlog::info("notifications: {} channel(s) from {}", policy.channels.size(), cfg_.notifications_file);
    if (const auto unknown = notification_model::unknown_domains(policy, domains); !unknown.empty())
        throw std::runtime_error(
            cfg_.notifications_file + ": a policy names domain '" + unknown.front() +
            "', which no rule pack declares (" + domains.listed() + ")"
        );
    parts_ = std::make_unique<parts>(cfg_, std::move(packs), std::move(policy));
    auto& p = *parts_;
    p.register_metrics();
    p.c.alarms.set_packs(cfg_.rules_dir, std::move(bundles), std::move(domains));
    const int n = io_threads(cfg_);
    for (int i = 0; i < n; ++i) threads_.emplace_back([&p] { run_io_thread(p.ioc); });

    try {
        p.run_now(p.c.stats.configure());
    } catch (const std::exception& e) {
        throw std::runtime_error(
            "config: stats.time_zone '" + cfg_.stats.time_zone + "' is not a time zone PostgreSQL knows: " + e.what()
        );
    }
    generated_admin_key_ = p.run_now(p.c.keys.bootstrap_admin());
    p.run_now(p.c.people.bootstrap_admin());
    p.run_now(p.c.keys.load());
    p.load_registry_file();
    p.run_now(p.c.registry.load_directory());
    p.wire();
    p.lead_or_follow();
    p.c.alarms.start();
    p.notifier.start();
    // The leader holds the broker session: a follower that takes the lead resumes it.
    if (p.c.mqtt) p.c.mqtt->start([&w = p.c.writer] { return w.leading(); });
    if (p.c.upward) p.c.upward->start([&w = p.c.writer] { return w.leading(); });
    if (p.c.modbus) p.c.modbus->start([&w = p.c.writer] { return w.leading(); });
    p.relay.start();
    p.c.retention.start();
    net::co_spawn(p.ioc, p.c.alarms.reload_on(p.reload_signal), net::detached);
    p.signals.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        spdlog::info("signal {} received: shutting down", signo);
        request_stop();
    });
    spdlog::info(
        "cityguard {} listening on http://{}:{} with {} I/O thread(s)",
        CITYGUARD_VERSION,
        cfg_.listen_host,
        p.c.server.port(),
        n
    );
}

std::uint16_t app::port() const { return parts_ ? parts_->c.server.port() : 0; }

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
    p.c.server.stop();
    if (p.c.mqtt) p.c.mqtt->stop();      // what is not committed stays unacknowledged at the broker
    if (p.c.upward) p.c.upward->stop();  // an event not acknowledged yet is sent again at the next start
    if (p.c.modbus) p.c.modbus->stop();  // joins its thread; a batch handed over still commits
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.http.shutdown_timeout_ms);
    while (p.c.server.connections() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (p.c.server.connections() > 0)
        spdlog::warn(
            "{} connection(s) still open after http.shutdown_timeout_ms; closing them", p.c.server.connections()
        );
    // Deliveries under way finish (each is bounded by its channel's timeout) or stay pending in
    // the outbox for the next start, with the same idempotency key.
    p.notifier.stop();
    while (p.notifier.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Every request that got an answer was committed before it; whatever is still queued is
    // committed now, before the process goes.
    p.c.alarms.stop();
    p.c.writer.stop();
    p.c.writer_connection.resign();  // the lead is free now: another instance takes over within cluster.poll_ms
    p.c.cluster.stop();
    p.relay.stop();
    p.follower.stop();
    boost::system::error_code ignored;
    p.signals.cancel(ignored);
    p.reload_signal.cancel(ignored);
    p.c.retention.stop();
    p.work.reset();
    p.ioc.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    p.c.db.stop();
    if (p.c.read_db) p.c.read_db->stop();
    spdlog::info("cityguard stopped");
}

}  // namespace cityguard::app
