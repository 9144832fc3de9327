#include "cityguard/readings/reading_parser.hpp"

#include <gtest/gtest.h>

#include "cityguard/util/error.hpp"

using namespace cityguard;
using cityguard::readings::parse_readings;

namespace {
errc code_of(const std::string& body, std::size_t max = 100) {
    try {
        parse_readings(body, max);
    } catch (const api_error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no error for " << body;
    return errc::internal;
}
std::string first_error(const std::string& item) {
    auto p = parse_readings("{\"readings\":[" + item + "]}", 10);
    return p.rejected.empty() ? "" : p.rejected.front().error;
}
}  // namespace

TEST(ReadingParser, AcceptsRfc3339AndEpochMillis) {
    auto p = parse_readings(
        R"({"readings":[{"sensor":"S1","ts":"2026-11-22T08:00:00.250Z","value":12.5},
                        {"sensor":"S2","ts":1795334400250,"value":3}]})",
        10
    );
    ASSERT_EQ(p.readings.size(), 2u);
    EXPECT_TRUE(p.rejected.empty());
    EXPECT_EQ(p.readings[0].ts, p.readings[1].ts);
    EXPECT_EQ(p.readings[0].value, 12.5);
    EXPECT_EQ(p.readings[1].index, 1u);
}

TEST(ReadingParser, BooleansAreDetections) {
    auto p =
        parse_readings(R"({"readings":[{"sensor":"V","ts":0,"value":true},{"sensor":"V","ts":1,"value":false}]})", 10);
    ASSERT_EQ(p.readings.size(), 2u);
    EXPECT_EQ(p.readings[0].value, 1.0);
    EXPECT_EQ(p.readings[1].value, 0.0);
}

TEST(ReadingParser, RequestLevelErrors) {
    EXPECT_EQ(code_of("not json"), errc::invalid_json);
    EXPECT_EQ(code_of("{\"readings\":[}"), errc::invalid_json);
    EXPECT_EQ(code_of(""), errc::invalid_json);
    EXPECT_EQ(code_of("[]"), errc::bad_request);
    EXPECT_EQ(code_of("{}"), errc::bad_request);
    EXPECT_EQ(code_of("{\"readings\":{}}"), errc::bad_request);
    EXPECT_EQ(code_of(R"({"readings":[1,2,3]})", 2), errc::too_many_readings);
}

TEST(ReadingParser, ItemErrors) {
    EXPECT_EQ(first_error("5"), "bad_item");
    EXPECT_EQ(first_error(R"({"ts":0,"value":1})"), "missing_sensor");
    EXPECT_EQ(first_error(R"({"sensor":"","ts":0,"value":1})"), "missing_sensor");
    EXPECT_EQ(first_error(R"({"sensor":7,"ts":0,"value":1})"), "missing_sensor");
    EXPECT_EQ(first_error(R"({"sensor":"S","value":1})"), "missing_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":"yesterday","value":1})"), "bad_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":"2026-11-22T08:00:00","value":1})"), "bad_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":-5,"value":1})"), "bad_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":1.5,"value":1})"), "bad_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":99999999999999999,"value":1})"), "bad_timestamp");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":0})"), "missing_value");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":0,"value":null})"), "missing_value");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":0,"value":"12"})"), "bad_value");
    EXPECT_EQ(first_error(R"({"sensor":"S","ts":0,"value":[1]})"), "bad_value");
}

TEST(ReadingParser, NumbersBeyondDoubleAreInvalidJson) {
    // nlohmann refuses to parse an overflowing number, so no non-finite value can reach ingest.
    EXPECT_EQ(code_of(R"({"readings":[{"sensor":"S","ts":0,"value":1e999}]})"), errc::invalid_json);
}

TEST(ReadingParser, RejectsItemsOneByOneAndKeepsTheRest) {
    auto p = parse_readings(
        R"({"readings":[{"sensor":"A","ts":0,"value":1},{"sensor":"B"},{"sensor":"C","ts":0,"value":2}]})", 10
    );
    ASSERT_EQ(p.readings.size(), 2u);
    ASSERT_EQ(p.rejected.size(), 1u);
    EXPECT_EQ(p.rejected[0].index, 1u);
    EXPECT_EQ(p.readings[1].sensor, "C");
}

TEST(ReadingParser, SurvivesHostileInput) {
    std::string deep(100000, '[');
    EXPECT_EQ(code_of(deep), errc::invalid_json);
    EXPECT_EQ(code_of(std::string(33, '[') + std::string(33, ']')), errc::invalid_json) << "deeper than the limit";
    // NUL cannot be stored by PostgreSQL: refused, never truncated.
    EXPECT_EQ(code_of(R"({"readings":[{"sensor":"a\u0000b","ts":0,"value":1}]})"), errc::invalid_text);
    EXPECT_EQ(parse_readings(R"({"readings":[{"sensor":"a\\u0000b","ts":0,"value":1}]})", 10).readings.size(), 1u)
        << "an escaped backslash followed by u0000 is plain text";
    static const char raw_nul[] = "{\"readings\":[{\"sensor\":\"a\0b\"}]}";
    EXPECT_EQ(code_of(std::string(raw_nul, sizeof raw_nul - 1)), errc::invalid_json);
}
