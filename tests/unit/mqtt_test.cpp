// The MQTT 3.1.1 codec (OASIS MQTT 3.1.1, chapter 3) and the gateway mapping file: pure code.
#include <gtest/gtest.h>

#include "cityguard/mqtt/packets.hpp"
#include "cityguard/readings/gateway_map.hpp"
#include "cityguard/util/error.hpp"

using namespace cityguard;
using nlohmann::json;

namespace {

readings::gateway_map station_map() {
    return readings::gateway_map::parse(json::parse(R"({"gateways":[
        {"id":"gw-a","topics":["cg/gw-a/#"],"sites":["S-A"],
         "devices":[{"topic":"cg/gw-a/station-1","fields":{"lel":"A-LEL-1","pressure":"A-P-1"}}]},
        {"id":"gw-b","topics":["cg/gw-b/+/up"]}]})"));
}

}  // namespace

TEST(MqttPackets, ConnectCarriesAPersistentSessionAndCredentials) {
    mqtt::connect_options o;
    o.client_id = "cityguard";
    o.username = "u";
    o.password = "p";
    o.keep_alive_s = 30;
    const auto bytes = mqtt::encode_connect(o);
    // 3.1: type 1, remaining 10 (variable header) + 11 + 3 + 3, "MQTT" level 4, flags user|password (no clean session).
    const std::string expected = std::string("\x10\x1B\x00\x04MQTT\x04\xC0\x00\x1E\x00\x09", 14) + "cityguard" +
                                 std::string("\x00\x01u\x00\x01p", 6);
    EXPECT_EQ(bytes, expected);
}

TEST(MqttPackets, FixedHeaderLengthsAsTheSpecificationsExamples) {
    // 2.2.3: 321 = 0xC1 0x02; 16,383 = 0xFF 0x7F; 2,097,152 = 0x80 0x80 0x80 0x01.
    auto h = mqtt::parse_fixed_header(std::string("\x30\xC1\x02", 3));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->remaining, 321u);
    EXPECT_EQ(h->header_bytes, 3u);
    h = mqtt::parse_fixed_header(std::string("\x30\x80\x80\x80\x01", 5));
    ASSERT_TRUE(h);
    EXPECT_EQ(h->remaining, 2'097'152u);
    EXPECT_FALSE(mqtt::parse_fixed_header(std::string("\x30\x80", 2))) << "needs more bytes";
    EXPECT_THROW(mqtt::parse_fixed_header(std::string("\x30\x80\x80\x80\x80\x01", 6)), mqtt::protocol_error);
    EXPECT_THROW(mqtt::parse_fixed_header(std::string("\x00\x00", 2)), mqtt::protocol_error);
}

TEST(MqttPackets, PublishRoundTripsAndRefusesWhatTheSpecificationForbids) {
    const auto bytes = mqtt::encode_publish("cg/gw-a/x", "{\"a\":1}", 1, 77);
    const auto h = mqtt::parse_fixed_header(bytes);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, mqtt::packet_type::publish);
    const auto p = mqtt::parse_publish(h->flags, std::string_view(bytes).substr(h->header_bytes));
    EXPECT_EQ(p.topic, "cg/gw-a/x");
    EXPECT_EQ(p.payload, "{\"a\":1}");
    EXPECT_EQ(p.qos, 1);
    EXPECT_EQ(p.packet_id, 77);
    EXPECT_THROW(mqtt::parse_publish(0x06, std::string("\x00\x01x", 3)), mqtt::protocol_error) << "QoS 3";
    EXPECT_THROW(mqtt::parse_publish(0x02, std::string("\x00\x01x\x00\x00", 5)), mqtt::protocol_error) << "packet id 0";
    EXPECT_THROW(mqtt::parse_publish(0x00, std::string("\x00\x03a/#", 5)), mqtt::protocol_error) << "wildcard";
    EXPECT_THROW(
        mqtt::parse_publish(
            0x00,
            std::string(
                "\x00\x09"
                "ab",
                4
            )
        ),
        mqtt::protocol_error
    ) << "short";
    EXPECT_EQ(mqtt::encode_puback(0x1234), std::string("\x40\x02\x12\x34", 4));
    const auto suback = mqtt::parse_suback(std::string("\x00\x01\x01\x80", 4));
    EXPECT_EQ(suback.packet_id, 1);
    EXPECT_EQ(suback.granted, (std::vector<std::uint8_t>{1, 0x80}));
}

TEST(MqttPackets, TopicFiltersMatchAsSection4_7) {
    EXPECT_TRUE(mqtt::topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
    EXPECT_TRUE(mqtt::topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    EXPECT_TRUE(mqtt::topic_matches("sport/+/player1", "sport/tennis/player1"));
    EXPECT_FALSE(mqtt::topic_matches("sport/+", "sport/tennis/player1"));
    EXPECT_TRUE(mqtt::topic_matches("sport/+", "sport/"));
    EXPECT_TRUE(mqtt::topic_matches("#", "a/b"));
    EXPECT_FALSE(mqtt::topic_matches("#", "$SYS/broker"));
    EXPECT_FALSE(mqtt::topic_matches("cg/gw-a/#", "cg/gw-ab/x"));
    EXPECT_TRUE(mqtt::filters_overlap("x/a/#", "x/+/y"));
    EXPECT_TRUE(mqtt::filters_overlap("x/#", "x"));
    EXPECT_FALSE(mqtt::filters_overlap("x/a/#", "x/b/#"));
    EXPECT_FALSE(mqtt::filters_overlap("x/+", "x/a/b"));
    EXPECT_EQ(mqtt::filter_problem("a/#/b"), "has '#' before its last level");
    EXPECT_EQ(mqtt::filter_problem("a/b+"), "has a wildcard inside a level");
    EXPECT_EQ(mqtt::filter_problem("a/+/c/#"), "");
}

TEST(GatewayMap, ThingsBoardTelemetryIsMappedFieldByField) {
    const auto map = station_map();
    const auto* gw = map.gateway_for("cg/gw-a/station-1");
    ASSERT_NE(gw, nullptr);
    EXPECT_EQ(gw->id, "gw-a");
    const readings::payload_limits limits;
    auto parsed = map.map_payload(
        *gw, "cg/gw-a/station-1", R"({"ts":1733558400000,"values":{"lel":3.5,"pressure":0.31,"rssi":-70}})", limits, 5
    );
    ASSERT_EQ(parsed.readings.size(), 2u);
    ASSERT_EQ(parsed.rejected.size(), 1u);
    EXPECT_EQ(parsed.rejected[0].error, "unmapped_field");
    for (const auto& r : parsed.readings) EXPECT_EQ(r.ts, 1'733'558'400'000'000LL);
    parsed = map.map_payload(*gw, "cg/gw-a/station-1", R"({"lel":true})", limits, 5);
    ASSERT_EQ(parsed.readings.size(), 1u);
    EXPECT_EQ(parsed.readings[0].ts, 5) << "no ts: the time of arrival";
    EXPECT_EQ(parsed.readings[0].value, 1);
    parsed = map.map_payload(
        *gw, "cg/gw-a/station-1", R"([{"ts":1,"values":{"lel":1}},{"ts":2,"values":{"lel":"high"}}])", limits, 5
    );
    EXPECT_EQ(parsed.readings.size(), 1u);
    ASSERT_EQ(parsed.rejected.size(), 1u);
    EXPECT_EQ(parsed.rejected[0].error, "bad_value");
    EXPECT_EQ(parsed.rejected[0].index, 1u);
}

TEST(GatewayMap, CityGuardsOwnBodyNamesItsSensorsOnAnyOfTheGatewaysTopics) {
    const auto map = station_map();
    const auto* gw = map.gateway_for("cg/gw-b/7/up");
    ASSERT_NE(gw, nullptr);
    EXPECT_EQ(map.gateway_for("cg/gw-b/7/down"), nullptr);
    const readings::payload_limits limits;
    const auto parsed =
        map.map_payload(*gw, "cg/gw-b/7/up", R"( {"readings":[{"sensor":"X","ts":1,"value":2}]})", limits, 0);
    ASSERT_EQ(parsed.readings.size(), 1u);
    EXPECT_EQ(parsed.readings[0].sensor, "X");
    EXPECT_THROW(map.map_payload(*gw, "cg/gw-b/7/up", R"({"lel":1})", limits, 0), api_error) << "no device there";
    EXPECT_THROW(map.map_payload(*gw, "cg/gw-b/7/up", "[[[", limits, 0), api_error);
    readings::payload_limits two{2, 32, 1024};
    const auto* a = map.gateway_for("cg/gw-a/station-1");
    EXPECT_THROW(map.map_payload(*a, "cg/gw-a/station-1", R"({"lel":1,"pressure":2,"x":3})", two, 0), api_error);
}

TEST(GatewayMap, TheFileIsCheckedItemByItem) {
    auto refused = [](const char* text) {
        try {
            readings::gateway_map::parse(json::parse(text));
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(
        refused(R"({"gateways":[{"id":"a","topics":["x/#/y"]}]})"),
        "gateways[0].topics: 'x/#/y' has '#' before its last level"
    );
    EXPECT_EQ(
        refused(R"({"gateways":[{"id":"a","topics":["x/a/#"]},{"id":"b","topics":["x/+/y"]}]})"),
        "gateways 'a' and 'b' share topics ('x/a/#', 'x/+/y')"
    );
    EXPECT_EQ(
        refused(R"({"gateways":[{"id":"a","topics":["x/a/#"],"devices":[{"topic":"x/b/1","fields":{"f":"S"}}]}]})"),
        "gateways[0].devices[0].topic is outside the gateway's topics"
    );
    EXPECT_EQ(
        refused(R"({"gateways":[{"id":"a","topics":["x/a/#"],"password":"p"}]})"), "gateways[0] has no field 'password'"
    );
    EXPECT_EQ(
        refused(R"({"gateways":[{"id":"a","topics":["x/a/#"]},{"id":"a","topics":["y/#"]}]})"),
        "gateways[1].id 'a' is repeated"
    );
}
