// The WeChat Work and DingTalk robots' messages and DingTalk's 加签 (docs/notifications.md).
#include <gtest/gtest.h>

#include "cityguard/notification_model/message.hpp"
#include "cityguard/util/crypto.hpp"

using namespace cityguard;
using nlohmann::json;

namespace {

notification_model::message_facts robot_facts() {
    notification_model::message_facts f;
    f.notification = 42;
    f.lvl = rules::level::red;
    f.alarm.id = 7;
    f.alarm.title = {"卸油时静电接地异常", "Unloading without static grounding"};
    f.alarm.advice = {"立即停止卸油。", "Stop unloading now."};
    f.site_name = "梅林加油站";
    f.district = "福田区";
    f.phone = "13800000001";
    return f;
}

}  // namespace

TEST(RobotMessages, DingTalksSignIsTheBase64HmacOfTimestampAndSecretUrlEncoded) {
    // The vector computed as DingTalk's documentation does (Python hmac, base64, quote_plus).
    const std::string secret = "SECtest0123456789";
    const auto mac = util::hmac_sha256(secret, "1700000000000\n" + secret);
    EXPECT_EQ(util::base64_encode(mac), "yBKp5IlG6qCzcQWmgyRK/ziJBdVNJmHfFE2ST/CzT/g=");
    EXPECT_EQ(
        notification_model::dingtalk_sign_query(1'700'000'000'000, util::base64_encode(mac)),
        "&timestamp=1700000000000&sign=yBKp5IlG6qCzcQWmgyRK%2FziJBdVNJmHfFE2ST%2FCzT%2Fg%3D"
    );
    EXPECT_EQ(util::base64_encode(""), "");
    EXPECT_EQ(util::base64_encode("f"), "Zg==");
}

TEST(RobotMessages, DingTalkAtsTheContactsMobileAndWeComStaysWithinItsLimit) {
    auto f = robot_facts();
    const auto m = notification_model::render(f, "zh", "http://127.0.0.1:8080/");
    const json ding = notification_model::dingtalk_body(f, m);
    EXPECT_EQ(ding["msgtype"], "markdown");
    EXPECT_EQ(ding["markdown"]["title"], m.title);
    EXPECT_EQ(ding["at"]["atMobiles"], json::array({"13800000001"}));
    EXPECT_NE(ding["markdown"]["text"].get<std::string>().find("@13800000001"), std::string::npos);
    f.phone = "0755-80000001";  // a desk phone: nobody to @
    EXPECT_TRUE(notification_model::dingtalk_body(f, m)["at"]["atMobiles"].empty());

    const json wecom = notification_model::wecom_body(f, m);
    EXPECT_EQ(wecom["msgtype"], "markdown");
    const std::string content = wecom["markdown"]["content"];
    EXPECT_NE(content.find("**" + m.title + "**"), std::string::npos);
    EXPECT_NE(content.find("<font color=\"warning\">RED</font>"), std::string::npos);
    // A very long advice: cut to 4096 bytes at a character boundary (still valid UTF-8 JSON).
    f.alarm.advice.zh = std::string(1500, 'a');
    for (int i = 0; i < 1000; ++i) f.alarm.advice.zh += "停";
    const auto long_message = notification_model::render(f, "zh", "http://127.0.0.1:8080/");
    const std::string cut = notification_model::wecom_body(f, long_message)["markdown"]["content"];
    EXPECT_LE(cut.size(), 4096u);
    EXPECT_NO_THROW((void)json(cut).dump());
}
