// The Modbus connector file and register decoding: pure code.
#include "cityguard/readings/modbus_map.hpp"

#include <gtest/gtest.h>

using namespace cityguard::readings;
using nlohmann::json;

TEST(ModbusMap, RegistersDecodeByTypeWordOrderScaleAndOffset) {
    modbus_point p;
    p.type = modbus_type::int16;
    std::uint16_t w[2] = {0xFFFE, 0};
    EXPECT_EQ(*modbus_value(p, w), -2);
    p.type = modbus_type::uint32;
    w[0] = 0x0001;
    w[1] = 0x0002;
    EXPECT_EQ(*modbus_value(p, w), 65538);
    p.low_word_first = true;
    EXPECT_EQ(*modbus_value(p, w), 131073);
    p = {};
    p.type = modbus_type::float32;
    w[0] = 0x41AC;  // 21.5f = 0x41AC0000
    w[1] = 0x0000;
    EXPECT_EQ(*modbus_value(p, w), 21.5);
    p.scale = 2;
    p.offset = -1;
    EXPECT_EQ(*modbus_value(p, w), 42);
    w[0] = 0x7FC0;  // NaN
    EXPECT_FALSE(modbus_value(p, w).has_value());
}

TEST(ModbusMap, TheFileIsCheckedItemByItem) {
    auto refused = [](const json& doc) {
        try {
            parse_modbus_map(doc);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    const json point{{"sensor", "S"}, {"table", "holding"}, {"address", 0}};
    json doc{{"devices", {{{"id", "d"}, {"host", "127.0.0.1"}, {"points", {point}}}}}};
    EXPECT_EQ(refused(doc), "accepted");
    doc["devices"][0]["points"][0]["type"] = "bool";
    EXPECT_EQ(refused(doc), "devices[0].points[0].type: coils and discrete inputs are bool; registers are not");
    doc["devices"][0]["points"][0] = point;
    doc["devices"][0]["points"][0]["address"] = 65535;
    doc["devices"][0]["points"][0]["type"] = "float32";
    EXPECT_EQ(refused(doc), "devices[0].points[0].address: the value runs past register 65535");
    doc["devices"][0]["points"][0] = point;
    doc["devices"][0]["unit"] = 300;
    EXPECT_EQ(refused(doc), "devices[0].unit: must be an integer from 0 to 247");
    doc["devices"][0].erase("unit");
    doc["devices"].push_back(doc["devices"][0]);
    EXPECT_EQ(refused(doc), "devices[1].id: 'd' is repeated");
}
