#include <gtest/gtest.h>

#include "cityguard/feed/feed_service.hpp"
#include "cityguard/util/error.hpp"

using namespace cityguard;
using feed::client_message;
using feed::parse_client_message;

namespace {
errc parse_error_of(const std::string& text) {
    try {
        parse_client_message(text);
    } catch (const api_error& e) {
        return e.code();
    }
    return errc::internal;
}
}  // namespace

TEST(FeedProtocol, ParsesEachClientMessage) {
    auto auth = parse_client_message(R"({"type":"auth","token":"cg_x"})");
    EXPECT_EQ(auth.type, client_message::kind::auth);
    EXPECT_EQ(auth.token, "cg_x");

    auto all = parse_client_message(R"({"type":"subscribe"})");
    EXPECT_EQ(all.type, client_message::kind::subscribe);
    EXPECT_TRUE(all.wanted.levels.empty());
    EXPECT_FALSE(all.since.has_value());

    auto some = parse_client_message(
        R"({"type":"subscribe","levels":["red","orange"],"domains":["bridge"],"sites":["B-1"],"since":42})"
    );
    EXPECT_EQ(some.wanted.levels, (std::vector<int>{1, 2}));
    EXPECT_EQ(some.wanted.domains, (std::vector<std::string>{"bridge"}));
    EXPECT_EQ(some.wanted.sites, (std::vector<std::string>{"B-1"}));
    EXPECT_EQ(some.since, 42);

    auto readings = parse_client_message(R"({"type":"subscribe_readings","sensors":["a","b"]})");
    EXPECT_EQ(readings.type, client_message::kind::subscribe_readings);
    EXPECT_EQ(readings.sensors.size(), 2u);
    EXPECT_EQ(
        parse_client_message(R"({"type":"unsubscribe_readings","sensors":["a"]})").type,
        client_message::kind::unsubscribe_readings
    );
}

TEST(FeedProtocol, RefusesMalformedMessagesWithAReason) {
    EXPECT_EQ(parse_error_of("{nope"), errc::invalid_json);
    EXPECT_EQ(parse_error_of("[1,2]"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"kind":"subscribe"})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"dance"})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"auth"})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"auth","token":""})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe","levels":"red"})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe","levels":["crimson"]})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe","domains":[1]})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe","since":-1})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe","since":"5"})"), errc::bad_request);
    EXPECT_EQ(parse_error_of(R"({"type":"subscribe_readings","sensors":[]})"), errc::bad_request);
}

TEST(FeedProtocol, FilterMatchesOnLevelOrPeakAndOnDomainAndSite) {
    feed::filter any;
    EXPECT_TRUE(any.matches(4, 4, "bridge", "B-1"));

    feed::filter red{{1}, {}, {}};
    EXPECT_TRUE(red.matches(1, 1, "x", "y"));
    EXPECT_TRUE(red.matches(3, 1, "x", "y"));  // was red: its de-escalation still reaches red watchers
    EXPECT_FALSE(red.matches(3, 2, "x", "y"));

    feed::filter bridges{{}, {"bridge"}, {"B-1", "B-2"}};
    EXPECT_TRUE(bridges.matches(2, 2, "bridge", "B-2"));
    EXPECT_FALSE(bridges.matches(2, 2, "bridge", "B-3"));
    EXPECT_FALSE(bridges.matches(2, 2, "gas_pipeline", "B-1"));
}
