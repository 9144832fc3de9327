// Several instances and PostgreSQL failover, with real parts (docs/scaling.md): a primary with
// a synchronous standby (tests/pg_pair.sh), three server binaries, HAProxy in front, gateways
// posting through it, a dashboard client on a follower's feed. The leader is SIGKILLed mid-load,
// later the primary is stopped and the standby promoted. Nothing acknowledged may be lost, the
// alarms must be those one instance makes of the same readings, and the feed must have no gap.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "../support/child_server.hpp"
#include "../support/loopback_tool.hpp"
#include "../support/test_env.hpp"
#include "../support/ws_client.hpp"
#include "cityguard/store/migrations.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* kClusterToken = "cluster-test-token-0123456789";

/// tests/pg_pair.sh: a primary and its synchronous standby, removed at the end.
class pg_pair {
  public:
    pg_pair() : state_(std::filesystem::temp_directory_path() / ("cityguard-pair-" + std::to_string(::getpid()))) {
        run("start");
        primary_ = read_port("primary_port");
        standby_ = read_port("standby_port");
    }
    ~pg_pair() { run("stop"); }
    void run(const std::string& action) {
        const std::string cmd =
            std::string(CITYGUARD_SOURCE_DIR "/tests/pg_pair.sh ") + action + " " + state_.string() + " >/dev/null";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("pg_pair.sh " + action + " failed");
    }
    /// The standby alone (a read replica until it is promoted).
    std::string standby_url(const std::string& db) const {
        return "host=127.0.0.1 port=" + std::to_string(standby_) + " user=postgres dbname=" + db;
    }
    /// A libpq multi-host URL: whichever of the two takes writes.
    std::string url(const std::string& db) const {
        return "host=127.0.0.1,127.0.0.1 port=" + std::to_string(primary_) + "," + std::to_string(standby_) +
               " user=postgres dbname=" + db + " target_session_attrs=read-write connect_timeout=2";
    }
    void create_database(const std::string& db) const {
        pqxx::connection c(url("postgres"));
        pqxx::nontransaction tx(c);
        tx.exec("CREATE DATABASE " + db);
    }
    std::string query(const std::string& db, const std::string& sql) const {
        pqxx::connection c(url(db));
        pqxx::nontransaction tx(c);
        const auto r = tx.exec(sql);
        return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
    }

  private:
    std::uint16_t read_port(const char* file) const {
        std::ifstream in(state_ / file);
        int p = 0;
        in >> p;
        return static_cast<std::uint16_t>(p);
    }
    std::filesystem::path state_;
    std::uint16_t primary_ = 0, standby_ = 0;
};

constexpr int kGateways = 4;
constexpr int kSensorsPerGateway = 5;
constexpr std::int64_t kStep = 10 * cityguard::util::kMicrosPerSecond;

std::string sensor_name(int gateway, int i) { return "CL-" + std::to_string(gateway) + "-" + std::to_string(i); }

/// Each sensor reads 1 %LEL, then 7 (blue) from its own step on: one crossing each, at a step
/// the gateways reach before, between and after the two failures.
double value_at(int gateway, int i, int step) { return step >= 5 + 7 * i + gateway ? 7.0 : 1.0; }

json registry_body() {
    json body{{"sites", json::array()}, {"sensors", json::array()}};
    body["sites"].push_back(
        {{"id", "CL-SITE"},
         {"name", "集群测试"},
         {"domain", "gas_pipeline"},
         {"district", "福田区"},
         {"lat", 22.54},
         {"lon", 114.05}}
    );
    for (int g = 0; g < kGateways; ++g)
        for (int i = 0; i < kSensorsPerGateway; ++i)
            body["sensors"].push_back(
                {{"id", sensor_name(g, i)},
                 {"site", "CL-SITE"},
                 {"kind", "gas_lel"},
                 {"unit", "%LEL"},
                 {"interval_s", 3600}}
            );
    return body;
}

/// What a gateway had acknowledged: (sensor, ts, value), and when each acknowledgement came.
struct acknowledged {
    std::mutex mutex;
    std::vector<std::tuple<std::string, std::int64_t, double>> readings;
    std::vector<steady::time_point> at;
};

/// A sensor gateway: posts one batch per step through the balancer until it gets 200, whatever
/// comes back meanwhile (503, the balancer's own errors, dropped connections).
void gateway(int g, std::uint16_t port, std::int64_t t0, const std::atomic<bool>& stop, acknowledged& acks) {
    http_client c(port, false);
    for (int step = 0; !stop.load(); ++step) {
        json body{{"readings", json::array()}};
        for (int i = 0; i < kSensorsPerGateway; ++i)
            body["readings"].push_back(
                {{"sensor", sensor_name(g, i)},
                 {"ts", format_rfc3339(t0 + step * kStep)},
                 {"value", value_at(g, i, step)}}
            );
        const auto text = body.dump();
        const auto give_up = steady::now() + std::chrono::seconds(90);
        for (;;) {
            int status = 0;
            try {
                status = c.call("POST", "/api/v1/readings", kAdminKey, text).status;
            } catch (const std::exception&) {
                // A dropped connection: the client connects afresh on the next call.
            }
            if (status == 200) break;
            if (steady::now() > give_up) throw std::runtime_error("a gateway got no 200 for 90 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        {
            std::lock_guard lock(acks.mutex);
            for (int i = 0; i < kSensorsPerGateway; ++i)
                acks.readings.emplace_back(sensor_name(g, i), t0 + step * kStep, value_at(g, i, step));
            acks.at.push_back(steady::now());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
}

/// The longest time without any acknowledgement from `from` until `to`: how long writes were out.
double outage_ms(acknowledged& acks, steady::time_point from, steady::time_point to) {
    std::lock_guard lock(acks.mutex);
    auto times = acks.at;
    std::sort(times.begin(), times.end());
    double longest = 0;
    steady::time_point last = from;
    for (auto t : times) {
        if (t < from) continue;
        if (t > to) break;
        longest = std::max(longest, std::chrono::duration<double, std::milli>(t - last).count());
        last = t;
    }
    return longest;
}

/// A dashboard client of one instance's feed: every alarm event's seq, resuming by `since`
/// whenever the connection ends.
class feed_follower {
  public:
    explicit feed_follower(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
    ~feed_follower() {
        stop_ = true;
        thread_.join();
    }
    std::vector<std::int64_t> seqs() {
        std::lock_guard lock(mutex_);
        return seqs_;
    }
    int reconnects() const { return reconnects_.load(); }

  private:
    void run() {
        std::int64_t last = 0;
        while (!stop_) {
            try {
                ws_client ws(port_, kAdminKey);
                if (!ws.next_of("authenticated")) throw std::runtime_error("no authenticated");
                ws.send({{"type", "subscribe"}, {"since", last}});
                while (!stop_) {
                    auto m = ws.next(std::chrono::milliseconds(200));
                    if (!m) {
                        if (ws.wait_closed(std::chrono::milliseconds(0)) != -1) break;
                        continue;
                    }
                    if ((*m)["type"] != "alarm_event") continue;
                    last = (*m)["seq"];
                    std::lock_guard lock(mutex_);
                    seqs_.push_back(last);
                }
            } catch (const std::exception&) {
            }
            if (!stop_) {
                ++reconnects_;
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        }
    }
    std::uint16_t port_;
    std::atomic<bool> stop_{false};
    std::atomic<int> reconnects_{0};
    std::mutex mutex_;
    std::vector<std::int64_t> seqs_;
    std::thread thread_;
};

/// The alarms of the test sensors, as comparable text: rule, sensor, levels, first and last
/// reading, readings counted.
std::multiset<std::string> alarm_rows(const pg_pair& pg, const std::string& db) {
    pqxx::connection c(pg.url(db));
    pqxx::nontransaction tx(c);
    std::multiset<std::string> out;
    for (const auto& r :
         tx.exec("SELECT rule_id || ' ' || sensor_id || ' ' || level || '/' || peak_level || ' ' || "
                 "(extract(epoch FROM first_ts))::bigint || '..' || (extract(epoch FROM last_ts))::bigint || "
                 "' x' || count FROM alarms WHERE sensor_id LIKE 'CL-%'"))
        out.insert(r[0].as<std::string>());
    return out;
}

std::string leader_of(std::uint16_t port) {
    try {
        http_client c(port);
        auto r = c.call("GET", "/api/v1/cluster", kAdminKey);
        if (r.status != 200) return "";
        auto j = r.json();
        return j["leader"].is_null() ? "" : j["leader"]["id"].get<std::string>();
    } catch (const std::exception&) {
        return "";
    }
}

std::string write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
    return p.string();
}

}  // namespace

TEST(Cluster, LeaderKillAndDatabaseFailoverLoseNothingAndRaiseEachAlarmOnce) {
    CITYGUARD_REQUIRE_DB();
    if (!std::filesystem::exists("/usr/sbin/haproxy"))
        GTEST_SKIP() << "haproxy is not installed (scripts/test installs it)";
    pg_pair pg;
    const std::string db = "cg_cluster_" + std::to_string(::getpid());
    pg.create_database(db);

    // Three instances on one database. Short polls keep the test short; the defaults are in
    // docs/configuration.md.
    loopback_tool scratch("cluster");
    const auto config = write_file(
        scratch.dir() / "cityguard.json",
        R"({"cluster": {"poll_ms": 200, "heartbeat_ms": 500, "forward_timeout_ms": 5000}, "db": {"pool_size": 2}})"
    );
    ::setenv("CITYGUARD_CONFIG", config.c_str(), 1);
    ::setenv("CITYGUARD_CLUSTER_TOKEN", kClusterToken, 1);
    const std::uint16_t ports[3] = {free_port(), free_port(), free_port()};
    std::vector<std::unique_ptr<child_server>> instances;
    for (auto port : ports) {
        // The third reads the readings history from the standby (db.read_url).
        if (port == ports[2]) ::setenv("CITYGUARD_DB_READ_URL", pg.standby_url(db).c_str(), 1);
        instances.push_back(std::make_unique<child_server>(pg.url(db), port));
        ASSERT_TRUE(instances.back()->wait_ready());
    }
    ::unsetenv("CITYGUARD_DB_READ_URL");
    ::unsetenv("CITYGUARD_CONFIG");
    ::unsetenv("CITYGUARD_CLUSTER_TOKEN");

    // The first one leads; the others know it and forward writes to it.
    const auto first_leader = leader_of(ports[1]);
    ASSERT_FALSE(first_leader.empty());
    {
        http_client c(ports[1]);
        auto cluster = c.call("GET", "/api/v1/cluster", kAdminKey).json();
        ASSERT_EQ(cluster["instances"].size(), 3u) << cluster.dump();
        EXPECT_EQ(cluster["leader"]["url"], "http://127.0.0.1:" + std::to_string(ports[0]));
        auto ready = c.request("GET", "/readyz").json();
        EXPECT_EQ(ready["role"], "follower");
        EXPECT_EQ(ready["leader"], "http://127.0.0.1:" + std::to_string(ports[0]));
        // A registry write through a follower is the leader's, answered unchanged.
        auto r = c.call("POST", "/api/v1/registry", kAdminKey, registry_body().dump());
        ASSERT_EQ(r.status, 200) << r.body;
        // A forwarded request claiming another instance's token is refused.
        auto forged = c.request(
            "GET",
            "/api/v1/alarms",
            "",
            {{"Authorization", std::string("Bearer ") + kAdminKey},
             {"X-CityGuard-Cluster-Token", "not-the-token-0123456789"}}
        );
        EXPECT_EQ(forged.status, 403);
    }

    loopback_tool balancer("haproxy");
    std::string servers;
    for (int i = 0; i < 3; ++i)
        servers += "  server cg" + std::to_string(i) + " 127.0.0.1:" + std::to_string(ports[i]) +
                   " check inter 200 fall 2 rise 1\n";
    const auto haproxy_cfg = write_file(
        balancer.dir() / "haproxy.cfg",
        "global\n  maxconn 1000\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n"
        "  timeout server 30s\n  retries 2\n  option redispatch\nfrontend cityguard\n  bind " +
            balancer.listen_address() +
            "\n  default_backend instances\nbackend instances\n  balance roundrobin\n"
            "  option httpchk GET /readyz\n  http-check expect status 200\n" +
            servers
    );
    balancer.start({"/usr/sbin/haproxy", "-q", "-f", haproxy_cfg, "-db"}, "/healthz");

    const auto start_seq = std::stoll(pg.query(db, "SELECT coalesce(max(seq), 0) FROM alarm_events"));
    feed_follower dashboard(ports[1]);  // a follower's feed, never killed
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    const std::int64_t t0 = (now_micros() / kStep - 400) * kStep;  // an hour ago, on the step grid
    std::atomic<bool> stop{false};
    acknowledged acks;
    std::vector<std::thread> gateways;
    std::atomic<int> gateway_failures{0};
    for (int g = 0; g < kGateways; ++g)
        gateways.emplace_back([&, g] {
            try {
                gateway(g, balancer.port(), t0, stop, acks);
            } catch (const std::exception&) {
                ++gateway_failures;
            }
        });

    std::this_thread::sleep_for(std::chrono::seconds(3));
    // The leader dies mid-load.
    const auto killed_at = steady::now();
    instances[0]->kill_now();
    std::string next_leader;
    while (steady::now() - killed_at < std::chrono::seconds(30)) {
        next_leader = leader_of(ports[1]);
        if (!next_leader.empty() && next_leader != first_leader) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double takeover_ms = std::chrono::duration<double, std::milli>(steady::now() - killed_at).count();
    ASSERT_FALSE(next_leader.empty());
    ASSERT_NE(next_leader, first_leader);

    const auto after_takeover = steady::now();
    {
        // Statistics through the instance that reads them from the standby, while it is still a
        // read-only replica: the counts are aggregates the leader keeps, nothing is written.
        http_client c(ports[2]);
        auto r = c.call("GET", "/api/v1/stats?group_by=district", kAdminKey);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_TRUE(r.json().contains("rows")) << r.body;
    }
    std::this_thread::sleep_until(after_takeover + std::chrono::seconds(4));
    // The primary's machine goes; the standby is promoted a second later, as Patroni would.
    const auto primary_lost_at = steady::now();
    pg.run("kill-primary");
    std::this_thread::sleep_for(std::chrono::seconds(1));
    pg.run("promote");
    std::this_thread::sleep_for(std::chrono::seconds(6));
    stop = true;
    for (auto& t : gateways) t.join();
    ASSERT_EQ(gateway_failures.load(), 0);
    const double leader_outage = outage_ms(acks, killed_at, primary_lost_at);
    const double database_outage = outage_ms(acks, primary_lost_at, steady::now());

    // Every acknowledged reading is on the new primary, exactly once.
    std::set<std::pair<std::string, std::int64_t>> acked;
    for (const auto& [sensor, ts, value] : acks.readings) acked.emplace(sensor, ts);
    std::set<std::pair<std::string, std::int64_t>> stored;
    {
        pqxx::connection c(pg.url(db));
        pqxx::nontransaction tx(c);
        for (const auto& r : tx.exec("SELECT s.id, (extract(epoch FROM r.ts) * 1000000)::bigint FROM readings r "
                                     "JOIN sensors s ON s.key = r.sensor_key WHERE s.id LIKE 'CL-%'"))
            stored.emplace(r[0].as<std::string>(), r[1].as<std::int64_t>());
    }
    std::vector<std::pair<std::string, std::int64_t>> missing;
    std::set_difference(acked.begin(), acked.end(), stored.begin(), stored.end(), std::back_inserter(missing));
    EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged readings are not stored, e.g. "
                                 << (missing.empty() ? "" : missing.front().first);

    // History through the instance that reads it from the (now promoted) standby: every
    // acknowledged reading of a sensor.
    {
        http_client c(ports[2]);
        const auto sensor = sensor_name(0, 0);
        const auto wanted = std::count_if(acked.begin(), acked.end(), [&](const auto& a) { return a.first == sensor; });
        auto r = c.call(
            "GET",
            "/api/v1/sensors/" + sensor + "/readings?from=" + format_rfc3339(t0) +
                "&to=" + format_rfc3339(now_micros() + 3'600'000'000LL) + "&limit=10000",
            kAdminKey
        );
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(static_cast<long>(r.json()["readings"].size()), static_cast<long>(wanted));
    }

    // The feed through the follower saw every alarm event once, in order, across both failures.
    std::vector<std::int64_t> logged;
    const auto deadline = steady::now() + std::chrono::seconds(20);
    for (;;) {
        logged.clear();
        pqxx::connection c(pg.url(db));
        pqxx::nontransaction tx(c);
        for (const auto& r :
             tx.exec("SELECT seq FROM alarm_events WHERE seq > " + std::to_string(start_seq) + " ORDER BY seq"))
            logged.push_back(r[0].as<std::int64_t>());
        if (dashboard.seqs() == logged || steady::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_FALSE(logged.empty());
    EXPECT_EQ(dashboard.seqs(), logged);

    // One instance, its own database, the same readings in the same order: the same alarms.
    const auto cluster_alarms = alarm_rows(pg, db);
    const std::string reference_db = db + "_one";
    pg.create_database(reference_db);
    const auto reference_port = free_port();
    child_server reference(pg.url(reference_db), reference_port);
    ASSERT_TRUE(reference.wait_ready());
    {
        http_client c(reference_port);
        ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, registry_body().dump()).status, 200);
        std::map<std::string, std::vector<std::pair<std::int64_t, double>>> by_sensor;
        for (const auto& [sensor, ts, value] : acks.readings) by_sensor[sensor].emplace_back(ts, value);
        for (auto& [sensor, rows] : by_sensor) {
            std::sort(rows.begin(), rows.end());
            json body{{"readings", json::array()}};
            for (const auto& [ts, value] : rows)
                body["readings"].push_back({{"sensor", sensor}, {"ts", format_rfc3339(ts)}, {"value", value}});
            auto r = c.call("POST", "/api/v1/readings", kAdminKey, body.dump());
            ASSERT_EQ(r.status, 200) << r.body;
        }
    }
    const auto reference_alarms = alarm_rows(pg, reference_db);
    EXPECT_FALSE(reference_alarms.empty());
    EXPECT_EQ(cluster_alarms, reference_alarms);

    std::printf(
        "cluster figures: %zu readings acknowledged, %zu alarms, %zu feed events (%d feed reconnects); "
        "leader SIGKILL -> new leader in %.0f ms, longest write outage %.0f ms; primary lost -> promoted after "
        "1000 ms, longest write outage %.0f ms\n",
        acks.readings.size(),
        cluster_alarms.size(),
        logged.size(),
        dashboard.reconnects(),
        takeover_ms,
        leader_outage,
        database_outage
    );
}

TEST(Cluster, FollowersServeReadsForwardWritesAndSeeKeyChangesAtOnce) {
    CITYGUARD_REQUIRE_DB();
    scratch_database db;
    loopback_tool scratch("cluster-small");
    const auto config = write_file(
        scratch.dir() / "cityguard.json",
        R"({"cluster": {"poll_ms": 200, "heartbeat_ms": 500, "forward_timeout_ms": 1500}})"
    );
    ::setenv("CITYGUARD_CONFIG", config.c_str(), 1);
    ::setenv("CITYGUARD_CLUSTER_TOKEN", kClusterToken, 1);
    const std::uint16_t leader_port = free_port(), follower_port = free_port(), other_port = free_port();
    child_server leader(db.url(), leader_port);
    ASSERT_TRUE(leader.wait_ready());
    child_server follower(db.url(), follower_port);
    ASSERT_TRUE(follower.wait_ready());
    child_server other(db.url(), other_port);
    ASSERT_TRUE(other.wait_ready());
    ::unsetenv("CITYGUARD_CONFIG");
    ::unsetenv("CITYGUARD_CLUSTER_TOKEN");
    http_client f(follower_port), o(other_port);

    // A key made through one follower works on the other at once; revoked through the other,
    // it stops working on the first at once (the change reaches every instance at its commit).
    auto made = f.call("POST", "/api/v1/keys", kAdminKey, json{{"name", "gw-1"}, {"role", "gateway"}}.dump());
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string key = made.json()["key"];
    const std::string reading = one_reading("CL-X", now_micros(), 1);
    EXPECT_EQ(o.call("POST", "/api/v1/readings", key, reading).status, 200);  // unknown sensor: rejected item, 200
    EXPECT_EQ(f.call("GET", "/api/v1/alarms", key).status, 403);              // a gateway key may not read
    ASSERT_EQ(o.call("DELETE", "/api/v1/keys/gw-1", kAdminKey).status, 204);
    bool refused = false;
    for (int i = 0; i < 50 && !refused; ++i) {
        refused = f.call("POST", "/api/v1/readings", key, reading).status == 401;
        if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(refused) << "a key revoked on another instance still works here";

    // A leader that hangs (stopped, its lock still held): followers answer 503 with Retry-After
    // within cluster.forward_timeout_ms, and reads go on.
    ::kill(leader.pid(), SIGSTOP);
    const auto t0 = steady::now();
    auto r = f.call("POST", "/api/v1/registry", kAdminKey, registry_body().dump());
    const auto waited = steady::now() - t0;
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(r.headers.count("Retry-After"));
    EXPECT_LT(waited, std::chrono::seconds(5));
    EXPECT_EQ(f.call("GET", "/api/v1/alarms", kAdminKey).status, 200);
    ::kill(leader.pid(), SIGCONT);
    EXPECT_EQ(f.call("POST", "/api/v1/registry", kAdminKey, registry_body().dump()).status, 200);

    // A dashboard on a follower follows a sensor's live readings: the leader commits them, the
    // follower relays them from the database.
    const auto sensor = sensor_name(0, 0);
    ws_client ws(follower_port, kAdminKey);
    ASSERT_TRUE(ws.next_of("authenticated").has_value());
    bool followed = false;
    for (int i = 0; i < 50 && !followed; ++i) {  // the follower's directory learns new sensors at the commit
        ws.send({{"type", "subscribe_readings"}, {"sensors", {sensor}}});
        auto ack = ws.next_of("readings_subscribed");
        ASSERT_TRUE(ack.has_value());
        followed = (*ack)["sensors"] == 1;
        if (!followed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(followed);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the relay's first poll
    const auto ts = now_micros() - 5 * cityguard::util::kMicrosPerSecond;
    ASSERT_EQ(o.call("POST", "/api/v1/readings", kAdminKey, one_reading(sensor, ts, 4.5)).status, 200);
    auto live = ws.next_of("reading");
    ASSERT_TRUE(live.has_value()) << "no live reading on a follower's feed";
    EXPECT_EQ((*live)["sensor"], sensor);
    EXPECT_EQ((*live)["value"], 4.5);
    EXPECT_EQ((*live)["ts"], format_rfc3339(ts));
}

TEST(Cluster, AnInstanceOlderThanTheSchemaRefusesToStart) {
    CITYGUARD_REQUIRE_DB();
    scratch_database db;
    const auto port = free_port();
    {
        child_server first(db.url(), port);
        ASSERT_TRUE(first.wait_ready());
        first.terminate();
    }
    db.exec("INSERT INTO schema_migrations (version) VALUES ('9999_from_a_newer_cityguard.sql')");
    try {
        cityguard::store::migrate(db.url(), cityguard::store::embedded_migrations());
        ADD_FAILURE() << "migrate accepted a database with an unknown migration";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("9999_from_a_newer_cityguard.sql"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("newer CityGuard"), std::string::npos) << e.what();
    }
    child_server old(db.url(), port);
    for (int i = 0; i < 300 && old.alive(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(old.alive()) << "an older binary started on a newer schema";
}
