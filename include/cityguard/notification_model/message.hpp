#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/notification_model/escalation.hpp"
#include "cityguard/notification_model/policy.hpp"

/// What a notification says, per channel language (zh/en): the title, level, site, value, the
/// handling advice and a link to the alarm on the dashboard. Pure.
namespace cityguard::notification_model {

/// Everything a message is made of.
struct message_facts {
    std::int64_t notification = 0;
    notice_kind kind = notice_kind::raised;
    tier to = tier::enterprise;
    rules::level lvl = rules::level::blue;  ///< the level the notice was for
    alarm_model::alarm alarm;               ///< as it is now
    std::string site_name;
    std::string district;
    std::string contact_id;
    std::string contact_name;
    std::optional<std::string> phone;  ///< personal data: goes to the receiver, never to the log
};

struct message {
    std::string title;
    std::string text;
    std::string link;
};

message render(const message_facts& f, const std::string& language, const std::string& dashboard_url);

/// The idempotency key of a notification: the same on every attempt.
std::string idempotency_key(std::int64_t notification);

/// The webhook's JSON body.
nlohmann::json webhook_body(const message_facts& f, const message& m, const std::string& language);

/// A WeChat Work group robot's message (企业微信群机器人, "markdown" type): the title in bold,
/// the level in its colour (the robot's <font color="warning|comment|info">), the text and the
/// link; at most 4096 bytes of UTF-8, as the robot accepts, cut at a character boundary.
nlohmann::json wecom_body(const message_facts& f, const message& m);

/// A DingTalk custom robot's message ("markdown" type): title, text with the link, and the
/// contact's mobile in "at.atMobiles" (and "@mobile" in the text, which DingTalk needs to
/// highlight it) when the contact's phone is a mainland mobile number.
nlohmann::json dingtalk_body(const message_facts& f, const message& m);

/// The query DingTalk's 加签 security adds to the robot URL: "&timestamp=MS&sign=URLENCODED" where
/// the sign is base64(HMAC-SHA256(secret, MS + "\n" + secret)). `signature_base64` is that
/// base64 (the caller computes the HMAC: this module does no cryptography).
std::string dingtalk_sign_query(std::int64_t timestamp_ms, const std::string& signature_base64);

/// The Alertmanager alert (one element of POST /api/v2/alerts). An alarm that cleared or closed
/// gets endsAt = now; an active one endsAt = now + `firing_for_s`, renewed by each notice.
nlohmann::json alertmanager_alert(
    const message_facts& f, const message& m, util::micros now, std::int64_t firing_for_s
);

}  // namespace cityguard::notification_model
