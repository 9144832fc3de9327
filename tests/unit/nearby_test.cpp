#include "cityguard/registry/nearby.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "cityguard/registry/registry_model.hpp"

using cityguard::registry::resource_record;
using nlohmann::json;
namespace reg = cityguard::registry;

namespace {

// The incident: 深圳市民中心, WGS-84.
constexpr double kLat = 22.5431, kLon = 114.0579;
// One degree of latitude on the mean sphere, in metres.
constexpr double kMetresPerDegreeLat = 6'371'008.8 * 3.14159265358979323846 / 180.0;

registry::resource_record at_metres_north(std::string id, std::string kind, double metres) {
    registry::resource_record r;
    r.id = std::move(id);
    r.kind = std::move(kind);
    r.name = r.id;
    r.lat = kLat + metres / kMetresPerDegreeLat;
    r.lon = kLon;
    return r;
}

registry::resource_record team(std::string id, std::string team_kind, double metres, bool on_duty = true) {
    auto r = at_metres_north(std::move(id), "team", metres);
    r.team_kind = std::move(team_kind);
    r.on_duty = on_duty;
    return r;
}

reg::travel_model thirty_kmh() {
    reg::travel_model m;
    m.speed_kmh = {{"team", 30.0}, {"warehouse", 30.0}};
    m.circle_s = 300;  // 2,500 m at 30 km/h
    return m;
}

std::vector<std::string> ids(const std::vector<reg::nearby_resource>& ranked) {
    std::vector<std::string> out;
    for (const auto& n : ranked) out.push_back(n.resource.id);
    return out;
}

}  // namespace

TEST(Nearby, DistanceIsTheGreatCircle) {
    EXPECT_NEAR(reg::distance_m(kLat, kLon, kLat + 1, kLon), kMetresPerDegreeLat, 0.01);
    // 深圳市民中心 to 罗湖口岸 (22.5327 N, 114.1132 E): 5.8 km as the crow flies.
    EXPECT_NEAR(reg::distance_m(kLat, kLon, 22.5327, 114.1132), 5'800, 100);
    EXPECT_EQ(reg::distance_m(kLat, kLon, kLat, kLon), 0);
}

TEST(Nearby, WantedTeamKindsComeFirstInTheirOrderThenByTravelTime) {
    reg::wanted_responders gas_leak{{"gas_repair", "fire"}, {}};
    auto ranked = reg::rank_nearby(
        {team("MED-1", "medical", 200),
         team("FIRE-FAR", "fire", 2'000),
         team("FIRE-NEAR", "fire", 900),
         team("GAS-1", "gas_repair", 3'000),
         team("GAS-OFF", "gas_repair", 100, false)},
        kLat,
        kLon,
        gas_leak,
        thirty_kmh()
    );
    EXPECT_EQ(ids(ranked), (std::vector<std::string>{"GAS-1", "FIRE-NEAR", "FIRE-FAR", "MED-1", "GAS-OFF"}));
    EXPECT_NEAR(ranked[1].travel_s, 900 / (30 / 3.6), 0.5);
}

TEST(Nearby, TheCircleIncludesItsEdgeAndNothingBeyond) {
    const auto m = thirty_kmh();
    auto ranked = reg::rank_nearby(
        {team("EDGE-IN", "fire", 2'499.5), team("EDGE-OUT", "fire", 2'501)}, kLat, kLon, {{"fire"}, {}}, m
    );
    ASSERT_EQ(ranked.size(), 2u);
    EXPECT_TRUE(ranked[0].in_circle);
    EXPECT_FALSE(ranked[1].in_circle);
    // A kind without a configured speed has no travel time and is never in the circle.
    auto shelter = reg::rank_nearby({at_metres_north("SH-1", "shelter", 10)}, kLat, kLon, {}, m);
    EXPECT_FALSE(shelter[0].in_circle);
    EXPECT_TRUE(reg::to_json(shelter[0])["travel_s"].is_null());
}

TEST(Nearby, AWarehouseWithWantedMaterialsInStockComesFirst) {
    auto near_empty = at_metres_north("WH-NEAR", "warehouse", 100);
    near_empty.materials = {{"gas_detector", "四合一气体检测仪", 0, "台"}, {"sandbag", "沙袋", 500, "个"}};
    auto far_stocked = at_metres_north("WH-FAR", "warehouse", 4'000);
    far_stocked.materials = {
        {"gas_detector", "四合一气体检测仪", 12, "台"}, {"explosion_proof_tools", "防爆工具", 3, "套"}};
    auto ranked = reg::rank_nearby(
        {near_empty, far_stocked}, kLat, kLon, {{}, {"gas_detector", "explosion_proof_tools"}}, thirty_kmh()
    );
    EXPECT_EQ(ids(ranked), (std::vector<std::string>{"WH-FAR", "WH-NEAR"}));
    EXPECT_EQ(ranked[0].matching_materials, (std::vector<std::string>{"gas_detector", "explosion_proof_tools"}));
    EXPECT_TRUE(ranked[1].matching_materials.empty());
}

TEST(RegistryModel, ResourcesTakeTheFieldsOfTheirKind) {
    auto t = reg::parse_resource(
        json{
            {"kind", "team"},
            {"name", "福田燃气抢修队"},
            {"lat", 22.54},
            {"lon", 114.05},
            {"team_kind", "gas_repair"},
            {"size", 12},
            {"on_duty", true}},
        "T-1"
    );
    ASSERT_TRUE(std::holds_alternative<registry::resource_record>(t)) << std::get<std::string>(t);
    EXPECT_EQ(reg::to_json(std::get<registry::resource_record>(t))["team_kind"], "gas_repair");

    auto w = reg::parse_resource(
        json{
            {"kind", "warehouse"},
            {"name", "福田应急物资库"},
            {"lat", 22.54},
            {"lon", 114.05},
            {"materials", {{{"kind", "sandbag"}, {"name", "沙袋"}, {"quantity", 500}, {"unit", "个"}}}}},
        "W-1"
    );
    ASSERT_TRUE(std::holds_alternative<registry::resource_record>(w)) << std::get<std::string>(w);
    EXPECT_EQ(reg::to_json(std::get<registry::resource_record>(w))["materials"][0]["quantity"], 500);

    auto refusal = [](json body) {
        auto r = reg::parse_resource(body, "R-1");
        return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string("accepted");
    };
    const json base{{"name", "x"}, {"lat", 22.5}, {"lon", 114.0}};
    auto with = [&](json extra) {
        json b = base;
        b.update(extra);
        return b;
    };
    EXPECT_EQ(refusal(with({{"kind", "tank"}})), "kind must be one of warehouse, team, shelter, expert");
    EXPECT_EQ(refusal(with({{"kind", "shelter"}, {"team_kind", "fire"}})), "unknown field 'team_kind' for a shelter");
    EXPECT_NE(
        refusal(with({{"kind", "team"}, {"team_kind", "police"}})).find("team_kind must be one of"), std::string::npos
    );
    EXPECT_EQ(refusal(with({{"kind", "team"}})), "team_kind is required and must be a non-empty string");
    EXPECT_EQ(refusal(with({{"kind", "shelter"}, {"lat", 91}})), "lat must be a number between -90 and 90");
    EXPECT_EQ(
        refusal(with({{"kind", "shelter"}, {"capacity", -1}})), "capacity must be a whole number from 0 to 10000000"
    );
    EXPECT_EQ(refusal(with({{"kind", "expert"}, {"phone", "call me"}})), "phone may hold digits, +, - and spaces only");
    EXPECT_EQ(
        refusal(with({{"kind", "warehouse"}, {"materials", {{{"kind", "sandbag"}, {"name", "沙袋"}, {"unit", "个"}}}}})
        ),
        "materials[0].quantity must be a number from 0 to 1e12"
    );
}
