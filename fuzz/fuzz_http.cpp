// A whole HTTP exchange through the server's own session and dispatcher: raw bytes in over an
// AF_UNIX socket pair (no network), every route of the real router behind it. The database is
// unreachable on purpose (its calls fail fast with 503), the ingest writer is not started (its
// work is refused with 503), and one key of each role is trusted, so header parsing, chunking,
// trailers, limits, routing, authentication, body parsing and every handler's checks are reached.

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/api/routes.hpp"
#include "cityguard/auth/key_service.hpp"
#include "cityguard/cluster/cluster_service.hpp"
#include "cityguard/feed/feed_service.hpp"
#include "cityguard/history/history_service.hpp"
#include "cityguard/http/server.hpp"
#include "cityguard/ingest/ingest_service.hpp"
#include "cityguard/notify/policy.hpp"
#include "cityguard/registry/nearby_service.hpp"
#include "cityguard/registry/registry_service.hpp"
#include "cityguard/rules/rule.hpp"
#include "cityguard/stats/stats_service.hpp"
#include "cityguard/storage/retention_service.hpp"
#include "cityguard/store/alarms_repo.hpp"
#include "cityguard/store/cluster_repo.hpp"
#include "cityguard/store/database.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/store/keys_repo.hpp"
#include "cityguard/store/notifications_repo.hpp"
#include "cityguard/store/readings_repo.hpp"
#include "cityguard/store/registry_repo.hpp"
#include "cityguard/store/resources_repo.hpp"
#include "cityguard/store/silences_repo.hpp"
#include "cityguard/store/stats_repo.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/web/static_files.hpp"
#include "cityguard/writer/serial_writer.hpp"

namespace cg = cityguard;
namespace net = boost::asio;

namespace {

cg::config::config harness_config() {
    cg::config::config cfg;
    cfg.db.url = "host=/nonexistent-cityguard-fuzz dbname=none connect_timeout=1";
    cfg.db.pool_size = 1;
    cfg.http.header_limit = 4096;
    cfg.http.body_limit = 64 * 1024;
    cfg.http.inline_parse_bytes = 64 * 1024;  // parse inline: one thread, deterministic
    // The harness's peer never answers a close frame, so every feed input waits out these
    // timeouts: the server's defaults cost seconds per input, 200 ms still cut the target to
    // 65 executions/s once the corpus held many feed upgrades.
    cfg.feed.close_timeout_ms = 10;
    cfg.feed.auth_timeout_ms = 10;
    return cfg;
}

/// The server's components, as the composition root builds them (src/app/app.cpp), minus the
/// parts that need a live database.
struct harness {
    cg::config::config cfg = harness_config();
    net::io_context ioc{1};
    cg::store::database db{cfg.db};
    cg::store::keys_repo keys_repo{db};
    cg::store::registry_repo registry_repo{db};
    cg::store::resources_repo resources_repo{db};
    cg::store::stats_repo stats_repo{db};
    cg::store::readings_repo readings_repo{db};
    cg::store::alarms_repo alarms_repo{db};
    cg::store::event_log event_log{db};
    cg::store::writer_connection writer_connection{cfg.db.url, 1000};
    cg::auth::key_service keys{keys_repo, cfg.auth};
    cg::registry::sensor_directory directory;
    cg::notify::policy policy = cg::notify::load_policy_file(CITYGUARD_SOURCE_DIR "/config/notifications.json");
    cg::registry::registry_service registry{
        registry_repo, resources_repo, directory, [this](std::string_view name) { return policy.has_channel(name); }};
    cg::writer::serial_writer writer{writer_connection, cfg.ingest, cfg.writer};  // never started
    cg::store::cluster_repo cluster_repo{db};
    // Never started, and the dispatcher is not told to forward: writes reach their handlers.
    cg::cluster::cluster_service cluster{ioc, cluster_repo, writer, cfg.cluster, "fuzz"};
    cg::ingest::ingest_service ingest{directory, writer, cfg.ingest, cfg.http.json_max_depth};
    cg::history::history_service history{readings_repo, directory, cfg.query};
    cg::alarms::alarm_service alarms{
        ioc,
        cg::rules::load_packs(CITYGUARD_SOURCE_DIR "/config/rules"),
        directory,
        writer,
        alarms_repo,
        cfg.alarms,
        policy};
    cg::registry::nearby_service nearby{
        resources_repo, cfg.resources, [this](std::string_view rule) { return alarms.responders_of(rule); }};
    cg::stats::stats_service stats{stats_repo, stats_repo, cfg.stats};
    cg::storage::retention_service retention{readings_repo, cfg.storage};
    cg::util::worker_pool parsing{1, cfg.http.max_queued_parses};
    cg::store::notifications_repo notifications_repo{db};
    cg::notifications::outbox_service outbox{notifications_repo, policy};
    cg::store::silences_repo silences_repo{db};
    cg::notifications::silence_service silences{silences_repo, alarms, policy};
    cg::api::services services{
        keys,
        registry,
        ingest,
        history,
        alarms,
        [] { return always_down(); },
        parsing,
        cfg.http,
        outbox,
        silences,
        nearby,
        stats,
        retention,
        [this] { return scrape_text(); },
        cfg.metrics,
        cluster,
        cfg.cluster};
    cg::api::dispatcher dispatcher{cg::api::make_router(services), keys};
    cg::metrics::http_metrics http_metrics{route_labels(dispatcher)};
    cg::feed::feed_service feed{event_log, keys, directory, cfg.feed, cfg.http.json_max_depth};
    cg::web::static_files files{CITYGUARD_SOURCE_DIR "/web", "{}"};
    cg::http::server server{ioc, cfg, dispatcher, feed, files, http_metrics};

    static std::vector<cg::metrics::http_metrics::route_label> route_labels(const cg::api::dispatcher& d) {
        std::vector<cg::metrics::http_metrics::route_label> out;
        for (const auto& r : d.routes()) out.push_back({r.method, r.pattern});
        return out;
    }

    /// Whether this instance leads for the input at hand: half the inputs are served as a
    /// follower would (a write forwarded, and answered as the leader would), so that forwarded
    /// requests (X-CityGuard-Cluster-Token, -Forwarded-For, -Forwarded) are parsed both ways.
    bool leading = true;

    harness() {
        dispatcher.forward_writes(
            {[this] { return leading; },
             "fuzz-cluster-token",
             [](const cg::api::request&) -> net::awaitable<std::optional<cg::api::response>> {
                 co_return cg::api::response{202, "application/json", "{\"forwarded\":true}", {}};
             }}
        );
        keys.remember_verified("fuzz-admin", {"fuzz-admin", cg::auth::role::admin});
        keys.remember_verified("fuzz-operator", {"fuzz-operator", cg::auth::role::operator_});
        keys.remember_verified("fuzz-gateway", {"fuzz-gateway", cg::auth::role::gateway});
        cg::registry::sensor_record s;
        s.id = "GP-1-LEL";
        s.key = 1;
        s.site = "GP-1";
        s.kind = "gas_lel";
        s.interval_s = 30;
        directory.replace({s});
    }

    static net::awaitable<bool> always_down() { co_return false; }
    net::awaitable<std::string> scrape_text() {
        cg::metrics::exposition out;
        http_metrics.render(out);
        co_return out.take();
    }

    /// Feeds one input through a fresh connection and serves it to the end.
    void exchange(const std::uint8_t* data, std::size_t size) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) return;
        net::ip::tcp::socket socket(ioc);
        socket.assign(net::ip::tcp::v4(), fds[0]);
        server.adopt(std::move(socket), "127.0.0.1");
        std::size_t sent = 0;
        char sink[65536];
        // A session that outlives its peer by 5 s and 5000 turns of this loop is a bug. Both,
        // because a fuzzer starved of CPU (beside a build) can see 5 s pass in a few turns:
        // that once reported an input that runs in 79 ms.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        std::size_t turns = 0;
        bool half_closed = false;
        while (server.connections() > 0 && (std::chrono::steady_clock::now() < deadline || turns < 5000)) {
            ++turns;
            if (sent < size) {
                const auto n = ::send(fds[1], data + sent, size - sent, MSG_NOSIGNAL);
                if (n > 0) sent += static_cast<std::size_t>(n);
            } else if (!half_closed) {
                ::shutdown(fds[1], SHUT_WR);
                half_closed = true;
            }
            while (::recv(fds[1], sink, sizeof sink, 0) > 0) {
            }
            if (ioc.poll() == 0) ioc.run_one_for(std::chrono::milliseconds(1));
            ioc.restart();
        }
        ::close(fds[1]);
        if (server.connections() > 0) {
            // Make libFuzzer report it.
            __builtin_trap();
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // CITYGUARD_FUZZ_LOG=debug shows what the server did with an input (reproducing a finding).
    const char* level = std::getenv("CITYGUARD_FUZZ_LOG");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static harness h;
    h.leading = size % 2 == 0;
    h.exchange(data, size);
    return 0;
}
