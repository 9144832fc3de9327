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

TEST(ReadingParser, EvidenceTravelsWithAReadingAsValidatedJson) {
    auto p = parse_readings(
        R"({"readings":[{"sensor":"S","ts":0,"value":true,"evidence":{"camera":"44030400001320000017",)"
        R"("snapshot":"https://vms.example/snap/1.jpg","clip":"http://vms.example/clip/1.mp4","label":"吸烟",)"
        R"("confidence":0.93}},{"sensor":"T","ts":0,"value":1}]})",
        10
    );
    ASSERT_EQ(p.readings.size(), 2u);
    const auto ev = nlohmann::json::parse(p.readings[0].evidence);
    EXPECT_EQ(ev["camera"], "44030400001320000017");
    EXPECT_EQ(ev["snapshot"], "https://vms.example/snap/1.jpg");
    EXPECT_EQ(ev["label"], "吸烟");
    EXPECT_DOUBLE_EQ(ev["confidence"].get<double>(), 0.93);
    EXPECT_TRUE(p.readings[1].evidence.empty());
}

TEST(ReadingParser, MalformedEvidenceRejectsItsItemAlone) {
    auto with = [](const std::string& evidence) {
        return first_error(R"({"sensor":"S","ts":0,"value":1,"evidence":)" + evidence + "}");
    };
    EXPECT_EQ(with(R"x({"snapshot":"javascript:alert(1)"})x"), "bad_evidence");
    EXPECT_EQ(with(R"({"snapshot":"data:image/png;base64,AAAA"})"), "bad_evidence");
    EXPECT_EQ(with(R"({"snapshot":"file:///etc/passwd"})"), "bad_evidence");
    EXPECT_EQ(with(R"({"clip":"https://"})"), "bad_evidence") << "no host";
    EXPECT_EQ(with(R"({"clip":"https://x/a b"})"), "bad_evidence") << "a space";
    EXPECT_EQ(with(R"({"clip":"https://x/\"onerror=\"x"})"), "bad_evidence") << "a quote";
    EXPECT_EQ(with(R"x({"clip":"https://x/a)](javascript:x)"})x"), "bad_evidence") << "leaves a Markdown link";
    EXPECT_EQ(with(R"({"snapshot":"https://x/)" + std::string(1100, 'a') + R"("})"), "bad_evidence");
    EXPECT_EQ(with(R"({"camera":"a b"})"), "bad_evidence");
    EXPECT_EQ(with(R"({"camera":")" + std::string(65, 'a') + R"("})"), "bad_evidence");
    EXPECT_EQ(with(R"({"label":"smoking"})"), "bad_evidence") << "a label alone shows nothing";
    EXPECT_EQ(with(R"({"camera":"C1","confidence":1.5})"), "bad_evidence");
    EXPECT_EQ(with(R"({"camera":"C1","label":"a\nb"})"), "bad_evidence");
    EXPECT_EQ(with(R"({"camera":"C1","extra":1})"), "bad_evidence");
    EXPECT_EQ(with(R"("https://x/1.jpg")"), "bad_evidence");
    EXPECT_EQ(with("null"), "") << "null evidence is none";
}

TEST(ReadingParser, AVideoPlatformsCallbackBecomesReadingsWithEvidence) {
    using cityguard::readings::parse_events;
    auto p = parse_events(
        R"({"events":[{"sensor":"V","ts":"2026-12-07T14:02:11Z","camera":"C-17","snapshot":"https://v/1.jpg"},)"
        R"({"sensor":"V","ts":"2026-12-07T14:05:00Z","detected":false,"camera":"C-17"},)"
        R"({"sensor":"V","ts":0,"detected":"yes","camera":"C"},{"sensor":"V","ts":0,"camera":"C","picUrl":"x"},)"
        R"({"sensor":"V","ts":0},{"sensor":"V","ts":0,"snapshot":"ftp://x/1.jpg"}]})",
        10
    );
    ASSERT_EQ(p.readings.size(), 3u);
    EXPECT_EQ(p.readings[0].value, 1.0) << "detected defaults to true";
    EXPECT_EQ(p.readings[1].value, 0.0);
    EXPECT_EQ(nlohmann::json::parse(p.readings[0].evidence)["snapshot"], "https://v/1.jpg");
    EXPECT_TRUE(p.readings[2].evidence.empty()) << "an event may come bare";
    ASSERT_EQ(p.rejected.size(), 3u);
    EXPECT_EQ(p.rejected[0].error, "bad_value");
    EXPECT_EQ(p.rejected[1].error, "bad_item");
    EXPECT_NE(p.rejected[1].message.find("picUrl"), std::string::npos);
    EXPECT_EQ(p.rejected[2].error, "bad_evidence");
    try {
        parse_events(R"({"events":[{},{}]})", 1);
        ADD_FAILURE() << "two events past a limit of one";
    } catch (const api_error& e) {
        EXPECT_EQ(e.code(), errc::too_many_readings);
    }
}
