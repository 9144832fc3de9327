// The SMS channel's pure parts: the segment rule, the template and Alibaba Cloud's RPC signature.
#include "cityguard/notification_model/sms.hpp"

#include <gtest/gtest.h>

#include "cityguard/util/crypto.hpp"

using namespace cityguard;
using namespace cityguard::notification_model;

namespace {

message_facts gas_leak_facts(const std::string& advice) {
    message_facts f;
    f.lvl = rules::level::red;
    f.alarm.id = 1234;
    f.alarm.site = "GS-1";
    f.alarm.title.zh = "可燃气体浓度超限";
    f.alarm.advice.zh = advice;
    f.site_name = "梅林加油站";
    f.phone = "13800000001";
    return f;
}

}  // namespace

TEST(Sms, SegmentsCountUcs2UnitsLessTheSignName) {
    EXPECT_EQ(sms_units("abc"), 3u);
    EXPECT_EQ(sms_units("梅林"), 2u);
    EXPECT_EQ(sms_units("\xF0\x9F\x94\xA5"), 2u) << "a character outside the BMP takes two units";
    EXPECT_EQ(sms_capacity(1, ""), 70u);
    EXPECT_EQ(sms_capacity(1, "深圳城市安全"), 62u) << "70 less 【深圳城市安全】";
    EXPECT_EQ(sms_capacity(3, "深圳城市安全"), 193u) << "67 per segment when concatenated";
}

TEST(Sms, TheTextKeepsLevelSiteAndAlarmNumberAndCutsTheAdvice) {
    const auto f = gas_leak_facts(
        "立即停止卸油作业，切断站内电源，疏散人员，设置警戒区，通知燃气抢险队携带检测仪器到场处置，严禁明火。"
    );
    const auto text = sms_text(f, "zh", 62);
    EXPECT_LE(sms_units(text), 62u);
    EXPECT_TRUE(text.starts_with("红色预警：梅林加油站可燃气体浓度超限。立即停止卸油作业")) << text;
    EXPECT_TRUE(text.ends_with("…（报警1234）")) << text;
    const auto short_one = sms_text(gas_leak_facts("疏散人员。"), "zh", 62);
    EXPECT_EQ(short_one, "红色预警：梅林加油站可燃气体浓度超限。疏散人员。（报警1234）");
    EXPECT_LE(sms_units(sms_text(f, "zh", 10)), 10u) << "never over, however small";
}

TEST(Sms, TheTemplateFillsPlaceholdersAndSerialisesTemplateParameters) {
    channel ch;
    ch.sign_name = "深圳城市安全";
    const auto v = sms_values_of(gas_leak_facts("疏散人员。"), ch, "http://x/#alarm=1234");
    const auto params = sms_params(
        nlohmann::json{
            {"PhoneNumbers", "{phone}"},
            {"SignName", "{sign_name}"},
            {"TemplateParam", {{"level", "{level}"}, {"text", "{text}"}}}},
        v
    );
    EXPECT_EQ(params.at("PhoneNumbers"), "13800000001");
    EXPECT_EQ(params.at("SignName"), "深圳城市安全");
    const auto template_param = nlohmann::json::parse(params.at("TemplateParam"));
    EXPECT_EQ(template_param["level"], "红色");
    EXPECT_EQ(template_param["text"], v.text);
}

// The example of Alibaba Cloud's signature documentation (DescribeRegions with AccessKeyId
// testid and secret testsecret): CT9X0VtwR86fNWSnsc6v8YGOjuE=.
TEST(Sms, AliyunSignatureMatchesTheDocumentedExample) {
    const std::map<std::string, std::string> params{
        {"TimeStamp", "2016-02-23T12:46:24Z"},
        {"Format", "XML"},
        {"AccessKeyId", "testid"},
        {"Action", "DescribeRegions"},
        {"SignatureMethod", "HMAC-SHA1"},
        {"SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
        {"Version", "2014-05-26"},
        {"SignatureVersion", "1.0"}};
    const auto to_sign = aliyun_string_to_sign("GET", aliyun_canonical_query(params));
    EXPECT_TRUE(to_sign.starts_with("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions")) << to_sign;
    EXPECT_EQ(util::base64_encode(util::hmac_sha1("testsecret&", to_sign)), "CT9X0VtwR86fNWSnsc6v8YGOjuE=");
    EXPECT_EQ(aliyun_encode("a b*c~"), "a%20b%2Ac~");
    EXPECT_EQ(aliyun_encode("梅"), "%E6%A2%85");
}
