#include "cityguard/notification_model/escalation.hpp"

#include <gtest/gtest.h>

using namespace cityguard;
using notification_model::notice_kind;
using notification_model::tier;

namespace {

using cityguard::util::kMicrosPerSecond;
constexpr util::micros kT0 = 1'800'000'000LL * kMicrosPerSecond;

notification_model::policy test_policy() {
    return notification_model::parse_policy(
        nlohmann::json::parse(R"({
          "channels": {"log": {"type": "log"}},
          "escalation": ["enterprise", "district", "sector", "city"],
          "policies": [
            {"level": "red", "notify": ["enterprise"], "ack_deadline_s": 60, "disposal_deadline_s": 600},
            {"level": "orange", "notify": ["enterprise"], "ack_deadline_s": 300, "disposal_deadline_s": 3600},
            {"level": "yellow", "notify": ["enterprise"], "ack_deadline_s": null, "disposal_deadline_s": null},
            {"level": "blue", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null}
          ]})"),
        nullptr
    );
}

alarm_model::alarm make_alarm(std::int64_t id, rules::level lvl) {
    alarm_model::alarm a;
    a.id = id;
    a.rule = "gas_station.lel";
    a.site = "GS-1";
    a.sensor = "GS-1-LEL";
    a.domain = "gas_station";
    a.lvl = lvl;
    return a;
}

alarm_model::changes write(const alarm_model::alarm& a, std::vector<std::string> types) {
    alarm_model::changes ch;
    alarm_model::changes::alarm_write w;
    w.after = a;
    for (auto& t : types) {
        alarm_model::event e;
        e.type = std::move(t);
        w.events.push_back(std::move(e));
    }
    ch.alarms.push_back(std::move(w));
    return ch;
}

std::vector<std::pair<notice_kind, tier>> told(const notification_model::escalation_output& out) {
    std::vector<std::pair<notice_kind, tier>> v;
    for (const auto& n : out.notices) v.emplace_back(n.kind, n.to);
    return v;
}

std::vector<std::string> event_types(const notification_model::escalation_output& out) {
    std::vector<std::string> v;
    for (const auto& e : out.events) v.push_back(e.what.type + (e.what.note.empty() ? "" : " " + e.what.note));
    return v;
}

struct Escalation : ::testing::Test {
    notification_model::policy policy = test_policy();
    notification_model::escalation esc{policy, [](const std::string&) { return std::string("福田区"); }};
};

}  // namespace

TEST_F(Escalation, AnUnacknowledgedRedAlarmClimbsOneTierPerDeadlineUpToTheCity) {
    auto a = make_alarm(7, rules::level::red);
    auto out = esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::raised, tier::enterprise}}));
    EXPECT_EQ(event_types(out), std::vector<std::string>{"notified enterprise"});
    ASSERT_EQ(out.states.size(), 1u);
    EXPECT_EQ(out.states[0].second.ack_due, kT0 + 60 * kMicrosPerSecond);

    EXPECT_TRUE(esc.tick(kT0 + 59 * kMicrosPerSecond).empty());
    out = esc.tick(kT0 + 60 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::district}}));
    EXPECT_EQ(event_types(out), std::vector<std::string>{"escalated_to district: not acknowledged in time"});
    // Then the domain's sector desk (the gas department), then the city.
    out = esc.tick(kT0 + 120 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::sector}}));
    out = esc.tick(kT0 + 180 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::city}}));
    // The city is the last tier: no more acknowledge deadlines.
    EXPECT_FALSE(esc.state_of(7)->ack_due.has_value());
    EXPECT_TRUE(esc.tick(kT0 + 500 * kMicrosPerSecond).notices.empty());
    // Stored as bits 0, 1, 3 and 2 (sector came last), listed in escalation order.
    EXPECT_EQ(esc.state_of(7)->told, 0b1111u);
    a.notification.told = esc.state_of(7)->told;
    EXPECT_EQ(
        alarm_model::to_json(a)["notification"]["told"],
        nlohmann::json::array({"enterprise", "district", "sector", "city"})
    );
}

TEST_F(Escalation, WithoutSectorDesksInTheChainTheCityIsToldOneDeadlineSooner) {
    policy.chain = {tier::enterprise, tier::district, tier::city};
    auto a = make_alarm(17, rules::level::red);
    esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    EXPECT_EQ(
        told(esc.tick(kT0 + 60 * kMicrosPerSecond)),
        (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::district}})
    );
    esc.commit();
    EXPECT_EQ(
        told(esc.tick(kT0 + 120 * kMicrosPerSecond)),
        (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::city}})
    );
    esc.commit();
    // A policy that tells the sector at once climbs from there to the city.
    EXPECT_EQ(policy.next_after(tier::sector), tier::city);
    EXPECT_FALSE(policy.next_after(tier::city).has_value());
}

TEST(EscalationChain, IsReadFromTheFileUpwardAndOnce) {
    auto doc = nlohmann::json::parse(R"({"channels": {"log": {"type": "log"}}, "policies": [
        {"level": "red", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null},
        {"level": "orange", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null},
        {"level": "yellow", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null},
        {"level": "blue", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null}]})");
    EXPECT_EQ(
        notification_model::parse_policy(doc, nullptr).chain,
        (std::vector<tier>{tier::enterprise, tier::district, tier::city})
    );
    doc["escalation"] = {"enterprise", "district", "sector", "city"};
    EXPECT_EQ(notification_model::parse_policy(doc, nullptr).chain.size(), 4u);
    EXPECT_EQ(
        notification_model::to_json(notification_model::parse_policy(doc, nullptr))["escalation"], doc["escalation"]
    );
    doc["escalation"] = {"district", "enterprise"};
    EXPECT_THROW(notification_model::parse_policy(doc, nullptr), notification_model::policy_error);
    doc["escalation"] = {"city", "city"};
    EXPECT_THROW(notification_model::parse_policy(doc, nullptr), notification_model::policy_error);
    doc["escalation"] = {"province"};
    EXPECT_THROW(notification_model::parse_policy(doc, nullptr), notification_model::policy_error);
}

TEST_F(Escalation, TheTiersRunEnterpriseDistrictSectorCity) {
    using notification_model::next_tier;
    EXPECT_EQ(next_tier(tier::enterprise), tier::district);
    EXPECT_EQ(next_tier(tier::district), tier::sector);
    EXPECT_EQ(next_tier(tier::sector), tier::city);
    EXPECT_FALSE(next_tier(tier::city).has_value());
    EXPECT_EQ(notification_model::parse_tier("sector"), tier::sector);
    EXPECT_EQ(notification_model::to_string(tier::sector), "sector");
}

TEST_F(Escalation, AcknowledgingStopsEscalationButAnUndisposedAlarmIsRemindedAndTheNextTierTold) {
    auto a = make_alarm(8, rules::level::red);
    esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    a.state = alarm_model::status::acknowledged;
    auto out = esc.observe(write(a, {"acknowledged"}), kT0 + 30 * kMicrosPerSecond);
    esc.commit();
    EXPECT_TRUE(out.notices.empty());
    EXPECT_TRUE(esc.tick(kT0 + 61 * kMicrosPerSecond).empty()) << "acknowledged in time: nobody else is told";
    out = esc.tick(kT0 + 600 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(
        told(out),
        (std::vector<std::pair<notice_kind, tier>>{
            {notice_kind::reminder, tier::enterprise}, {notice_kind::escalated, tier::district}})
    );
    EXPECT_EQ(
        event_types(out),
        (std::vector<std::string>{
            "disposal_overdue enterprise reminded", "escalated_to district: not disposed of in time"})
    );
    // Resolved: no more reminders.
    a.state = alarm_model::status::resolved;
    esc.observe(write(a, {"resolved"}), kT0 + 700 * kMicrosPerSecond);
    esc.commit();
    EXPECT_TRUE(esc.tick(kT0 + 5000 * kMicrosPerSecond).empty());
}

TEST_F(Escalation, ALevelChangeUpwardRestartsTheDeadlinesUnderTheNewLevelsPolicy) {
    auto a = make_alarm(9, rules::level::orange);
    esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    EXPECT_EQ(esc.state_of(9)->ack_due, kT0 + 300 * kMicrosPerSecond);
    a.lvl = rules::level::red;
    auto out = esc.observe(write(a, {"escalated"}), kT0 + 200 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::level_up, tier::enterprise}}));
    EXPECT_EQ(esc.state_of(9)->ack_due, kT0 + 260 * kMicrosPerSecond);
}

TEST_F(Escalation, AClearedThenClosedAlarmTellsEveryTierThatWasToldAndIsForgotten) {
    auto a = make_alarm(10, rules::level::red);
    esc.observe(write(a, {"raised"}), kT0);
    esc.tick(kT0 + 60 * kMicrosPerSecond);
    esc.commit();
    a.cond = alarm_model::condition::cleared;
    auto out = esc.observe(write(a, {"cleared"}), kT0 + 70 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(
        told(out),
        (std::vector<std::pair<notice_kind, tier>>{
            {notice_kind::cleared, tier::enterprise}, {notice_kind::cleared, tier::district}})
    );
    a.state = alarm_model::status::closed;
    out = esc.observe(write(a, {"closed"}), kT0 + 80 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out).size(), 2u);
    EXPECT_EQ(esc.tracked(), 0u);
}

TEST_F(Escalation, ASilencedAlarmIsNotToldUntilTheSilenceEnds) {
    notification_model::silence s;
    s.id = 3;
    s.site = "GS-1";
    s.starts_at = kT0 - kMicrosPerSecond;
    s.ends_at = kT0 + 1000 * kMicrosPerSecond;
    esc.set_silences({s});
    auto a = make_alarm(11, rules::level::red);
    auto out = esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    EXPECT_TRUE(out.notices.empty());
    EXPECT_EQ(event_types(out), std::vector<std::string>{"silenced silence 3"});
    EXPECT_TRUE(esc.state_of(11)->raise_pending);
    EXPECT_TRUE(esc.tick(kT0 + 500 * kMicrosPerSecond).empty()) << "no escalation during a silence";
    out = esc.tick(kT0 + 1000 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::raised, tier::enterprise}}));
    EXPECT_EQ(esc.state_of(11)->ack_due, kT0 + 1060 * kMicrosPerSecond) << "deadlines start when the silence ends";
}

TEST_F(Escalation, ASilenceMatchesOnlyWhatAllItsMatchersName) {
    // The alarm: site GS-1, sensor GS-1-LEL, rule gas_station.lel, domain gas_station, and the
    // district the fixture gives every site, 福田区. A silence naming all five holds it; one
    // that differs in any single matcher does not, whichever it is.
    auto matching = [] {
        notification_model::silence s;
        s.site = "GS-1";
        s.sensor = "GS-1-LEL";
        s.rule = "gas_station.lel";
        s.domain = "gas_station";
        s.district = "福田区";
        s.starts_at = kT0 - kMicrosPerSecond;
        s.ends_at = kT0 + 1000 * kMicrosPerSecond;
        return s;
    };
    using matcher = std::optional<std::string> notification_model::silence::*;
    const std::vector<std::pair<const char*, matcher>> matchers{
        {"site", &notification_model::silence::site},
        {"sensor", &notification_model::silence::sensor},
        {"rule", &notification_model::silence::rule},
        {"domain", &notification_model::silence::domain},
        {"district", &notification_model::silence::district}};
    std::int64_t id = 100;
    auto notices_under = [&](const notification_model::silence& s) {
        notification_model::escalation fresh{policy, [](const std::string&) { return std::string("福田区"); }};
        fresh.set_silences({s});
        return fresh.observe(write(make_alarm(++id, rules::level::red), {"raised"}), kT0).notices.size();
    };
    EXPECT_EQ(notices_under(matching()), 0u) << "all five matchers name the alarm";
    for (const auto& [name, field] : matchers) {
        auto s = matching();
        s.*field = "something else";
        EXPECT_EQ(notices_under(s), 1u) << "a silence whose " << name << " differs";
        s.*field = std::nullopt;
        EXPECT_EQ(notices_under(s), 0u) << "a silence without a " << name << " matcher";
    }
}

TEST_F(Escalation, RollbackForgetsWhatAFailedTransactionStaged) {
    auto a = make_alarm(13, rules::level::red);
    esc.observe(write(a, {"raised"}), kT0);
    esc.rollback();
    EXPECT_EQ(esc.tracked(), 0u);
    esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    esc.tick(kT0 + 60 * kMicrosPerSecond);
    esc.rollback();
    EXPECT_EQ(esc.state_of(13)->told, 1u) << "the escalation is fired again at the next tick";
    EXPECT_EQ(esc.tick(kT0 + 61 * kMicrosPerSecond).notices.size(), 1u);
}

TEST_F(Escalation, ARestoredOverdueAlarmEscalatesOnceAtTheFirstTick) {
    notification_model::deadline_state st;
    st.ack_due = kT0;
    st.told = 1;
    esc.restore(make_alarm(14, rules::level::red), st);
    auto out = esc.tick(kT0 + 5 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out), (std::vector<std::pair<notice_kind, tier>>{{notice_kind::escalated, tier::district}}));
    EXPECT_TRUE(esc.tick(kT0 + 6 * kMicrosPerSecond).empty());
}

TEST_F(Escalation, AnInhibitedMemberIsToldOnlyIfItOutlivesItsIncident) {
    auto a = make_alarm(15, rules::level::red);
    a.inhibited_by = 99;
    auto out = esc.observe(write(a, {"raised"}), kT0);
    esc.commit();
    EXPECT_TRUE(out.notices.empty());
    a.inhibited_by.reset();
    out = esc.observe(write(a, {"released"}), kT0 + 10 * kMicrosPerSecond);
    esc.commit();
    EXPECT_EQ(told(out).size(), 1u);
}

TEST_F(Escalation, WhatWasObservedUnderAProvisionalIdMovesToTheDatabasesId) {
    // alarms::alarm_transaction: a new alarm is observed as -1 before it is written.
    auto out = esc.observe(write(make_alarm(-1, rules::level::red), {"raised"}), kT0);
    ASSERT_EQ(out.notices.size(), 1u);
    EXPECT_EQ(out.notices[0].alarm, -1) << "the store turns it into the real id";
    esc.assign_ids({{-1, 41}});
    EXPECT_FALSE(esc.state_of(-1));
    ASSERT_TRUE(esc.state_of(41));
    esc.rollback();
    EXPECT_FALSE(esc.state_of(41)) << "a rolled back change forgets the alarm under its real id too";
    EXPECT_EQ(esc.tracked(), 0u);
    esc.observe(write(make_alarm(-1, rules::level::red), {"raised"}), kT0);
    esc.assign_ids({{-1, 41}});
    esc.commit();
    const auto due = esc.tick(kT0 + 60 * kMicrosPerSecond);
    ASSERT_EQ(due.notices.size(), 1u);
    EXPECT_EQ(due.notices[0].alarm, 41) << "its deadline escalates under the real id";
}
