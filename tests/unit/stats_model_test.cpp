#include "cityguard/stats/stats_model.hpp"

#include <gtest/gtest.h>

using namespace cityguard;
using nlohmann::json;

namespace {

stats::alarm_counts counts_of(const std::string& group, std::int64_t raised, int level_index) {
    stats::alarm_counts c;
    c.group = group;
    c.raised = raised;
    c.raised_by_level[static_cast<std::size_t>(level_index)] = raised;
    return c;
}

stats::stats_filter stats_filter_for(const std::string& group_by, const std::string& from, const std::string& to) {
    stats::stats_filter f;
    f.group_by = group_by;
    f.from_day = from;
    f.to_day = to;
    return f;
}

}  // namespace

TEST(StatsModel, QuantilesInterpolateWithinTheirBucket) {
    stats::duration_histogram h{};
    EXPECT_FALSE(stats::histogram_quantile(h, 0.5)) << "no alarm, no figure";
    h[2] = 10;  // [120 s, 300 s)
    EXPECT_DOUBLE_EQ(*stats::histogram_quantile(h, 0.5), 210);
    EXPECT_DOUBLE_EQ(*stats::histogram_quantile(h, 0.9), 282);
    h[0] = 10;  // [0, 60 s)
    EXPECT_DOUBLE_EQ(*stats::histogram_quantile(h, 0.5), 60) << "the median falls on the first bucket's end";
    EXPECT_DOUBLE_EQ(*stats::histogram_quantile(h, 0.25), 30);
    stats::duration_histogram slow{};
    slow[13] = 3;  // a week and more: no upper bound
    EXPECT_DOUBLE_EQ(*stats::histogram_quantile(slow, 0.9), 604800);
}

TEST(StatsModel, ATimeGroupingHasEveryPeriodAndATotal) {
    stats::stats_data d;
    d.time_zone = "Asia/Shanghai";
    d.alarms = {counts_of("2026-11-02", 3, 0), counts_of("2026-11-04", 2, 2)};
    d.readings_grouped = true;
    d.readings_received = {{"2026-11-02", 100}};
    d.readings_expected = {{"", 400}};
    d.sensors = {{"", 10, 1}};
    const auto t = stats::build_table(d, stats_filter_for("day", "2026-11-01", "2026-11-04"));
    ASSERT_EQ(t.rows.size(), 4u);
    EXPECT_EQ(t.rows[0].group, "2026-11-01");
    EXPECT_EQ(t.rows[0].alarms.raised, 0);
    EXPECT_EQ(t.rows[1].alarms.raised, 3);
    EXPECT_EQ(*t.rows[2].readings, 0) << "a day without readings received none";
    EXPECT_FALSE(t.rows[1].sensors) << "sensors are not counted by day";
    EXPECT_EQ(t.total.alarms.raised, 5);
    EXPECT_EQ(t.total.alarms.raised_by_level[2], 2);

    const auto j = stats::to_json(t);
    EXPECT_EQ(j["total"]["group"], nullptr);
    EXPECT_EQ(j["total"]["sensors"]["online_ratio"], 0.9);
    EXPECT_EQ(j["total"]["readings"]["completeness"], 0.25);
    EXPECT_EQ(j["rows"][1]["alarms"]["by_level"]["red"], 3);
    EXPECT_EQ(j["rows"][1]["alarms"]["false_alarm_share"], nullptr) << "no alarm was closed";

    d.alarms.clear();
    d.readings_received.clear();
    const auto weeks = stats::build_table(d, stats_filter_for("week", "2026-11-01", "2026-11-30"));
    ASSERT_EQ(weeks.rows.size(), 6u) << "weeks start on Monday: 10-26 holds 11-01";
    EXPECT_EQ(weeks.rows[0].group, "2026-10-26");
    const auto months = stats::build_table(d, stats_filter_for("month", "2026-11-15", "2027-02-01"));
    ASSERT_EQ(months.rows.size(), 4u);
    EXPECT_EQ(months.rows[3].group, "2027-02");
}

TEST(StatsModel, LevelsAreNamedAndSharesCountClosedAlarms) {
    stats::stats_data d;
    auto red = counts_of("1", 4, 0);
    red.closed = 4;
    red.false_alarm = 1;
    red.disposed = 4;
    red.disposed_late = 1;
    d.alarms = {red};
    const auto t = stats::build_table(d, stats_filter_for("level", "2026-11-01", "2026-11-30"));
    ASSERT_EQ(t.rows.size(), 4u);
    EXPECT_EQ(t.rows[0].group, "red");
    EXPECT_EQ(t.rows[3].group, "blue");
    const auto j = stats::to_json(t);
    EXPECT_EQ(j["rows"][0]["alarms"]["false_alarm_share"], 0.25);
    EXPECT_EQ(j["rows"][0]["disposal"]["rate"], 0.75);
}

TEST(StatsModel, TheCsvOpensInASpreadsheet) {
    stats::stats_data d;
    d.alarms = {counts_of("福田区", 2, 1), counts_of("=HYPERLINK(\"x\")", 1, 1), counts_of("梅林,\"一号\"站", 1, 0)};
    const auto t = stats::build_table(d, stats_filter_for("district", "2026-11-01", "2026-11-30"));
    const auto csv = stats::to_csv(t, "zh");
    EXPECT_EQ(csv.rfind("\xEF\xBB\xBF分组,报警数,", 0), 0u) << "BOM, then the Chinese header";
    EXPECT_NE(csv.find("\r\n福田区,2,0,2,0,0,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("\r\n\"'=HYPERLINK(\"\"x\"\")\",1,"), std::string::npos) << "no formula runs: " << csv;
    EXPECT_NE(csv.find("\r\n\"梅林,\"\"一号\"\"站\",1,1,"), std::string::npos)
        << "commas and quotes in a name: " << csv;
    EXPECT_NE(csv.find("\r\n合计,4,"), std::string::npos);
    EXPECT_EQ(stats::to_csv(t, "en").rfind("\xEF\xBB\xBFgroup,raised,red,", 0), 0u);
}

// Issue 26: every prefix OWASP lists, and those a spreadsheet skips or folds before it looks.
TEST(StatsModel, TheCsvNeutralisesEveryFormulaPrefix) {
    const std::vector<std::string> hostile{
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(1)",
        "\t=1+1",
        "\r=1+1",
        " =1+1",
        "|calc",
        "\n=1",
        "\uFF1D1+1",
        "\uFF0B1",
        "\uFF0D1",
        "\uFF20SUM(1)"};
    for (const auto& name : hostile) {
        stats::stats_data d;
        d.alarms = {counts_of(name, 1, 0)};
        const auto csv =
            stats::to_csv(stats::build_table(d, stats_filter_for("district", "2026-11-01", "2026-11-30")), "en");
        const auto line = csv.substr(csv.find("\r\n") + 2);
        const bool quoted = line[0] == '"';
        EXPECT_EQ(line.substr(quoted ? 1 : 0, 1 + name.size()), "'" + name) << "not neutralised: " << line;
    }
    stats::stats_data plain;
    plain.alarms = {counts_of("Futian 1", 1, 0)};
    const auto csv =
        stats::to_csv(stats::build_table(plain, stats_filter_for("district", "2026-11-01", "2026-11-30")), "en");
    EXPECT_NE(csv.find("\r\nFutian 1,1,"), std::string::npos) << "ordinary text unchanged: " << csv;
}
