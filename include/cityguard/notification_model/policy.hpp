#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cityguard/rules/domain.hpp"
#include "cityguard/rules/rule.hpp"

/// Who is told about an alarm, through what, and how long people have before the next tier is
/// told: the notification document (config/notifications.json, docs/notifications.md). Pure.
namespace cityguard::notification_model {

/// Who a contact is: the enterprise's safety officer, the street or district supervisor, the
/// sector department's duty desk (the gas department for gas alarms: a contact limited to
/// domains), the city duty desk. The numbers are the bits of `told` as stored (sector came
/// last); the escalation order is kTiers'.
enum class tier { enterprise = 0, district = 1, city = 2, sector = 3 };
inline constexpr std::array<tier, 4> kTiers{tier::enterprise, tier::district, tier::sector, tier::city};
std::string_view to_string(tier t) noexcept;
std::optional<tier> parse_tier(std::string_view text) noexcept;
/// The tier told when `t` did not act; none after the city.
std::optional<tier> next_tier(tier t) noexcept;

/// wecom: a WeChat Work (企业微信) group robot; dingtalk: a DingTalk (钉钉) custom robot; sms: the
/// city's SMS platform, by a request template (docs/notifications.md cites their wire formats).
enum class channel_type { log, webhook, alertmanager, wecom, dingtalk, sms };

/// How an SMS request is signed: Alibaba Cloud's RPC signature (HMAC-SHA1 over the sorted,
/// percent-encoded parameters, sent as a form), or CityGuard's HMAC-SHA256 of a JSON body (as the
/// webhook's) for a city platform that takes that.
enum class sms_signing { aliyun, hmac_sha256 };
std::string_view to_string(channel_type t) noexcept;

/// A configured way to reach people, by name ("duty-webhook"). Contacts name the channels that
/// reach them.
struct channel {
    std::string name;
    channel_type type = channel_type::log;
    std::string url;        ///< webhook: where to POST; alertmanager: its base URL
    std::string secret;     ///< webhook: the HMAC-SHA256 key; dingtalk: the robot's 加签 secret (SEC...), optional
    int timeout_ms = 5000;  ///< one delivery attempt, connect to answer
    int max_in_flight = 4;  ///< deliveries at once on this channel
    std::string language = "zh";  ///< the template's language: zh or en
    // sms only
    sms_signing signing = sms_signing::aliyun;
    std::string access_key_id{};  ///< aliyun: the AccessKeyId (the secret is `secret`)
    std::string sign_name{};      ///< the 【】 signature the platform prepends, counted in the segment
    nlohmann::json params = nlohmann::json::object();  ///< the request's parameters, with placeholders
    int max_segments = 1;                              ///< 1: at most 70 units; n: 67 × n, concatenated
};

/// What happens for alarms of one level (and, optionally, one domain).
struct level_policy {
    rules::level lvl = rules::level::blue;
    std::optional<std::string> domain;      ///< empty: every domain without a policy of its own
    std::vector<tier> notify;               ///< told when the alarm is raised (or climbs to this level)
    std::optional<std::int64_t> ack_s;      ///< unacknowledged this long: the next tier is told
    std::optional<std::int64_t> dispose_s;  ///< not resolved this long after raising: reminded, next tier told
};

struct retry_policy {
    std::int64_t initial_ms = 1000;  ///< first retry after a failed attempt
    std::int64_t max_ms = 300'000;   ///< backoff doubles up to this
    int max_attempts = 20;           ///< then the notification is marked failed
};

struct policy {
    std::map<std::string, channel> channels;
    std::vector<level_policy> levels;
    retry_policy retry;
    std::int64_t max_silence_s = 7 * 86'400;
    std::int64_t max_active_silences = 1000;               ///< silences in force or to come (silences.max_active)
    std::string dashboard_url = "http://127.0.0.1:8080/";  ///< links in messages: URL#alarm=ID
    /// The tiers a missed deadline climbs through, in kTiers order ("escalation" in the file).
    /// Without sector desks a city leaves "sector" out, so the city is not told a deadline later.
    std::vector<tier> chain{tier::enterprise, tier::district, tier::city};

    /// The policy for an alarm: the domain's own for its level, else the level's.
    const level_policy& for_alarm(rules::level lvl, std::string_view domain) const;
    bool has_channel(std::string_view name) const { return channels.count(std::string(name)) > 0; }
    /// The tier of the chain told when `t` did not act (the first chain tier above it); none
    /// after the last.
    std::optional<tier> next_after(tier t) const noexcept;
};

/// A refused notification document: what() names the field ("policies[2].ack_deadline_s: ...").
class policy_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Environment lookup for secret_env (injectable for tests).
using secret_lookup = std::optional<std::string> (*)(const std::string&);

/// Parses and checks the document. Every level needs a policy with both deadlines stated
/// (null: none). Throws policy_error.
policy parse_policy(const nlohmann::json& doc, secret_lookup lookup_env);

/// Reads and parses the notification file (comments allowed); secret_env from the process
/// environment. Throws policy_error naming the file and field.
policy load_policy_file(const std::string& path);

nlohmann::json to_json(const policy& p);  ///< for GET /api/v1/notifications/policy; secrets left out

/// The domains the policy names that no rule pack declares (a policy that could never apply).
std::vector<std::string> unknown_domains(const policy& p, const rules::domain_catalog& domains);

}  // namespace cityguard::notification_model
