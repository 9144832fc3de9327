#include <gtest/gtest.h>

#include <set>
#include <string>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using nlohmann::json;

namespace {

constexpr std::int64_t kDay = 86'400'000'000LL;

std::string date_of(std::int64_t day) { return cityguard::util::format_date(day); }

/// 1,440 readings of one sensor on one UTC day, one a minute, straight into the database (older
/// days than the server accepts through the API): value = minute of the hour.
void fill_day(const scratch_database& db, const std::string& key, std::int64_t day) {
    db.exec("SELECT cityguard_ensure_partitions('" + date_of(day) + "', '" + date_of(day) + "')");
    db.exec(
        "INSERT INTO readings SELECT " + key + ", '" + date_of(day) +
        " 00:00:00+00'::timestamptz + i * interval '1 minute', (i % 60)::float8 FROM generate_series(0, 1439) i"
    );
}

}  // namespace

TEST(Storage, PastDaysAreRolledUpOldPartitionsDroppedAndAYearLongChartReadsTheRollups) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GS-R", {"GS-R-1"});
    auto c = srv.client();
    const auto& db = srv.db();
    const std::string key = db.query_value("SELECT key FROM sensors WHERE id = 'GS-R-1'");
    const auto now = cityguard::util::now_micros();
    const std::int64_t today = cityguard::util::day_number(now);
    const std::int64_t old_day = today - 500;  // past storage.retention_days (400)
    for (std::int64_t d : {old_day, old_day + 1, today - 2, today - 1}) fill_day(db, key, d);
    // An alarm, which retention must never touch.
    ASSERT_EQ(c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-R-1", now - 1'000'000, 60)).status, 200);
    const auto alarms_before = db.query_value("SELECT count(*) FROM alarms");
    const auto events_before = db.query_value("SELECT count(*) FROM alarm_events");
    ASSERT_NE(
        alarms_before, "0"
    ) << "no alarm raised: the check that retention leaves alarms alone would prove nothing";
    ASSERT_NE(events_before, "0");

    auto run = c.call("POST", "/api/v1/storage/maintenance", kAdminKey);
    ASSERT_EQ(run.status, 200) << run.body;
    auto report = run.json();
    EXPECT_EQ(report["rolled_days"], 4) << report.dump() << ": every past day with readings, not today";
    EXPECT_EQ(report["rolled_readings"], 4 * 1440);
    EXPECT_EQ(
        report["dropped"],
        json::array(
            {"readings_" + date_of(old_day).replace(4, 1, "").replace(6, 1, ""),
             "readings_" + date_of(old_day + 1).replace(4, 1, "").replace(6, 1, "")}
        )
    );
    EXPECT_EQ(db.query_value("SELECT count(*) FROM readings WHERE ts < now() - interval '400 days'"), "0");
    EXPECT_EQ(db.query_value("SELECT count(*) FROM readings_1m"), std::to_string(4 * 1440));
    EXPECT_EQ(db.query_value("SELECT count(*) FROM readings_1h"), std::to_string(4 * 24));
    EXPECT_EQ(db.query_value("SELECT count(*) FROM alarms"), alarms_before) << "alarms are never touched";
    EXPECT_EQ(db.query_value("SELECT count(*) FROM alarm_events"), events_before) << "nor their history";
    EXPECT_EQ(c.call("POST", "/api/v1/storage/maintenance", kAdminKey).json()["rolled_days"], 0)
        << "a rolled day is not rolled again";

    // A year-long chart: the old days from the hour rollup, today from raw readings.
    const std::string path = "/api/v1/sensors/GS-R-1/readings?from=" + date_of(old_day) +
                             "T00:00:00Z&to=" + cityguard::util::format_rfc3339(now) + "&bucket=1d";
    auto chart = c.call("GET", path, kAdminKey);
    ASSERT_EQ(chart.status, 200) << chart.body;
    auto body = chart.json();
    EXPECT_EQ(body["source"]["rollup"], "1h");
    EXPECT_EQ(body["source"]["raw_from"], date_of(today) + "T00:00:00.000Z");
    ASSERT_EQ(body["buckets"].size(), 5u) << body.dump();
    EXPECT_EQ(body["buckets"][0]["ts"], date_of(old_day) + "T00:00:00.000Z");
    EXPECT_EQ(body["buckets"][0]["count"], 1440);
    EXPECT_EQ(body["buckets"][0]["min"], 0);
    EXPECT_EQ(body["buckets"][0]["max"], 59);
    EXPECT_DOUBLE_EQ(body["buckets"][0]["avg"].get<double>(), 29.5);
    EXPECT_EQ(body["buckets"][4]["count"], 1) << "today's one reading, raw";
    // Buckets a rollup cannot make (not whole minutes) come from raw readings only.
    auto raw = c.call(
        "GET",
        "/api/v1/sensors/GS-R-1/readings?from=" + date_of(today - 1) + "T00:00:00Z&to=" + date_of(today - 1) +
            "T01:00:00Z&bucket=90s",
        kAdminKey
    );
    EXPECT_EQ(raw.json()["source"]["rollup"], nullptr);
    EXPECT_EQ(raw.json()["buckets"].size(), 40u);

    // A late reading for yesterday: the day is rolled again, and the chart counts it.
    ASSERT_EQ(
        c.call("POST", "/api/v1/readings", kAdminKey, one_reading("GS-R-1", (today - 1) * kDay + 30'000'000, 7)).status,
        200
    );
    EXPECT_EQ(db.query_value("SELECT count(*) FROM readings_late_days"), "1");
    EXPECT_EQ(c.call("POST", "/api/v1/storage/maintenance", kAdminKey).json()["rolled_days"], 1);
    EXPECT_EQ(c.call("GET", path, kAdminKey).json()["buckets"][3]["count"], 1441);

    auto overview = c.call("GET", "/api/v1/storage", kAdminKey);
    ASSERT_EQ(overview.status, 200) << overview.body;
    auto o = overview.json();
    EXPECT_EQ(o["retention_days"]["raw"], 400);
    EXPECT_EQ(o["rolled_up"]["days"], 4);
    EXPECT_EQ(o["rolled_up"]["late_days"], 0);
    EXPECT_GT(o["tables"]["readings"]["bytes"].get<long long>(), 0);
    std::set<std::string> years;
    for (std::int64_t d : {old_day, old_day + 1, today - 2, today - 1}) years.insert(date_of(d).substr(0, 4));
    EXPECT_EQ(o["tables"]["readings_1h"]["partitions"], years.size()) << "one partition per year of hours";
}

TEST(Storage, MaintenanceIsForAdminsAndTheOverviewForOperators) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    auto c = srv.client();
    const auto op = srv.make_key("op", "operator");
    EXPECT_EQ(c.call("POST", "/api/v1/storage/maintenance", op).status, 403);
    EXPECT_EQ(c.call("GET", "/api/v1/storage", op).status, 200);
}
