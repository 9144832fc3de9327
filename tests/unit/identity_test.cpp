#include "cityguard/auth/identity.hpp"

#include <gtest/gtest.h>

#include "cityguard/api/request.hpp"
#include "cityguard/api/router.hpp"
#include "cityguard/auth/passwords.hpp"
#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"

using namespace cityguard;
using auth::make_scope;
using nlohmann::json;

TEST(Scope, TheWholeCityCoversEverything) {
    const auth::scope city;
    EXPECT_TRUE(city.whole_city());
    EXPECT_TRUE(city.covers("福田区", "gas_pipeline", ""));
    EXPECT_TRUE(city.contains(make_scope({"福田区"}, {"gas_pipeline"}, {"U1"})));
}

TEST(Scope, ListsNarrowAndCombine) {
    const auto futian = make_scope({"福田区"}, {}, {});
    const auto gas_desk = make_scope({"福田区"}, {"gas_pipeline", "gas_station"}, {});
    const auto enterprise = make_scope({}, {}, {"U1"});
    EXPECT_TRUE(futian.covers("福田区", "bridge", "U9"));
    EXPECT_FALSE(futian.covers("南山区", "bridge", ""));
    EXPECT_TRUE(gas_desk.covers("福田区", "gas_station", ""));
    EXPECT_FALSE(gas_desk.covers("福田区", "bridge", "")) << "a district's gas desk is district AND domain";
    EXPECT_FALSE(gas_desk.covers("南山区", "gas_station", ""));
    EXPECT_TRUE(enterprise.covers("任何区", "gas_station", "U1"));
    EXPECT_FALSE(enterprise.covers("福田区", "gas_station", "")) << "a site of no unit belongs to no enterprise";
    EXPECT_FALSE(enterprise.covers("福田区", "gas_station", "U2"));
}

TEST(Scope, NobodyHandsOutMoreThanTheyHave) {
    const auto futian = make_scope({"福田区"}, {}, {});
    EXPECT_TRUE(futian.contains(make_scope({"福田区"}, {"gas_pipeline"}, {})));
    EXPECT_TRUE(futian.contains(futian));
    EXPECT_FALSE(futian.contains(auth::scope{})) << "a district admin cannot make a city user";
    EXPECT_FALSE(futian.contains(make_scope({"福田区", "南山区"}, {}, {})));
    EXPECT_FALSE(futian.contains(make_scope({}, {}, {"U1"}))) << "a unit anywhere is not inside one district";
}

TEST(Scope, ParsesAndPrintsItsOwnForm) {
    const auto s = auth::parse_scope(json::parse(R"({"districts":["南山区","福田区","福田区"],"domains":["bridge"]})"));
    EXPECT_EQ(s, make_scope({"福田区", "南山区"}, {"bridge"}, {}));
    EXPECT_EQ(auth::parse_scope(auth::to_json(s)), s);
    EXPECT_EQ(auth::to_json(auth::scope{}), json::object());
    EXPECT_TRUE(auth::parse_scope("city").whole_city());
    for (const char* bad :
         {R"({"district":["x"]})",
          R"({"districts":[]})",
          R"({"districts":"x"})",
          R"({"units":[1]})",
          R"([1])",
          R"({"units":[""]})"}) {
        SCOPED_TRACE(bad);
        try {
            auth::parse_scope(json::parse(bad));
            ADD_FAILURE() << "accepted";
        } catch (const api_error& e) {
            EXPECT_EQ(e.code(), errc::validation_failed);
        }
    }
}

TEST(Binding, AGatewayMaySendForItsSitesAndSensorsOnly) {
    const auto b = auth::parse_binding(json::parse(R"({"sites":["GS-1"],"sensors":["S9"]})"));
    EXPECT_TRUE(b.allows("GS-1", "S1"));
    EXPECT_TRUE(b.allows("GS-2", "S9"));
    EXPECT_FALSE(b.allows("GS-2", "S1"));
    EXPECT_TRUE(auth::binding{}.allows("any", "thing"));
}

TEST(Roles, EachRouteClassAdmitsItsRoles) {
    using api::access;
    using auth::role;
    EXPECT_TRUE(api::allows(access::read, role::viewer));
    EXPECT_TRUE(api::allows(access::read, role::enterprise));
    EXPECT_FALSE(api::allows(access::read, role::gateway));
    EXPECT_FALSE(api::allows(access::act, role::viewer)) << "a leader's wall screen does not acknowledge";
    EXPECT_TRUE(api::allows(access::act, role::enterprise));
    EXPECT_FALSE(api::allows(access::operate, role::enterprise)) << "an enterprise does not silence its own alarms";
    EXPECT_FALSE(api::allows(access::admin, role::operator_));
    EXPECT_TRUE(api::allows(access::monitor, role::monitor));
    EXPECT_FALSE(api::allows(access::monitor, role::gateway));
    for (const char* r : {"viewer", "operator", "admin", "enterprise", "gateway", "monitor"})
        EXPECT_EQ(auth::to_string(*auth::parse_role(r)), r);
    EXPECT_FALSE(auth::parse_role("root"));
}

TEST(Passwords, ThePolicyAsksForLengthAndMix) {
    EXPECT_TRUE(auth::password_problem("short1A", "ann", 10));
    EXPECT_TRUE(auth::password_problem("alllowercaseletters", "ann", 10));
    EXPECT_TRUE(auth::password_problem("Contains-ann-1", "ann", 10)) << "the login name";
    EXPECT_FALSE(auth::password_problem("Correct-Horse-9", "ann", 10));
    EXPECT_FALSE(auth::password_problem("城市安全Guard2026", "ann", 10)) << "three classes, counted in characters";
    EXPECT_TRUE(auth::password_problem(std::string(1025, 'a'), "ann", 10));
}

TEST(Totp, MatchesTheRfc6238Vectors) {
    // RFC 6238 Appendix B, SHA-1, the low six digits of the eight-digit values.
    const std::string secret = "12345678901234567890";
    EXPECT_EQ(auth::totp_code(secret, 59 / 30), "287082");
    EXPECT_EQ(auth::totp_code(secret, 1111111109 / 30), "081804");
    EXPECT_EQ(auth::totp_code(secret, 1234567890 / 30), "005924");
    EXPECT_EQ(auth::totp_code(secret, 2000000000 / 30), "279037");
    EXPECT_EQ(auth::totp_match(secret, "081804", 1111111109 + 30), 1111111109 / 30) << "one step late is accepted";
    EXPECT_FALSE(auth::totp_match(secret, "081804", 1111111109 + 90));
    EXPECT_FALSE(auth::totp_match(secret, "81804", 1111111109));
}

TEST(Base32, RoundTripsAndRefusesOtherCharacters) {
    EXPECT_EQ(util::base32_encode("foobar"), "MZXW6YTBOI");
    EXPECT_EQ(util::base32_decode("MZXW6YTBOI======"), "foobar");
    EXPECT_EQ(util::base32_decode("mzxw6ytboi"), "foobar");
    EXPECT_FALSE(util::base32_decode("MZXW1"));
    const std::string raw = util::random_bytes(20);
    EXPECT_EQ(util::base32_decode(util::base32_encode(raw)), raw);
}

TEST(Cookies, TheSessionCookieIsFoundAmongOthers) {
    EXPECT_EQ(api::cookie_value("a=1; cg_session=abc; b=2", "cg_session"), "abc");
    EXPECT_EQ(api::cookie_value("cg_session=\"q\"", "cg_session"), "q");
    EXPECT_FALSE(api::cookie_value("xcg_session=abc", "cg_session"));
    EXPECT_FALSE(api::cookie_value("", "cg_session"));
    EXPECT_FALSE(api::cookie_value("cg_session", "cg_session"));
}
