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

#include "cityguard/app/components.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/notification_model/policy.hpp"
#include "cityguard/rules/rule.hpp"

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
    cfg.http.parse_threads = 1;
    cfg.web.root = CITYGUARD_SOURCE_DIR "/web";
    cfg.web.boundaries_file = "-";
    // The harness's peer never answers a close frame, so every feed input waits out these
    // timeouts: the server's defaults cost seconds per input, 200 ms still cut the target to
    // 65 executions/s once the corpus held many feed upgrades.
    cfg.feed.close_timeout_ms = 10;
    cfg.feed.auth_timeout_ms = 10;
    cfg.auth.argon2_mem_kib = 64;  // the decoy hash at start; sign-ins never reach a hash (no database)
    cfg.auth.argon2_ops = 1;
    return cfg;
}

/// The server's components, wired as the composition root wires them (app::components), with
/// nothing started: no writer, no cluster membership, no database.
struct harness {
    cg::config::config cfg = harness_config();
    net::io_context ioc{1};
    cg::app::components c{
        cfg,
        ioc,
        cg::app::wiring{
            cg::rules::load_packs(CITYGUARD_SOURCE_DIR "/config/rules"),
            cg::rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules"),
            cg::notification_model::load_policy_file(CITYGUARD_SOURCE_DIR "/config/notifications.json"),
            "fuzz",
            [this] { return scrape_text(); },
            [] { return always_down(); }}};

    /// Whether this instance leads for the input at hand: half the inputs are served as a
    /// follower would (a write forwarded, and answered as the leader would), so that forwarded
    /// requests (X-CityGuard-Cluster-Token, -Forwarded-For, -Forwarded) are parsed both ways.
    bool leading = true;

    harness() {
        c.dispatcher.forward_writes(
            {[this] { return leading; },
             "fuzz-cluster-token",
             [](const cg::api::request&) -> net::awaitable<std::optional<cg::api::response>> {
                 co_return cg::api::response{202, "application/json", "{\"forwarded\":true}", {}};
             }}
        );
        c.keys.remember_verified("fuzz-admin", {"fuzz-admin", cg::auth::role::admin});
        c.keys.remember_verified("fuzz-operator", {"fuzz-operator", cg::auth::role::operator_});
        c.keys.remember_verified("fuzz-gateway", {"fuzz-gateway", cg::auth::role::gateway});
        // People: session cookies are checked (the database answers 503) and changes put on
        // record (which fails, logged); scoped keys take the scope checks of every route.
        c.dispatcher.use_people(&c.people, &c.audit);
        c.feed.use_people(&c.people);
        cg::auth::principal district{
            "fuzz-district", cg::auth::role::operator_, cg::auth::make_scope({"福田区"}, {}, {})};
        c.keys.remember_verified("fuzz-district", district);
        cg::auth::principal enterprise{
            "fuzz-enterprise", cg::auth::role::enterprise, cg::auth::make_scope({}, {}, {"U1"})};
        c.keys.remember_verified("fuzz-enterprise", enterprise);
        cg::auth::principal bound{"fuzz-bound", cg::auth::role::gateway};
        bound.binding.sites = {"GP-1"};
        c.keys.remember_verified("fuzz-bound", bound);
        cg::registry::sensor_record s;
        s.id = "GP-1-LEL";
        s.key = 1;
        s.site = "GP-1";
        s.kind = "gas_lel";
        s.interval_s = 30;
        s.district = "福田区";
        s.domain = "gas_pipeline";
        s.site_unit = "U1";
        c.directory.replace({s});
    }

    static net::awaitable<bool> always_down() { co_return false; }
    net::awaitable<std::string> scrape_text() {
        cg::metrics::exposition out;
        c.http_metrics.render(out);
        co_return out.take();
    }

    /// Feeds one input through a fresh connection and serves it to the end.
    void exchange(const std::uint8_t* data, std::size_t size) {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) != 0) return;
        net::ip::tcp::socket socket(ioc);
        socket.assign(net::ip::tcp::v4(), fds[0]);
        c.server.adopt(std::move(socket), "127.0.0.1");
        std::size_t sent = 0;
        char sink[65536];
        // A session that outlives its peer by 5 s and 5000 turns of this loop is a bug. Both,
        // because a fuzzer starved of CPU (beside a build) can see 5 s pass in a few turns:
        // that once reported an input that runs in 79 ms.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        std::size_t turns = 0;
        bool half_closed = false;
        while (c.server.connections() > 0 && (std::chrono::steady_clock::now() < deadline || turns < 5000)) {
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
        if (c.server.connections() > 0) {
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
