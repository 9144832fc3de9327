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

/// The Alertmanager alert (one element of POST /api/v2/alerts). An alarm that cleared or closed
/// gets endsAt = now; an active one endsAt = now + `firing_for_s`, renewed by each notice.
nlohmann::json alertmanager_alert(
    const message_facts& f, const message& m, util::micros now, std::int64_t firing_for_s
);

}  // namespace cityguard::notification_model
