#include "cityguard/util/input.hpp"

#include <gtest/gtest.h>

#include "cityguard/util/error.hpp"
#include "cityguard/util/rate_limit.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard;
using namespace std::chrono_literals;

namespace {
errc json_error_of(std::string_view text, std::size_t depth = 32) {
    try {
        util::parse_untrusted_json(text, depth);
    } catch (const api_error& e) {
        return e.code();
    }
    return errc::internal;  // "no error" for these tests
}
}  // namespace

TEST(Input, StorableTextIsUtf8WithoutNul) {
    EXPECT_TRUE(util::storable_text(""));
    EXPECT_TRUE(util::storable_text("福田区 gas-station 8+8 🚒"));
    EXPECT_FALSE(util::storable_text(std::string("a\0b", 3)));
    EXPECT_FALSE(util::storable_text("\xff\xfe"));
    EXPECT_FALSE(util::storable_text("\xc0\xaf")) << "overlong '/'";
    EXPECT_FALSE(util::storable_text("\xed\xa0\x80")) << "a UTF-16 surrogate";
    EXPECT_FALSE(util::storable_text("\xf4\x90\x80\x80")) << "past U+10FFFF";
    EXPECT_FALSE(util::storable_text("\xe7\xa6")) << "cut short";
}

TEST(Input, JsonDepthAndNulAreRefusedBeforeParsing) {
    EXPECT_EQ(json_error_of(std::string(32, '[') + std::string(32, ']')), errc::internal);
    EXPECT_EQ(json_error_of(std::string(33, '[') + std::string(33, ']')), errc::invalid_json);
    EXPECT_EQ(json_error_of(std::string(1'000'000, '{')), errc::invalid_json);
    EXPECT_EQ(json_error_of(R"(["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["])", 2), errc::internal)
        << "brackets inside strings do not count";
    EXPECT_EQ(json_error_of(R"({"a":"x\u0000y"})"), errc::invalid_text);
    EXPECT_EQ(json_error_of(R"({"a\u0000":1})"), errc::invalid_text) << "in keys too";
    EXPECT_EQ(json_error_of(R"({"a":"x\\u0000y"})"), errc::internal) << "an escaped backslash, then plain text";
    EXPECT_EQ(json_error_of(R"({"a":"\u0001"})"), errc::internal);
    EXPECT_EQ(json_error_of("{\"a\":\"\xff\"}"), errc::invalid_json) << "invalid UTF-8 in a string";
    EXPECT_EQ(json_error_of("not json"), errc::invalid_json);
}

TEST(Input, TimeParametersStayInRange) {
    EXPECT_EQ(util::parse_time_param("1970-01-01T00:00:00Z", "from"), 0);
    EXPECT_EQ(util::parse_time_param("1763798400000", "from"), 1'763'798'400'000'000LL);
    EXPECT_EQ(util::parse_time_param("0001-01-01T00:00:00Z", "from"), util::kEarliestTime);
    EXPECT_EQ(util::parse_time_param("9999-12-31T23:59:59.999999Z", "to"), util::kLatestTime);
    for (const char* bad : {"0000-01-01T00:00:00Z", "9223372036854775807", "-1", "253402300800000", "", "x"}) {
        try {
            util::parse_time_param(bad, "from");
            ADD_FAILURE() << bad;
        } catch (const api_error& e) {
            EXPECT_EQ(e.code(), errc::bad_request);
            EXPECT_NE(std::string(e.what()).find("from"), std::string::npos);
        }
    }
}

TEST(Input, NumericParametersStayInRangeAndNameThemselves) {
    EXPECT_EQ(util::parse_integer_param("50", "limit", 1, 50), 50);
    EXPECT_DOUBLE_EQ(util::parse_number_param("-22.5", "lat", -90, 90), -22.5);
    EXPECT_DOUBLE_EQ(util::parse_number_param("1e1", "lat", -90, 90), 10);
    for (const char* bad : {"0", "51", "", "5x", " 5", "+5", "1.5", "99999999999999999999"}) {
        try {
            util::parse_integer_param(bad, "limit", 1, 50);
            ADD_FAILURE() << bad;
        } catch (const api_error& e) {
            EXPECT_EQ(std::string(e.what()), "limit must be an integer from 1 to 50") << bad;
        }
    }
    for (const char* bad : {"90.0001", "-91", "nan", "inf", "-inf", "", "1e400", "0x10", "1,5"}) {
        try {
            util::parse_number_param(bad, "lat", -90, 90);
            ADD_FAILURE() << bad;
        } catch (const api_error& e) {
            EXPECT_EQ(std::string(e.what()), "lat must be a number from -90 to 90") << bad;
        }
    }
}

TEST(Input, DurationsCannotOverflow) {
    EXPECT_EQ(util::parse_duration_seconds("5m"), 300);
    EXPECT_EQ(util::parse_duration_seconds("36525d"), 36'525LL * 86'400);
    EXPECT_FALSE(util::parse_duration_seconds("36526d"));
    EXPECT_FALSE(util::parse_duration_seconds("106751991167301d")) << "n * 86400 wraps";
    EXPECT_FALSE(util::parse_duration_seconds("9223372036854775807s"));
    EXPECT_FALSE(util::parse_duration_seconds("0s"));
}

TEST(RateLimit, TokenBucketsRefillAndStayBounded) {
    const auto t0 = std::chrono::steady_clock::now();
    util::token_bucket b(10, 20, t0);
    int taken = 0;
    while (b.try_take(t0)) ++taken;
    EXPECT_EQ(taken, 20) << "a full burst";
    EXPECT_FALSE(b.try_take(t0 + 50ms));
    EXPECT_TRUE(b.try_take(t0 + 100ms)) << "10 a second";
    EXPECT_TRUE(b.full(t0 + 10s));

    util::keyed_rate_limiter per_client(1, 1, 3);
    EXPECT_TRUE(per_client.try_take("a", t0));
    EXPECT_FALSE(per_client.try_take("a", t0));
    EXPECT_TRUE(per_client.try_take("b", t0));
    EXPECT_TRUE(per_client.try_take("c", t0));
    EXPECT_TRUE(per_client.try_take("d", t0 + 5s)) << "refilled buckets make room";
    EXPECT_LE(per_client.size(), 3u);
    for (int i = 0; i < 100; ++i) per_client.try_take("x" + std::to_string(i), t0 + 5s);
    EXPECT_LE(per_client.size(), 3u) << "never more than max_keys";
}
