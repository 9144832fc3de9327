#include <gtest/gtest.h>

#include "cityguard/notification_model/policy.hpp"

using namespace cityguard;
using nlohmann::json;

namespace {

json document() {
    return json::parse(R"({
      "channels": {
        "log": {"type": "log"},
        "hook": {"type": "webhook", "url": "http://127.0.0.1:9/notify", "secret_env": "HOOK_SECRET"},
        "am": {"type": "alertmanager", "url": "http://127.0.0.1:9093", "language": "en"}
      },
      "policies": [
        {"level": "red", "notify": ["district", "enterprise"], "ack_deadline_s": 300, "disposal_deadline_s": 7200},
        {"level": "red", "domain": "major_hazard", "notify": ["enterprise", "district", "city"],
         "ack_deadline_s": 120, "disposal_deadline_s": 3600},
        {"level": "orange", "notify": ["enterprise"], "ack_deadline_s": 900, "disposal_deadline_s": 28800},
        {"level": "yellow", "notify": ["enterprise"], "ack_deadline_s": 3600, "disposal_deadline_s": 86400},
        {"level": "blue", "notify": [], "ack_deadline_s": null, "disposal_deadline_s": null}
      ]
    })");
}

std::optional<std::string> env(const std::string& name) {
    if (name == "HOOK_SECRET") return "s3cret";
    return std::nullopt;
}

std::string policy_refusal(const json& doc) {
    try {
        notification_model::parse_policy(doc, env);
    } catch (const notification_model::policy_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST(NotifyPolicy, TheShippedShapeParsesAndADomainPolicyWins) {
    const auto p = notification_model::parse_policy(document(), env);
    EXPECT_EQ(p.channels.at("hook").secret, "s3cret");
    EXPECT_EQ(p.channels.at("am").language, "en");
    const auto& red = p.for_alarm(rules::level::red, "gas_station");
    EXPECT_EQ(red.ack_s, 300);
    ASSERT_EQ(red.notify.size(), 2u);
    EXPECT_EQ(red.notify[0], notification_model::tier::enterprise);  // sorted into escalation order
    EXPECT_EQ(p.for_alarm(rules::level::red, "major_hazard").ack_s, 120);
    EXPECT_FALSE(p.for_alarm(rules::level::blue, "bridge").ack_s.has_value());
    // Secrets never leave the server, nor a robot's key in its URL.
    EXPECT_EQ(notification_model::to_json(p).dump().find("s3cret"), std::string::npos);
    auto with_robot = document();
    with_robot["channels"]["robot"] = {
        {"type", "wecom"}, {"url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ROBOTKEY"}};
    const auto shown = notification_model::to_json(notification_model::parse_policy(with_robot, env));
    EXPECT_EQ(shown.dump().find("ROBOTKEY"), std::string::npos);
    EXPECT_EQ(shown["channels"]["robot"]["url"], "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…");
}

TEST(NotifyPolicy, RefusalsNameTheField) {
    auto doc = document();
    doc["policies"][2].erase("ack_deadline_s");
    EXPECT_EQ(
        policy_refusal(doc), "policies[2].ack_deadline_s: is required: seconds, or null for no deadline at this level"
    );
    doc = document();
    doc["policies"].erase(3);  // no yellow
    EXPECT_NE(policy_refusal(doc).find("no policy for level yellow"), std::string::npos);
    doc = document();
    doc["channels"]["sms"] = {{"type", "pager"}};
    EXPECT_EQ(policy_refusal(doc), "channels.sms.type: must be log, webhook, alertmanager, wecom, dingtalk or sms");
    // An SMS channel: signed, with an access key for Alibaba Cloud, and a template that names the phone.
    const json sms{
        {"type", "sms"},
        {"url", "https://dysmsapi.aliyuncs.com/"},
        {"access_key_id", "LTAI"},
        {"secret", "k"},
        {"params", {{"PhoneNumbers", "{phone}"}}}};
    doc = document();
    doc["channels"]["sms"] = sms;
    EXPECT_EQ(policy_refusal(doc), "");
    doc["channels"]["sms"].erase("access_key_id");
    EXPECT_EQ(policy_refusal(doc), "channels.sms.access_key_id: is required with aliyun signing");
    doc["channels"]["sms"] = sms;
    doc["channels"]["sms"]["params"] = {{"mobile", "13800000000"}};
    EXPECT_EQ(policy_refusal(doc), "channels.sms.params: must name the recipient somewhere with {phone}");
    doc["channels"]["sms"] = sms;
    doc["channels"]["sms"]["max_segments"] = 11;
    EXPECT_NE(policy_refusal(doc).find("channels.sms.max_segments"), std::string::npos);
    doc = document();
    doc["channels"]["hook"]["params"] = {{"a", "b"}};
    EXPECT_EQ(policy_refusal(doc), "channels.hook.params: is for SMS channels only");
    doc = document();
    doc["channels"]["hook"].erase("secret_env");
    EXPECT_NE(policy_refusal(doc).find("channels.hook.secret"), std::string::npos);
    doc = document();
    doc["channels"]["hook"]["secret_env"] = "UNSET_VARIABLE";
    EXPECT_EQ(policy_refusal(doc), "channels.hook.secret_env: environment variable UNSET_VARIABLE is not set");
    doc = document();
    doc["policies"][0]["notify"] = {"mayor"};
    EXPECT_EQ(policy_refusal(doc), "policies[0].notify: tiers are enterprise, district, sector and city");
    doc = document();
    doc["policies"][1]["domain"] = 7;
    EXPECT_NE(policy_refusal(doc).find("policies[1].domain"), std::string::npos);
    // A domain no rule pack declares: the composition root refuses it against the catalog.
    doc = document();
    doc["policies"][1]["domain"] = "airport";
    const auto domains = rules::load_domains(CITYGUARD_SOURCE_DIR "/config/rules");
    const auto parsed = notification_model::parse_policy(doc, env);
    EXPECT_EQ(notification_model::unknown_domains(parsed, domains), std::vector<std::string>{"airport"});
    EXPECT_TRUE(notification_model::unknown_domains(notification_model::parse_policy(document(), env), domains).empty()
    );
    doc = document();
    doc["policies"].push_back(doc["policies"][0]);
    EXPECT_EQ(policy_refusal(doc), "policies[5]: a second policy for the same level and domain");
    doc = document();
    doc["silences"] = {{"max_duration_s", 10}};
    EXPECT_EQ(policy_refusal(doc), "silences.max_duration_s: must be between 60 and 31622400");
    doc = document();
    doc["retry"] = {{"initial_ms", 5000}, {"max_ms", 1000}};
    EXPECT_EQ(policy_refusal(doc), "retry.max_ms: must not be below retry.initial_ms");
    doc = document();
    doc["channels"]["am"]["url"] = "ftp://x";
    EXPECT_NE(policy_refusal(doc).find("channels.am.url"), std::string::npos);
}

TEST(NotifyPolicy, TheShippedFileLoads) {
    const auto p = notification_model::load_policy_file(CITYGUARD_SOURCE_DIR "/config/notifications.json");
    EXPECT_TRUE(p.has_channel("log"));
    EXPECT_EQ(p.for_alarm(rules::level::red, "gas_pipeline").ack_s, 300);
    EXPECT_EQ(notification_model::next_tier(notification_model::tier::enterprise), notification_model::tier::district);
    EXPECT_FALSE(notification_model::next_tier(notification_model::tier::city).has_value());
}
