#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "../support/child_server.hpp"
#include "../support/test_env.hpp"
#include "../support/ws_client.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;

namespace {

using cityguard::util::kMicrosPerSecond;
constexpr std::int64_t kStep = 61 * kMicrosPerSecond;

/// Two gas stations, each with combustible-gas detectors: 25 %LEL raises yellow, 50 orange.
void register_stations(std::uint16_t port, int sensors_per_site = 2) {
    json body{{"sites", json::array()}, {"sensors", json::array()}};
    for (std::string site : {"GS-1", "GS-2"}) {
        body["sites"].push_back(
            {{"id", site},
             {"name", site},
             {"domain", "gas_station"},
             {"district", "福田区"},
             {"lat", 22.5},
             {"lon", 114.0}}
        );
        for (int i = 0; i < sensors_per_site; ++i)
            body["sensors"].push_back(
                {{"id", site + "-LEL" + std::to_string(i)},
                 {"site", site},
                 {"kind", "gas_lel"},
                 {"unit", "%LEL"},
                 {"interval_s", 30}}
            );
    }
    http_client c(port);
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
}

/// Posts one reading per value, 61 s apart (longer than the rule's 60 s clear delay).
void post_series(std::uint16_t port, const std::string& sensor, const std::vector<double>& values, std::int64_t start) {
    json readings = json::array();
    for (std::size_t i = 0; i < values.size(); ++i)
        readings.push_back(
            {{"sensor", sensor},
             {"ts", format_rfc3339(start + static_cast<std::int64_t>(i) * kStep)},
             {"value", values[i]}}
        );
    http_client c(port);
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, json{{"readings", readings}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
}

/// 30, then 55, 30, 30 over and over: raised (yellow), then escalated (orange) and, after a
/// minute below the band, de-escalated: two events every three readings.
std::vector<double> sawtooth(std::size_t n) {
    std::vector<double> v{30.0};
    for (std::size_t i = 1; i < n; ++i) v.push_back(i % 3 == 1 ? 55.0 : 30.0);
    return v;
}

std::vector<std::int64_t> logged_seqs(const scratch_database& db, std::int64_t after) {
    std::vector<std::int64_t> out;
    std::istringstream in(db.query_value(
        "SELECT coalesce(string_agg(seq::text, ' ' ORDER BY seq), '') FROM alarm_events WHERE seq > " +
        std::to_string(after)
    ));
    for (std::int64_t s; in >> s;) out.push_back(s);
    return out;
}

std::int64_t newest_seq(const scratch_database& db) {
    return std::stoll(db.query_value("SELECT coalesce(max(seq), 0) FROM alarm_events"));
}

/// Reads alarm events until `count` arrived (or a wait runs out); their seqs in arrival order.
std::vector<std::int64_t> collect(ws_client& ws, std::size_t count, std::vector<json>* events = nullptr) {
    std::vector<std::int64_t> seqs;
    while (seqs.size() < count) {
        auto m = ws.next_of("alarm_event");
        if (!m) break;
        seqs.push_back((*m)["seq"]);
        if (events) events->push_back(*m);
    }
    return seqs;
}

json subscribed(ws_client& ws, json request = json::object()) {
    EXPECT_TRUE(ws.next_of("authenticated").has_value());
    request["type"] = "subscribe";
    ws.send(request);
    auto first = ws.next();
    EXPECT_TRUE(first.has_value());
    return first ? *first : json();
}

}  // namespace

TEST(Feed, SnapshotThenLiveEventsAndOtherOperatorsActions) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto t0 = now_micros() - 600 * kMicrosPerSecond;
    post_series(srv.port(), "GS-1-LEL0", {30}, t0);  // a yellow alarm before anyone watches
    const auto op1 = srv.make_key("op-1", "operator");
    const auto op2 = srv.make_key("op-2", "operator");

    ws_client a(srv.port(), op1), b(srv.port(), op2);
    auto snap = subscribed(a);
    ASSERT_EQ(snap["type"], "snapshot");
    EXPECT_EQ(snap["seq"], newest_seq(srv.db()));
    ASSERT_EQ(snap["alarms"].size(), 1u);
    EXPECT_EQ(snap["alarms"][0]["sensor"], "GS-1-LEL0");
    EXPECT_EQ(snap["alarms"][0]["level"], "yellow");
    EXPECT_FALSE(snap.contains("reset"));
    ASSERT_EQ(subscribed(b)["type"], "snapshot");

    post_series(srv.port(), "GS-1-LEL0", {55}, t0 + kMicrosPerSecond);
    std::vector<json> got;
    ASSERT_EQ(collect(a, 1, &got).size(), 1u);
    EXPECT_EQ(got[0]["event"], "escalated");
    EXPECT_GT(got[0]["seq"].get<std::int64_t>(), snap["seq"].get<std::int64_t>());
    EXPECT_EQ(got[0]["alarm"]["level"], "orange");
    EXPECT_EQ(got[0]["alarm"]["status"], "open");
    const std::int64_t id = got[0]["alarm"]["id"];

    // An action by one operator over REST reaches the other operator's feed, after commit.
    http_client c(srv.port());
    auto r = c.call("POST", "/api/v1/alarms/" + std::to_string(id) + "/acknowledge", op1, R"({"note":"on my way"})");
    ASSERT_EQ(r.status, 200) << r.body;
    std::vector<json> seen_by_b;
    collect(b, 2, &seen_by_b);
    ASSERT_EQ(seen_by_b.size(), 2u);
    EXPECT_EQ(seen_by_b[1]["event"], "acknowledged");
    EXPECT_EQ(seen_by_b[1]["actor"], "op-1");
    EXPECT_EQ(seen_by_b[1]["note"], "on my way");
    EXPECT_EQ(seen_by_b[1]["alarm"]["status"], "acknowledged");
    EXPECT_EQ(collect(a, 1).size(), 1u);
}

TEST(Feed, EachEventCarriesTheAlarmAsItWasRightAfterIt) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto op = srv.make_key("op", "operator");
    ws_client ws(srv.port(), op);
    const auto snap = subscribed(ws);
    // Three events in one transaction: raised (yellow), escalated (orange), de-escalated (yellow).
    post_series(srv.port(), "GS-1-LEL0", {30, 55, 30, 30}, now_micros() - 600 * kMicrosPerSecond);
    std::vector<json> got;
    ASSERT_EQ(collect(ws, 3, &got).size(), 3u);
    EXPECT_EQ(got[0]["event"], "raised");
    EXPECT_EQ(got[1]["event"], "escalated");
    EXPECT_EQ(got[2]["event"], "deescalated");
    EXPECT_EQ(got[2]["alarm"]["level"], "yellow");
    EXPECT_EQ(got[2]["alarm"]["peak_level"], "orange");
}

TEST(Feed, FiltersByLevelDomainAndSite) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto op = srv.make_key("op", "operator");
    ws_client orange(srv.port(), op), site2(srv.port(), op), other_domain(srv.port(), op);
    ASSERT_EQ(subscribed(orange, {{"levels", {"orange"}}})["type"], "snapshot");
    ASSERT_EQ(subscribed(site2, {{"sites", {"GS-2"}}})["type"], "snapshot");
    ASSERT_EQ(subscribed(other_domain, {{"domains", {"bridge"}}})["type"], "snapshot");

    const auto t0 = now_micros() - 600 * kMicrosPerSecond;
    post_series(srv.port(), "GS-1-LEL0", {30}, t0);                     // yellow at GS-1: nobody here
    post_series(srv.port(), "GS-1-LEL0", {55}, t0 + kMicrosPerSecond);  // orange at GS-1: `orange`
    post_series(srv.port(), "GS-2-LEL0", {30}, t0);                     // yellow at GS-2: `site2`
    post_series(srv.port(), "GS-2-LEL1", {55}, t0);                     // orange at GS-2 (the marker): both

    std::vector<json> o, s;
    collect(orange, 2, &o);
    collect(site2, 2, &s);
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o[0]["alarm"]["sensor"], "GS-1-LEL0");
    EXPECT_EQ(o[1]["alarm"]["sensor"], "GS-2-LEL1");
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0]["alarm"]["sensor"], "GS-2-LEL0");
    EXPECT_EQ(s[1]["alarm"]["sensor"], "GS-2-LEL1");

    // A bridge alarm would have come after the marker; the marker's events are the last there
    // are, so a bridge subscriber has received nothing. Checked through a resume: nothing to replay.
    other_domain.send({{"type", "subscribe"}, {"domains", {"bridge"}}, {"since", 0}});
    auto resumed = other_domain.next_of("resumed");
    ASSERT_TRUE(resumed.has_value());
    EXPECT_EQ((*resumed)["events"], 0);
}

TEST(Feed, AuthenticationByFirstMessageAndRefusals) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.feed.auth_timeout_ms = 300;
    test_server srv(cfg);
    const auto op = srv.make_key("op", "operator");
    const auto gw = srv.make_key("gw", "gateway");

    ws_client by_message(srv.port(), "");
    by_message.send({{"type", "auth"}, {"token", op}});
    auto hello = by_message.next();
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ((*hello)["type"], "authenticated");
    EXPECT_EQ((*hello)["role"], "operator");
    // A malformed message gets an error and the feed goes on.
    by_message.send_text("{not json");
    auto err = by_message.next();
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ((*err)["type"], "error");
    EXPECT_EQ((*err)["code"], "invalid_json");
    by_message.send({{"type", "subscribe"}, {"levels", {"purple"}}});
    EXPECT_EQ((*by_message.next())["code"], "bad_request");
    by_message.send({{"type", "subscribe"}});
    EXPECT_EQ((*by_message.next())["type"], "snapshot");

    ws_client bad_key(srv.port(), "");
    bad_key.send({{"type", "auth"}, {"token", "cg_not_a_key"}});
    EXPECT_EQ(bad_key.wait_closed(), 4401);

    ws_client bad_header(srv.port(), "cg_not_a_key");
    EXPECT_EQ(bad_header.wait_closed(), 4401);

    ws_client silent(srv.port(), "");
    EXPECT_EQ(silent.wait_closed(), 4401);

    ws_client subscribe_first(srv.port(), "");
    subscribe_first.send({{"type", "subscribe"}});
    EXPECT_EQ(subscribe_first.wait_closed(), 4401);

    ws_client gateway(srv.port(), gw);
    EXPECT_EQ(gateway.wait_closed(), 4403);

    http_client c(srv.port());
    auto plain = c.request("GET", "/api/v1/feed");
    EXPECT_EQ(plain.status, 426);
    EXPECT_EQ(plain.json()["error"]["code"], "bad_request");
}

TEST(Feed, ResumeWithSinceAcrossARestartHasNoGapAndNoDuplicate) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto op = srv.make_key("op", "operator");
    const auto t0 = now_micros() - 3000 * kMicrosPerSecond;
    std::int64_t start = 0, last = 0;
    std::vector<std::int64_t> received;
    {
        ws_client ws(srv.port(), op);
        start = subscribed(ws)["seq"];
        post_series(srv.port(), "GS-1-LEL0", sawtooth(5), t0);
        const auto logged = logged_seqs(srv.db(), start);
        ASSERT_EQ(logged.size(), 4u);
        received = collect(ws, logged.size());
        ASSERT_EQ(received, logged);
        last = received.back();
    }
    // While nobody listens: more events, then a restart of the server.
    post_series(srv.port(), "GS-1-LEL0", {30, 30, 55}, t0 + 1000 * kMicrosPerSecond);
    srv.restart();
    post_series(srv.port(), "GS-2-LEL0", {30, 55}, t0);

    ws_client ws(srv.port(), op);
    ASSERT_TRUE(ws.next_of("authenticated").has_value());
    ws.send({{"type", "subscribe"}, {"since", last}});
    const auto missed = logged_seqs(srv.db(), last);
    ASSERT_EQ(missed.size(), 4u);
    auto replayed = collect(ws, missed.size());
    EXPECT_EQ(replayed, missed);
    auto resumed = ws.next();
    ASSERT_TRUE(resumed.has_value());
    EXPECT_EQ((*resumed)["type"], "resumed");
    EXPECT_EQ((*resumed)["events"], 4);
    received.insert(received.end(), replayed.begin(), replayed.end());
    post_series(srv.port(), "GS-2-LEL1", {30}, t0);  // and live again
    auto live = collect(ws, 1);
    received.insert(received.end(), live.begin(), live.end());
    EXPECT_EQ(received, logged_seqs(srv.db(), start));

    // `since` from another database (ahead of this log) gets a snapshot marked as a reset.
    ws.send({{"type", "subscribe"}, {"since", newest_seq(srv.db()) + 1000}});
    auto reset = ws.next_of("snapshot");
    ASSERT_TRUE(reset.has_value());
    EXPECT_EQ((*reset)["reset"], true);
    EXPECT_EQ((*reset)["alarms"].size(), 3u);
}

TEST(Feed, SinceOlderThanTheReplayLimitGetsAResetSnapshot) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.feed.max_replay = 3;
    test_server srv(cfg);
    register_stations(srv.port());
    post_series(srv.port(), "GS-1-LEL0", sawtooth(6), now_micros() - 600 * kMicrosPerSecond);
    const auto op = srv.make_key("op", "operator");
    ws_client ws(srv.port(), op);
    auto snap = subscribed(ws, {{"since", 0}});
    EXPECT_EQ(snap["type"], "snapshot");
    EXPECT_EQ(snap["reset"], true);
    EXPECT_EQ(snap["seq"], newest_seq(srv.db()));
    ws.send({{"type", "subscribe"}, {"since", newest_seq(srv.db()) - 2}});
    EXPECT_EQ(collect(ws, 2).size(), 2u);
}

TEST(Feed, AClientThatNeverReadsIsClosedWhileAnotherReceivesEveryEvent) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.feed.max_queued_messages = 64;
    cfg.feed.socket_send_buffer = 4096;
    cfg.feed.close_timeout_ms = 500;
    test_server srv(cfg);
    register_stations(srv.port(), 20);
    const auto op = srv.make_key("op", "operator");
    ws_client stalled(srv.port(), op, /*reading=*/false), healthy(srv.port(), op);
    stalled.send({{"type", "subscribe"}});
    const std::int64_t start = subscribed(healthy)["seq"];

    // 420 events, 21 per transaction: far more than the stalled client's queue and buffers hold.
    // The healthy client reads each transaction's events before the next is posted, so it is
    // never more than 21 behind, however slowly the machine schedules it.
    const auto t0 = now_micros() - 3000 * kMicrosPerSecond;
    std::vector<std::int64_t> received;
    for (int i = 0; i < 20; ++i) {
        const auto before = newest_seq(srv.db());
        post_series(srv.port(), "GS-1-LEL" + std::to_string(i), sawtooth(31), t0);
        const auto got = collect(healthy, logged_seqs(srv.db(), before).size());
        received.insert(received.end(), got.begin(), got.end());
    }
    const auto expected = logged_seqs(srv.db(), start);
    ASSERT_EQ(expected.size(), 420u);
    EXPECT_EQ(received, expected);

    stalled.start_reading();
    const int code = stalled.wait_closed();
    EXPECT_TRUE(code == 4008 || code == 0) << code;  // 0: dropped without a close frame it never read
    // Ingest was not held up, and the server still serves feeds.
    ws_client again(srv.port(), op);
    EXPECT_EQ(subscribed(again)["type"], "snapshot");
}

TEST(Feed, TwoServerProcessesOnOneDatabaseShareOneOrderedStream) {
    CITYGUARD_REQUIRE_DB();
    test_server a;
    register_stations(a.port());
    const auto op = a.make_key("op", "operator");
    const auto port_b = free_port();
    child_server b(a.db().url(), port_b);
    ASSERT_TRUE(b.wait_ready());

    ws_client on_a(a.port(), op), on_b(port_b, op);
    const std::int64_t start = subscribed(on_a)["seq"];
    ASSERT_EQ(subscribed(on_b)["seq"], start);

    // Each process evaluates its own sensors; both write to the one event log.
    const auto t0 = now_micros() - 1500 * kMicrosPerSecond;
    for (int round = 0; round < 5; ++round) {
        post_series(a.port(), "GS-1-LEL0", {55, 30, 30}, t0 + round * 200 * kMicrosPerSecond);
        post_series(port_b, "GS-2-LEL0", {55, 30, 30}, t0 + round * 200 * kMicrosPerSecond);
    }
    const auto expected = logged_seqs(a.db(), start);
    ASSERT_GE(expected.size(), 20u);
    EXPECT_EQ(collect(on_a, expected.size()), expected);
    EXPECT_EQ(collect(on_b, expected.size()), expected);
}

TEST(Feed, LiveReadingsOfSubscribedSensors) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto op = srv.make_key("op", "operator");
    ws_client ws(srv.port(), op);
    ASSERT_TRUE(ws.next_of("authenticated").has_value());
    ws.send({{"type", "subscribe_readings"}, {"sensors", {"GS-1-LEL1", "NOPE"}}});
    auto err = ws.next();
    ASSERT_TRUE(err.has_value());
    EXPECT_EQ((*err)["code"], "not_found");
    EXPECT_EQ((*ws.next())["sensors"], 1);

    const auto ts = now_micros() - 5 * kMicrosPerSecond;
    post_series(srv.port(), "GS-1-LEL0", {3}, ts);  // not followed
    post_series(srv.port(), "GS-1-LEL1", {4.5}, ts);
    auto reading = ws.next_of("reading");
    ASSERT_TRUE(reading.has_value());
    EXPECT_EQ((*reading)["sensor"], "GS-1-LEL1");
    EXPECT_EQ((*reading)["value"], 4.5);
    EXPECT_EQ((*reading)["ts"], format_rfc3339(ts));

    ws.send({{"type", "unsubscribe_readings"}, {"sensors", {"GS-1-LEL1"}}});
    EXPECT_EQ((*ws.next_of("readings_subscribed"))["sensors"], 0);
}

TEST(Feed, EventsCommittedDuringAndAfterADatabaseOutageStillArriveInOrder) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    register_stations(srv.port());
    const auto op = srv.make_key("op", "operator");
    ws_client ws(srv.port(), op);
    const std::int64_t start = subscribed(ws)["seq"];
    const auto t0 = now_micros() - 600 * kMicrosPerSecond;
    post_series(srv.port(), "GS-1-LEL0", {30}, t0);

    // Every connection of the server is cut, its event follower's among them.
    srv.db().cut_connections(/*refuse_new=*/false);
    http_client c(srv.port());
    const json later{{"readings", {{{"sensor", "GS-1-LEL0"}, {"ts", format_rfc3339(t0 + kStep)}, {"value", 55}}}}};
    int status = 0;
    for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {  // a gateway retrying its 503s
        status = c.call("POST", "/api/v1/readings", kAdminKey, later.dump()).status;
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ASSERT_EQ(status, 200);
    const auto expected = logged_seqs(srv.db(), start);
    ASSERT_EQ(expected.size(), 2u);
    EXPECT_EQ(collect(ws, expected.size()), expected) << "the follower reconnected and resumed after its last seq";
}

TEST(Feed, AServerShutdownClosesFeedsWithGoingAway) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    const auto op = srv.make_key("op", "operator");
    ws_client ws(srv.port(), op);
    ASSERT_EQ(subscribed(ws)["type"], "snapshot");
    srv.stop();
    EXPECT_EQ(ws.wait_closed(), 1001);
}

TEST(Feed, PingsKeepAnAnsweringClientAndTheIdleTimeoutDropsASilentOne) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    cfg.feed.idle_timeout_ms = 1000;  // a ping after 0.5 s of silence; nothing for 1 s: closed
    test_server srv(cfg);
    const auto op = srv.make_key("op", "operator");
    ws_client answering(srv.port(), op);  // its reader answers pings
    ws_client silent(srv.port(), op, /*reading=*/false);
    ASSERT_EQ(subscribed(answering)["type"], "snapshot");
    std::this_thread::sleep_for(std::chrono::seconds(3));
    silent.start_reading();
    EXPECT_NE(silent.wait_closed(), -1) << "a client that answers nothing is dropped";
    answering.send({{"type", "subscribe"}});
    auto again = answering.next_of("snapshot");
    EXPECT_TRUE(again.has_value()) << "three idle seconds later, the answering client is still connected";
}

// Keys are held in memory (issue 26): during an outage a valid key still signs in, and only what
// needs the database says it is unavailable.
TEST(Feed, AValidKeySignsInDuringAnOutageAndTheSnapshotWaitsForTheDatabase) {
    CITYGUARD_REQUIRE_DB();
    auto cfg = test_config("");
    test_server srv(cfg);
    const auto op = srv.make_key("op", "operator");
    srv.db().cut_connections(/*refuse_new=*/true);
    {
        ws_client ws(srv.port(), op);
        ASSERT_TRUE(ws.next_of("authenticated")) << "the key is checked from memory";
        ws.send(json{{"type", "subscribe"}});
        auto error = ws.next_of("error");
        ASSERT_TRUE(error);
        EXPECT_EQ((*error)["code"], "unavailable");
    }
    srv.db().allow_connections();
    ws_client ws(srv.port(), op);
    EXPECT_EQ(subscribed(ws)["type"], "snapshot");
}
