#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "cityguard/store/alarm_change_set.hpp"
#include "cityguard/store/alarms_repo.hpp"
#include "cityguard/store/event_log.hpp"
#include "cityguard/store/notifications_repo.hpp"
#include "cityguard/store/readings_repo.hpp"
#include "cityguard/store/silences_repo.hpp"
#include "cityguard/store/stats_repo.hpp"
#include "cityguard/util/time.hpp"
#include "repo_fixture.hpp"

using namespace cityguard;
using cityguard::test::repo_test;

namespace {

class AlarmChangeSet : public repo_test {};
class NotificationsRepo : public repo_test {};
class SilencesRepo : public repo_test {};
class ReadingsRepo : public repo_test {};
class StatsRepo : public repo_test {};

const util::micros kNow = util::now_micros();

// Every sensor counts in the statistics under one place.
bool count_anywhere(std::int32_t, std::string& domain, std::string& district) {
    domain = "gas_station";
    district = "福田区";
    return true;
}

alarm_model::event event_of(const std::string& type, util::micros at, const std::string& actor) {
    alarm_model::event e;
    e.type = type;
    e.at = at;
    e.actor = actor;
    e.lvl = rules::level::orange;
    return e;
}

/// A new orange alarm on GS-1-LEL (provisional id -1) raised by a reading, and a new site
/// compound (provisional id -2) whose member is that alarm (a compound comes after its members).
alarm_model::changes raise_two() {
    alarm_model::changes ch;
    alarm_model::changes::alarm_write lel;
    lel.after.id = -1;
    lel.after.rule = "gas_station.lel";
    lel.after.site = "GS-1";
    lel.after.sensor = "GS-1-LEL";
    lel.after.domain = "gas_station";
    lel.after.lvl = lel.after.peak = rules::level::orange;
    lel.after.value = lel.after.peak_value = 60;
    lel.after.first_ts = lel.after.last_ts = lel.after.opened_at = kNow;
    auto raised = event_of("raised", kNow, "gas_station.lel");
    raised.reading_ts = kNow;
    raised.value = 60;
    lel.events.push_back(raised);
    ch.alarms.push_back(lel);
    alarm_model::changes::alarm_write compound;
    compound.after.id = -2;
    compound.after.rule = "gas_station.leak_and_fire";
    compound.after.site = "GS-1";
    compound.after.domain = "gas_station";
    compound.after.lvl = compound.after.peak = rules::level::red;
    compound.after.first_ts = compound.after.last_ts = compound.after.opened_at = kNow;
    compound.after.members = {{"GS-1-LEL", "gas_station.lel", -1, rules::level::orange}};
    compound.events.push_back(event_of("raised", kNow, "gas_station.leak_and_fire"));
    ch.alarms.push_back(compound);
    ch.states.push_back({"gas_station.lel", "GS-1-LEL", {{"above_since", 1}}});
    return ch;
}

/// What the escalation makes of raise_two(): the enterprise told about the member, its deadlines.
notification_model::escalation_output tell_enterprise() {
    notification_model::escalation_output out;
    out.notices.push_back(
        {-1,
         "GS-1",
         notification_model::notice_kind::raised,
         notification_model::tier::enterprise,
         rules::level::orange}
    );
    notification_model::deadline_state st;
    st.ack_due = kNow + 300'000'000;
    st.told = 1;
    out.states.emplace_back(-1, st);
    auto notified = event_of("notified", kNow, "escalation");
    notified.note = "enterprise";
    out.events.push_back({-1, notified});
    return out;
}

store::alarm_change_result write(
    store::writer_connection& w, const alarm_model::changes& ch, const notification_model::escalation_output& out
) {
    store::alarm_change_result result;
    w.transact([&](store::transaction_scope& tx) { result = store::write_alarm_change_set(tx, {ch, out}); });
    return result;
}

}  // namespace

TEST_F(AlarmChangeSet, ProvisionalIdsBecomeTheDatabasesEverywhereTheChangeNamesThem) {
    register_station();
    const auto ch = raise_two();
    const auto out = tell_enterprise();
    const auto result = write(writer(), ch, out);
    ASSERT_EQ(result.new_ids.size(), 2u);
    const auto lel = result.new_ids[0], compound = result.new_ids[1];
    EXPECT_GT(lel, 0);
    EXPECT_GT(compound, 0);
    EXPECT_EQ(result.outbox_rows, 1u) << "one contact of the enterprise tier, one channel";

    store::alarms_repo alarms(db());
    const auto member = await(alarms.get(lel));
    ASSERT_TRUE(member);
    EXPECT_EQ(member->notification.ack_due, kNow + 300'000'000) << "the deadlines named the member's";
    EXPECT_EQ(member->notification.told, 1u);
    const auto incident = await(alarms.get(compound));
    ASSERT_TRUE(incident);
    ASSERT_EQ(incident->members.size(), 1u);
    EXPECT_EQ(incident->members[0].alarm, lel) << "the compound's member named the member's provisional id";

    const auto events = await(alarms.events_of(lel));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, "raised");
    EXPECT_EQ(events[0].reading_ts, kNow);
    EXPECT_EQ(events[1].type, "notified");
    EXPECT_EQ(events[1].note, "enterprise");
    EXPECT_LT(events[0].seq, events[1].seq) << "the engine's events, then the escalation's";

    store::notifications_repo outbox(db());
    const auto rows = await(outbox.of_alarm(lel));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].contact, "C-1");
    EXPECT_EQ(rows[0].channel, "log");
    EXPECT_EQ(rows[0].status, "pending");

    const auto states = await(alarms.rule_states());
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].state["above_since"], 1);
    const auto open = await(alarms.not_closed());
    EXPECT_EQ(open.size(), 2u);
}

TEST_F(AlarmChangeSet, UpdatesOfManyAlarmsGoInOneStatementWithTheLastWriteOfEachWinning) {
    register_station();
    const auto ids = write(writer(), raise_two(), {}).new_ids;
    ASSERT_EQ(ids.size(), 2u);
    auto lel = raise_two().alarms[0].after, compound = raise_two().alarms[1].after;
    lel.id = ids[0];
    compound.id = ids[1];
    compound.members[0].alarm = ids[0];
    alarm_model::changes ch;
    // The member takes two readings in this change, no event: both rows wait for one statement,
    // and the later one is what the row ends with. Every column's text survives the array literal.
    lel.value = 61;
    lel.count = 2;
    ch.alarms.push_back({lel, {}});
    lel.value = 62.5;
    lel.count = 3;
    lel.last_ts = kNow + 1'000'000;
    lel.title.zh = "甲烷 \"窨井\" {1,2} \\ NULL";
    lel.assignee = "ops \"2\"";
    ch.alarms.push_back({lel, {}});
    // The compound escalates: its event copies the row, so the queued rows are written before it.
    compound.lvl = compound.peak = rules::level::red;
    compound.value = 7;
    ch.alarms.push_back({compound, {event_of("escalated", kNow, "gas_station.leak_and_fire")}});
    write(writer(), ch, {});

    store::alarms_repo alarms(db());
    const auto member = await(alarms.get(ids[0]));
    ASSERT_TRUE(member);
    EXPECT_EQ(member->value, 62.5);
    EXPECT_EQ(member->count, 3);
    EXPECT_EQ(member->last_ts, kNow + 1'000'000);
    EXPECT_EQ(member->title.zh, "甲烷 \"窨井\" {1,2} \\ NULL");
    EXPECT_EQ(member->assignee, "ops \"2\"");
    EXPECT_FALSE(member->cleared_ts) << "an empty column stays NULL";
    const auto incident = await(alarms.get(ids[1]));
    ASSERT_TRUE(incident);
    EXPECT_EQ(incident->value, 7);
    const auto events = await(alarms.events_of(ids[1]));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].type, "escalated");
}

TEST_F(AlarmChangeSet, AChangeThatNamesANewAlarmItDoesNotHoldWritesNothing) {
    register_station();
    alarm_model::changes none;
    auto out = tell_enterprise();  // names -1, but no alarm of this change set is new
    EXPECT_THROW(write(writer(), none, out), std::logic_error);
    EXPECT_EQ(sql().query_value("SELECT count(*) FROM alarm_events"), "0");
    EXPECT_EQ(sql().query_value("SELECT count(*) FROM notifications"), "0");
}

TEST_F(AlarmChangeSet, AMemberNotYetWrittenIsStoredAsUnknownAndTheReadingsStillCommit) {
    register_station();
    auto ch = raise_two();
    std::swap(ch.alarms[0], ch.alarms[1]);  // the compound first: its member (-1) comes after it
    ch.alarms[0].after.id = -1;
    ch.alarms[1].after.id = -2;
    ch.alarms[0].after.members[0].alarm = -2;
    const auto result = write(writer(), ch, {});
    ASSERT_EQ(result.new_ids.size(), 2u) << "a contradiction in a member must not refuse the batch";
    store::alarms_repo alarms(db());
    const auto incident = await(alarms.get(result.new_ids[0]));
    ASSERT_TRUE(incident);
    ASSERT_EQ(incident->members.size(), 1u);
    EXPECT_EQ(incident->members[0].alarm, 0) << "unknown, as a reading member is";
    EXPECT_EQ(incident->members[0].rule, "gas_station.lel");
}

TEST_F(AlarmChangeSet, OneNoticeAtCommitLetsAFollowerReadTheWholeChangeInOrder) {
    register_station();
    std::mutex mutex;
    std::vector<store::logged_event> heard;
    store::event_follower follower(sql().url(), 30'000, 10'000, 1000, [&](std::vector<store::logged_event> events) {
        std::lock_guard lock(mutex);
        for (auto& e : events) heard.push_back(std::move(e));
    });
    follower.start();
    // A poll of 10 s: what the follower hears within the wait below came by the NOTIFY.
    write(writer(), raise_two(), tell_enterprise());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        {
            std::lock_guard lock(mutex);
            if (heard.size() >= 3 || std::chrono::steady_clock::now() > deadline) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    follower.stop();
    std::lock_guard lock(mutex);
    ASSERT_EQ(heard.size(), 3u) << "both raised events and the notified one";
    EXPECT_EQ(heard[0].event.type, "raised");
    EXPECT_EQ(heard[2].event.type, "notified");
    EXPECT_LT(heard[0].event.seq, heard[1].event.seq);
    EXPECT_LT(heard[1].event.seq, heard[2].event.seq);

    store::event_log log(db());
    const auto replay = await(log.replay(0, 100));
    EXPECT_EQ(replay.events.size(), 3u);
    const auto snapshot = await(log.snapshot());
    EXPECT_EQ(snapshot.alarms.size(), 2u);
    EXPECT_EQ(snapshot.seq, replay.newest);
}

TEST_F(NotificationsRepo, ADueRowIsDeliveredOnceAndItsAttemptKept) {
    register_station();
    const auto ids = write(writer(), raise_two(), tell_enterprise()).new_ids;
    store::notifications_repo outbox(db());
    auto due = await(outbox.due({}, 10));
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].notification.alarm, ids[0]);
    EXPECT_EQ(due[0].site_name, "梅林加油站");
    EXPECT_EQ(due[0].district, "福田区");
    EXPECT_TRUE(await(outbox.due({due[0].notification.id}, 10)).empty()) << "in flight: left out";
    store::delivery_attempt done;
    done.notification = due[0].notification.id;
    done.status = "delivered";
    done.duration_ms = 3;
    done.http_status = 200;
    await(outbox.record(done));
    EXPECT_TRUE(await(outbox.due({}, 10)).empty());
    const auto rows = await(outbox.of_alarm(ids[0]));
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].status, "delivered");
    EXPECT_EQ(rows[0].attempts, 1);
    const auto attempts = await(outbox.attempts_of_alarm(ids[0]));
    ASSERT_EQ(attempts.size(), 1u);
    EXPECT_EQ(attempts[0].http_status, 200);
    store::delivery_attempt again = done;  // a row no longer pending is left alone
    again.status = "failed";
    await(outbox.record(again));
    EXPECT_EQ(await(outbox.of_alarm(ids[0]))[0].status, "delivered");
}

TEST_F(SilencesRepo, TheCapHoldsAndEveryChangeIsAudited) {
    store::silences_repo silences(db());
    store::silence_record s;
    s.what.site = "GS-1";
    s.what.starts_at = kNow - 1'000'000;
    s.what.ends_at = kNow + 3'600'000'000LL;
    s.owner = "ops";
    s.reason = "maintenance";
    const auto created = await(silences.create(s, 1));
    ASSERT_TRUE(created);
    EXPECT_GT(created->what.id, 0);
    EXPECT_FALSE(await(silences.create(s, 1))) << "silences.max_active reached: nothing stored";
    EXPECT_EQ(await(silences.unexpired()).size(), 1u);
    const auto ended = await(silences.end(created->what.id, "ops2"));
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->ended_early_by, "ops2");
    EXPECT_TRUE(await(silences.unexpired()).empty());
    EXPECT_FALSE(await(silences.end(created->what.id, "ops2"))) << "over already";
    const auto audit = await(silences.audit(created->what.id));
    ASSERT_EQ(audit.size(), 2u);
    EXPECT_EQ(audit[0].action, "created");
    EXPECT_EQ(audit[1].action, "ended");
    EXPECT_EQ(audit[1].actor, "ops2");
}

TEST_F(ReadingsRepo, TheWriterStoresAReadingOnceAndTheRepositoryReadsItBack) {
    const auto key = register_station();
    // Sent in COPY's binary form: times to the microsecond on both sides of 2000-01-01 (its
    // epoch) and values a text form could round.
    std::vector<rules::reading> rows{
        {key, -1'234'567, -0.1},
        {key, 946'684'800'000'000, 1e-300},
        {key, kNow - 2'000'001, 10},
        {key, kNow - 1'000'000, 0.1 + 0.2}};
    std::vector<bool> inserted;
    int hook_calls = 0;
    writer().commit_readings(
        rows,
        inserted,
        [&](store::transaction_scope&, const auto&, const auto& flags) {
            ++hook_calls;
            EXPECT_EQ(flags, std::vector<bool>(4, true)) << "the hook sees which rows are new";
        },
        count_anywhere
    );
    EXPECT_EQ(inserted, std::vector<bool>(4, true));
    writer().commit_readings(rows, inserted, {}, count_anywhere);
    EXPECT_EQ(inserted, std::vector<bool>(4, false)) << "a gateway's retry stores nothing twice";
    EXPECT_EQ(hook_calls, 1);
    store::readings_repo readings(db());
    const auto back = await(readings.range(key, -util::micros{3650} * 86'400 * util::kMicrosPerSecond, kNow, 10));
    ASSERT_EQ(back.size(), 4u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(back[i].ts, rows[i].ts);
        EXPECT_EQ(back[i].value, rows[i].value) << "bit for bit";
    }
    const auto newest = await(readings.newest_of({key}));
    ASSERT_EQ(newest.size(), 1u);
    EXPECT_EQ(newest[0].second, kNow - 1'000'000);
}

TEST_F(StatsRepo, NewReadingsCountOnceWhereTheWriterSaysTheirSensorIs) {
    const auto key = register_station();
    store::stats_repo stats(db());
    await(stats.configure("Asia/Shanghai", 3600));
    const std::vector<rules::reading> rows{
        {key, kNow - 3'000'000, 1}, {key, kNow - 2'000'000, 2}, {key + 1000, kNow, 3}};
    const auto only_the_station = [key](std::int32_t sensor, std::string& domain, std::string& district) {
        if (sensor != key) return false;  // a sensor removed since: its rows count nowhere
        domain = "gas_station";
        district = "福田区 \"南\", {北}";  // quoted in the statement's array
        return true;
    };
    std::vector<bool> inserted;
    writer().commit_readings(rows, inserted, {}, only_the_station);
    EXPECT_EQ(inserted, std::vector<bool>(3, true));
    writer().commit_readings(rows, inserted, {}, only_the_station);
    stats::stats_filter f;
    f.from_day = f.to_day = await(stats.today());
    f.group_by = "district";
    const auto data = await(stats.collect(f));
    ASSERT_EQ(data.readings_received.size(), 1u);
    EXPECT_EQ(data.readings_received[0].group, "福田区 \"南\", {北}");
    EXPECT_EQ(data.readings_received[0].value, 2) << "a retry counts nothing again";
}

TEST_F(StatsRepo, ARaisedAlarmIsCountedOnItsDay) {
    register_station();
    store::stats_repo stats(db());
    await(stats.configure("Asia/Shanghai", 3600));
    write(writer(), raise_two(), tell_enterprise());
    const auto today = await(stats.today());
    EXPECT_EQ(today.size(), 10u);
    stats::stats_filter f;
    f.from_day = today;
    f.to_day = today;
    f.group_by = "domain";
    const auto data = await(stats.collect(f));
    ASSERT_EQ(data.alarms.size(), 1u);
    EXPECT_EQ(data.alarms[0].group, "gas_station");
    EXPECT_EQ(data.alarms[0].raised, 2);
    EXPECT_EQ(data.time_zone, "Asia/Shanghai");
}
