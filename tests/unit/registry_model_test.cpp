#include "cityguard/registry/registry_model.hpp"

#include <gtest/gtest.h>

#include "cityguard/util/crypto.hpp"

using namespace cityguard;
using nlohmann::json;

namespace {
const rules::domain_catalog& shipped_domains() {
    static const auto domains = rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules");
    return domains;
}
json site() {
    return {{"name", "梅林加油站"}, {"domain", "gas_station"}, {"district", "福田区"}, {"lat", 22.57}, {"lon", 114.05}};
}
json sensor() { return {{"site", "GS-1"}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}}; }
template <class T>
bool ok(const std::variant<T, std::string>& v) {
    return std::holds_alternative<T>(v);
}
}  // namespace

TEST(RegistryModel, ValidSiteFromPath) {
    auto s = registry::parse_site(site(), "GS-1", shipped_domains());
    ASSERT_TRUE(ok(s));
    EXPECT_EQ(std::get<registry::site_record>(s).id, "GS-1");
}

TEST(RegistryModel, SiteErrors) {
    auto bad = [](json j, std::optional<std::string_view> id = "GS-1") {
        return !ok(registry::parse_site(j, id, shipped_domains()));
    };
    EXPECT_TRUE(bad(site(), std::nullopt));  // no id anywhere
    auto j = site();
    j["id"] = "OTHER";
    EXPECT_TRUE(bad(j));
    j = site();
    j["domain"] = "airport";
    EXPECT_TRUE(bad(j));
    j = site();
    j["lat"] = 91;
    EXPECT_TRUE(bad(j));
    j = site();
    j.erase("lon");
    EXPECT_TRUE(bad(j));
    j = site();
    j["name"] = "";
    EXPECT_TRUE(bad(j));
    j = site();
    j["attributes"] = 5;
    EXPECT_TRUE(bad(j));
    j = site();
    j["colour"] = "red";
    EXPECT_TRUE(bad(j));
    EXPECT_TRUE(bad(site(), "bad id with spaces"));
    EXPECT_TRUE(bad(json::array()));
}

TEST(RegistryModel, SensorKindsAndLimits) {
    auto j = sensor();
    j["kind"] = "video.smoking";
    j["limits"] = {{"high", 90}, {"high_high", 95}};
    auto s = registry::parse_sensor(j, "GS-1-V1");
    ASSERT_TRUE(ok(s));
    EXPECT_EQ(std::get<registry::sensor_record>(s).limits["high"], 90);
}

TEST(RegistryModel, SensorErrors) {
    auto bad = [](json j) { return !ok(registry::parse_sensor(j, "S")); };
    auto j = sensor();
    j["kind"] = "Gas LEL";
    EXPECT_TRUE(bad(j));
    j = sensor();
    j["kind"] = "video.";
    EXPECT_TRUE(bad(j));
    j = sensor();
    j["interval_s"] = 0;
    EXPECT_TRUE(bad(j));
    j = sensor();
    j["interval_s"] = 1.5;
    EXPECT_TRUE(bad(j));
    j = sensor();
    j.erase("unit");
    EXPECT_TRUE(bad(j));
    j = sensor();
    j["limits"] = {{"high", "ninety"}};
    EXPECT_TRUE(bad(j));
    j = sensor();
    j.erase("site");
    EXPECT_TRUE(bad(j));
}

TEST(RegistryModel, SensorGroups) {
    auto j = sensor();
    j["groups"] = {"SEG-7", "DISTRICT-3", "SEG-7"};
    auto s = registry::parse_sensor(j, "W1");
    ASSERT_TRUE(ok(s));
    EXPECT_EQ(std::get<registry::sensor_record>(s).groups, (std::vector<std::string>{"SEG-7", "DISTRICT-3"}));
    EXPECT_EQ(registry::to_json(std::get<registry::sensor_record>(s))["groups"], json({"SEG-7", "DISTRICT-3"}));
    auto bad = [](json groups) {
        auto k = sensor();
        k["groups"] = std::move(groups);
        return !ok(registry::parse_sensor(k, "W1"));
    };
    EXPECT_TRUE(bad("SEG-7"));
    EXPECT_TRUE(bad({"has space"}));
    EXPECT_TRUE(bad({""}));
    EXPECT_TRUE(bad({1}));
    json many = json::array();
    for (int i = 0; i <= 16; ++i) many.push_back("G" + std::to_string(i));
    EXPECT_TRUE(bad(many)) << "at most 16 groups";
    many.erase(many.begin());
    EXPECT_FALSE(bad(many));
}

TEST(Crypto, KeysAreRandomAndWellFormed) {
    auto a = util::generate_api_key(), b = util::generate_api_key();
    EXPECT_NE(a, b);
    EXPECT_EQ(a.rfind("cg_", 0), 0u);
    EXPECT_EQ(a.size(), 3u + 43u);
    EXPECT_EQ(util::to_hex(util::sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

namespace {
json contact() {
    return {
        {"name", "王工"},
        {"tier", "enterprise"},
        {"unit", "U-1"},
        {"phone", "+86 138-0000-0000"},
        {"channels", {"log"}}};
}
std::variant<registry::contact_record, std::string> parse_contact(const json& j) {
    return registry::parse_contact(
        j, "C-1", [](std::string_view name) { return name == "log"; }, shipped_domains()
    );
}
std::string error_of(const std::variant<registry::contact_record, std::string>& v) {
    return ok(v) ? std::string() : std::get<std::string>(v);
}
}  // namespace

TEST(RegistryModel, UnitsNeedANameAndTakeACreditCodeAndAddress) {
    auto u = registry::parse_unit({{"name", "梅林加油站有限公司"}, {"credit_code", "91440300MA5XXXXXX1"}}, "U-1");
    ASSERT_TRUE(ok(u));
    EXPECT_EQ(std::get<registry::unit_record>(u).credit_code, "91440300MA5XXXXXX1");
    EXPECT_FALSE(ok(registry::parse_unit({{"credit_code", "x"}}, "U-1")));
    EXPECT_FALSE(ok(registry::parse_unit({{"name", "x"}, {"phone", "1"}}, "U-1")));
    EXPECT_FALSE(ok(registry::parse_unit({{"name", "x"}}, "bad id")));
    auto s = site();
    s["unit"] = "U-1";
    ASSERT_TRUE(ok(registry::parse_site(s, "GS-1", shipped_domains())));
    EXPECT_EQ(std::get<registry::site_record>(registry::parse_site(s, "GS-1", shipped_domains())).unit, "U-1");
    s["unit"] = "bad unit";
    EXPECT_FALSE(ok(registry::parse_site(s, "GS-1", shipped_domains())));
}

TEST(RegistryModel, AContactBelongsWhereItsTierSays) {
    ASSERT_TRUE(ok(parse_contact(contact())));
    auto j = contact();
    j.erase("unit");
    EXPECT_EQ(error_of(parse_contact(j)), "unit is required for an enterprise contact");
    j = contact();
    j["tier"] = "district";
    EXPECT_EQ(error_of(parse_contact(j)), "unit is for enterprise contacts only");
    j.erase("unit");
    EXPECT_EQ(error_of(parse_contact(j)), "district is required for a district contact");
    j["district"] = "福田区";
    EXPECT_TRUE(ok(parse_contact(j)));
    j = contact();
    j["tier"] = "city";
    j.erase("unit");
    EXPECT_TRUE(ok(parse_contact(j)));
    j["tier"] = "province";
    EXPECT_FALSE(ok(parse_contact(j)));
}

TEST(RegistryModel, ASectorDeskAnswersForItsDomainsAndAnyContactMayBeLimitedToSome) {
    auto j = contact();
    j.erase("unit");
    j["tier"] = "sector";
    EXPECT_EQ(
        error_of(parse_contact(j)), "domains is required for a sector desk: the domains its department answers for"
    );
    j["domains"] = {"gas_pipeline", "gas_station", "gas_pipeline"};
    ASSERT_TRUE(ok(parse_contact(j)));
    EXPECT_EQ(std::get<registry::contact_record>(parse_contact(j)).domains.size(), 2u) << "repeats dropped";
    j["district"] = "福田区";
    EXPECT_TRUE(ok(parse_contact(j))) << "a district's sector office";
    j["domains"] = {"no_such_domain"};
    EXPECT_NE(error_of(parse_contact(j)).find("domains must be the catalog's"), std::string::npos);
    j["domains"] = "gas_station";
    EXPECT_NE(error_of(parse_contact(j)).find("domains must be a list"), std::string::npos);
    // A district supervisor for water alarms only; a city contact cannot name a district.
    j = contact();
    j.erase("unit");
    j["tier"] = "district";
    j["district"] = "福田区";
    j["domains"] = {"water_supply"};
    EXPECT_EQ(std::get<registry::contact_record>(parse_contact(j)).domains, std::vector<std::string>{"water_supply"});
    j["tier"] = "city";
    EXPECT_EQ(error_of(parse_contact(j)), "district is for district contacts and a district's sector desk only");
}

TEST(RegistryModel, AContactNeedsAConfiguredChannelAndAPlainPhoneNumber) {
    auto j = contact();
    j["channels"] = json::array();
    EXPECT_NE(error_of(parse_contact(j)).find("channels is required"), std::string::npos);
    j.erase("channels");
    EXPECT_NE(error_of(parse_contact(j)).find("channels is required"), std::string::npos);
    j["channels"] = {"log", "sms"};
    EXPECT_EQ(error_of(parse_contact(j)), "channels: no channel named 'sms' is configured");
    j = contact();
    j["phone"] = "138<script>";
    EXPECT_EQ(error_of(parse_contact(j)), "phone may hold digits, +, - and spaces only");
    j = contact();
    j["channels"] = {"log", "log"};
    EXPECT_EQ(std::get<registry::contact_record>(parse_contact(j)).channels.size(), 1u);
}

TEST(RegistryModel, ASiteMayBeALineOrAnAreaOfBoundedSize) {
    auto s = site();
    s["geometry"] = {{"type", "LineString"}, {"coordinates", {{114.03, 22.54}, {114.05, 22.541}}}, {"extra", 1}};
    auto parsed = registry::parse_site(s, "GS-1", shipped_domains());
    ASSERT_TRUE(ok(parsed)) << (parsed.index() == 1 ? std::get<1>(parsed) : "");
    EXPECT_EQ(
        std::get<registry::site_record>(parsed).geometry,
        json({{"type", "LineString"}, {"coordinates", {{114.03, 22.54}, {114.05, 22.541}}}})
    ) << "rebuilt from the numbers only";
    s["geometry"] = {
        {"type", "Polygon"}, {"coordinates", {{{113.92, 22.52}, {113.93, 22.52}, {113.93, 22.53}, {113.92, 22.52}}}}};
    EXPECT_TRUE(ok(registry::parse_site(s, "GS-1", shipped_domains())));
    const auto refused = [&](json g, std::size_t max = 2'000) {
        s["geometry"] = std::move(g);
        return !ok(registry::parse_site(s, "GS-1", shipped_domains(), max));
    };
    EXPECT_TRUE(refused({{"type", "Point"}, {"coordinates", {114.0, 22.5}}}));
    EXPECT_TRUE(refused({{"type", "LineString"}, {"coordinates", {{114.0, 22.5}}}})) << "one point";
    EXPECT_TRUE(refused({{"type", "LineString"}, {"coordinates", {{214.0, 22.5}, {114.0, 22.5}}}})) << "lon";
    EXPECT_TRUE(refused({{"type", "LineString"}, {"coordinates", {{114.0, 22.5, 3.0}, {114.0, 22.5}}}}));
    EXPECT_TRUE(refused({{"type", "LineString"}, {"coordinates", {{"114", 22.5}, {114.0, 22.5}}}}));
    EXPECT_TRUE(refused(
        {{"type", "Polygon"}, {"coordinates", {{{113.92, 22.52}, {113.93, 22.52}, {113.93, 22.53}, {113.94, 22.52}}}}}
    )) << "not closed";
    json many = json::array();
    for (int i = 0; i < 11; ++i) many.push_back({114.0 + i * 0.001, 22.5});
    EXPECT_TRUE(refused({{"type", "LineString"}, {"coordinates", many}}, 10)) << "past registry.max_geometry_points";
    EXPECT_FALSE(refused({{"type", "LineString"}, {"coordinates", many}}, 11));
    EXPECT_TRUE(refused("LINESTRING(114 22.5, 115 22.6)"));
}
