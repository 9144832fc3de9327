#include "cityguard/util/time.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace cityguard::util;

TEST(Rfc3339, ParsesUtcWithMillis) {
    auto t = parse_rfc3339("2026-11-22T08:00:00.250Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(*t, 1795334400250000LL);
}

TEST(Rfc3339, AppliesOffsets) {
    EXPECT_EQ(parse_rfc3339("2026-11-22T16:00:00+08:00"), parse_rfc3339("2026-11-22T08:00:00Z"));
    EXPECT_EQ(parse_rfc3339("2026-11-22T03:30:00-04:30"), parse_rfc3339("2026-11-22T08:00:00Z"));
}

TEST(Rfc3339, KeepsMicroseconds) {
    EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00.000001Z"), 1);
    EXPECT_EQ(*parse_rfc3339("1970-01-01T00:00:00.123456000Z"), 123456);
}

TEST(Rfc3339, RefusesSubMicrosecondPrecision) { EXPECT_FALSE(parse_rfc3339("1970-01-01T00:00:00.1234567Z")); }

TEST(Rfc3339, RefusesMalformed) {
    for (const char* bad :
         {"",
          "2026-11-22",
          "2026-11-22T08:00:00",
          "2026-13-01T00:00:00Z",
          "2026-02-30T00:00:00Z",
          "2026-11-22T24:00:00Z",
          "2026-11-22T08:00:00.Z",
          "2026-11-22T08:00:00Zjunk",
          "2026-11-22T08:00:00+8:00",
          "abcd-11-22T08:00:00Z",
          "2026-11-22X08:00:00Z"})
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(Rfc3339, LeapDayAndLeapSecond) {
    EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
    EXPECT_FALSE(parse_rfc3339("2026-02-29T00:00:00Z"));
    EXPECT_EQ(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2016-12-31T23:59:59Z"));
}

TEST(Rfc3339, FormatRoundTrips) {
    for (const char* s : {"2026-11-22T08:00:00.250Z", "1969-12-31T23:59:59.999999Z", "2000-02-29T12:34:56.000Z"}) {
        auto t = parse_rfc3339(s);
        ASSERT_TRUE(t) << s;
        EXPECT_EQ(format_rfc3339(*t), s);
    }
}

TEST(PgTimestamp, FormatsForCopy) {
    std::string out;
    append_pg_timestamp(out, *parse_rfc3339("2026-11-22T08:00:00.25Z"));
    EXPECT_EQ(out, "2026-11-22 08:00:00.250000+00");
}

// The hand-written digits agree with the calendar of format_rfc3339 across leap days, the epoch,
// times before it and the last representable year.
TEST(PgTimestamp, AgreesWithRfc3339AcrossTheCalendar) {
    const micros day = 86'400LL * 1'000'000;
    std::vector<micros> times{0, -1, 1, 253'402'300'799'999'999LL, -62'135'596'800'000'000LL};
    for (micros t = -3 * 366 * day; t < 60LL * 366 * day; t += 7 * day + 3'723'000'123LL) times.push_back(t);
    for (const micros t : times) {
        std::string out;
        append_pg_timestamp(out, t);
        std::string expected = format_rfc3339(t);
        if (t % 1000 == 0) expected.insert(expected.size() - 1, "000");  // rfc3339 shows milliseconds then
        expected[10] = ' ';
        expected.replace(expected.size() - 1, 1, "+00");
        EXPECT_EQ(out, expected) << t;
    }
}

TEST(Duration, ParsesUnits) {
    EXPECT_EQ(parse_duration_seconds("60s"), 60);
    EXPECT_EQ(parse_duration_seconds("5m"), 300);
    EXPECT_EQ(parse_duration_seconds("1h"), 3600);
    EXPECT_EQ(parse_duration_seconds("2d"), 172800);
    EXPECT_FALSE(parse_duration_seconds("0s"));
    EXPECT_FALSE(parse_duration_seconds("5"));
    EXPECT_FALSE(parse_duration_seconds("m"));
    EXPECT_FALSE(parse_duration_seconds("5w"));
    EXPECT_FALSE(parse_duration_seconds("-5s"));
}

TEST(DayNumber, FloorsBeforeEpoch) {
    EXPECT_EQ(day_number(0), 0);
    EXPECT_EQ(day_number(-1), -1);
    EXPECT_EQ(day_number(86'400'000'000LL), 1);
}
