// The domain catalog the rule packs declare (rules/domain.hpp): domains are data.
#include "cityguard/rules/domain.hpp"

#include <gtest/gtest.h>

#include "cityguard/rules/packs.hpp"

using namespace cityguard::rules;
using nlohmann::json;

namespace {

json water_pack(const std::string& domain = "water_supply") {
    return {
        {"domain", domain},
        {"name", {{"zh", "供水"}, {"en", "Water supply"}}},
        {"color", "#1f77b4"},
        {"icon", "tap"},
        {"sensor_kinds",
         {{{"kind", "pressure"},
           {"name", {{"zh", "压力"}, {"en", "Pressure"}}},
           {"unit", "MPa"},
           {"min", 0},
           {"max", 2.5}},
          {{"kind", "leak_noise"}, {"name", {{"zh", "漏水噪声"}, {"en", "Leak noise"}}}, {"unit", "dB"}}}},
        {"rules", json::array()}};
}

std::string why_refused(const json& p) {
    try {
        parse_domain(p, "w.json");
    } catch (const pack_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Domains, APackDeclaresItsDomain) {
    const auto d = parse_domain(water_pack(), "w.json");
    EXPECT_EQ(d.id, "water_supply");
    EXPECT_EQ(d.name.en, "Water supply");
    EXPECT_EQ(d.color, "#1f77b4");
    ASSERT_EQ(d.kinds.size(), 2u);
    EXPECT_EQ(d.kinds[0].unit, "MPa");
    EXPECT_EQ(d.kinds[0].max, 2.5);
    EXPECT_FALSE(d.kinds[1].min.has_value());
    const json shown = to_json(d);
    EXPECT_EQ(shown["sensor_kinds"][1]["max"], nullptr);
    EXPECT_EQ(shown["name"]["zh"], "供水");
}

TEST(Domains, ABadDeclarationIsRefusedNamingFileAndField) {
    auto p = water_pack();
    p.erase("name");
    EXPECT_NE(why_refused(p).find("w.json: the pack needs the domain's \"name\""), std::string::npos);
    p = water_pack();
    p["color"] = "blue";
    EXPECT_NE(why_refused(p).find("color"), std::string::npos);
    p = water_pack();
    p["domain"] = "Water Supply";
    EXPECT_NE(why_refused(p).find("domain must be"), std::string::npos);
    p = water_pack();
    p["sensor_kinds"] = json::array();
    EXPECT_NE(why_refused(p).find("sensor_kinds"), std::string::npos);
    p = water_pack();
    p["sensor_kinds"].push_back(p["sensor_kinds"][0]);
    EXPECT_NE(why_refused(p).find("listed twice"), std::string::npos);
    p = water_pack();
    p["sensor_kinds"][0]["min"] = 3;
    EXPECT_NE(why_refused(p).find("min must be below max"), std::string::npos);
    p = water_pack();
    p["sensor_kinds"][0]["range"] = 1;
    EXPECT_NE(why_refused(p).find("unknown field 'range'"), std::string::npos);
}

TEST(Domains, TwoPacksMayNotDeclareOneDomain) {
    EXPECT_THROW(load_domains({{"a.json", water_pack()}, {"b.json", water_pack()}}), pack_error);
    const auto two = load_domains({{"a.json", water_pack()}, {"b.json", water_pack("drainage")}});
    EXPECT_TRUE(two.contains("drainage"));
    EXPECT_FALSE(two.contains("gas"));
    EXPECT_EQ(two.listed(), "water_supply, drainage");
}

TEST(Domains, EveryShippedPackDeclaresItsDomainAndEveryKindItsRulesRead) {
    const auto packs = load_pack_set(CITYGUARD_SOURCE_DIR "/config/rules");
    EXPECT_EQ(packs.domains.all().size(), read_packs(CITYGUARD_SOURCE_DIR "/config/rules").size());
    for (const auto& r : packs.rules) {
        const auto* d = packs.domains.find(r.domain);
        ASSERT_NE(d, nullptr) << r.id;
        for (const auto& kind : r.kinds) {
            if (kind.find('*') != std::string::npos) continue;  // a wildcard reads whatever is there
            const bool declared = std::any_of(d->kinds.begin(), d->kinds.end(), [&](const sensor_kind_info& k) {
                return k.kind == kind;
            });
            EXPECT_TRUE(declared) << r.id << " reads '" << kind << "', which " << d->file << " does not declare";
        }
    }
}
