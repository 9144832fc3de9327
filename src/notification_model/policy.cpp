#include "cityguard/notification_model/policy.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace cityguard::notification_model {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& why) { throw policy_error(where + ": " + why); }

// An unknown key is an error, not ignored: a misspelt "ack_deadlne_s" would otherwise leave a red
// alarm without the deadline its operator believes it has.
void only_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (!allowed.count(it.key())) fail(where + "." + it.key(), "unknown field");
}

std::int64_t bounded_int(const json& v, const std::string& where, std::int64_t lo, std::int64_t hi) {
    if (!v.is_number_integer()) fail(where, "must be a whole number");
    const auto n = v.get<std::int64_t>();
    if (n < lo || n > hi) fail(where, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return n;
}

// Channel names are referenced by contacts in the registry and shown in metrics labels: a
// small, fixed alphabet keeps both safe to print.
bool valid_channel_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

/// http://host[:port]/path only: deliveries go out over plain TCP or TLS (https).
bool valid_url(std::string_view url) {
    return (url.rfind("http://", 0) == 0 && url.size() > 7) || (url.rfind("https://", 0) == 0 && url.size() > 8);
}

/// The SMS channel's request template (docs/notifications.md, "SMS").
void parse_sms(const json& j, const std::string& where, channel& c) {
    const auto signing = j.value("signing", std::string("aliyun"));
    if (signing == "aliyun")
        c.signing = sms_signing::aliyun;
    else if (signing == "hmac-sha256")
        c.signing = sms_signing::hmac_sha256;
    else
        fail(where + ".signing", "must be aliyun or hmac-sha256");
    if (c.secret.empty())
        fail(where + ".secret", "an SMS channel needs secret or secret_env: the platform checks the signature");
    if (j.contains("access_key_id")) {
        if (!j["access_key_id"].is_string() || j["access_key_id"].get<std::string>().empty())
            fail(where + ".access_key_id", "must be non-empty text");
        c.access_key_id = j["access_key_id"].get<std::string>();
    }
    if (c.signing == sms_signing::aliyun && c.access_key_id.empty())
        fail(where + ".access_key_id", "is required with aliyun signing");
    if (j.contains("sign_name")) {
        if (!j["sign_name"].is_string() || j["sign_name"].get<std::string>().size() > 64)
            fail(where + ".sign_name", "must be text of at most 64 bytes");
        c.sign_name = j["sign_name"].get<std::string>();
    }
    if (!j.contains("params") || !j["params"].is_object() || j["params"].empty())
        fail(where + ".params", "is required: the request's parameters, e.g. {\"PhoneNumbers\":\"{phone}\", ...}");
    for (const auto& [name, value] : j["params"].items())
        if (!value.is_string() && !value.is_object() && !value.is_number())
            fail(where + ".params." + name, "must be text, a number or an object of them");
    if (j["params"].dump().find("{phone}") == std::string::npos)
        fail(where + ".params", "must name the recipient somewhere with {phone}");
    c.params = j["params"];
    if (j.contains("max_segments"))
        c.max_segments = static_cast<int>(bounded_int(j["max_segments"], where + ".max_segments", 1, 10));
}

channel parse_channel(const std::string& name, const json& j, secret_lookup lookup_env) {
    const std::string where = "channels." + name;
    if (!valid_channel_name(name)) fail(where, "a channel name is 1-64 characters of a-z 0-9 - _");
    if (!j.is_object()) fail(where, "must be an object");
    only_keys(
        j,
        {"type",
         "url",
         "secret",
         "secret_env",
         "timeout_ms",
         "max_in_flight",
         "language",
         "signing",
         "access_key_id",
         "sign_name",
         "params",
         "max_segments"},
        where
    );
    channel c;
    c.name = name;
    const auto type = j.value("type", std::string());
    if (type == "log")
        c.type = channel_type::log;
    else if (type == "webhook")
        c.type = channel_type::webhook;
    else if (type == "alertmanager")
        c.type = channel_type::alertmanager;
    else if (type == "wecom")
        c.type = channel_type::wecom;
    else if (type == "dingtalk")
        c.type = channel_type::dingtalk;
    else if (type == "sms")
        c.type = channel_type::sms;
    else
        fail(where + ".type", "must be log, webhook, alertmanager, wecom, dingtalk or sms");
    if (c.type != channel_type::log) {
        if (!j.contains("url") || !j["url"].is_string() || !valid_url(j["url"].get<std::string>()))
            fail(where + ".url", "is required: http://host:port/path or https://...");
        c.url = j["url"].get<std::string>();
    }
    if (j.contains("secret_env")) {
        if (!j["secret_env"].is_string()) fail(where + ".secret_env", "must be the name of an environment variable");
        auto value = lookup_env ? lookup_env(j["secret_env"].get<std::string>()) : std::nullopt;
        if (!value || value->empty())
            fail(where + ".secret_env", "environment variable " + j["secret_env"].get<std::string>() + " is not set");
        c.secret = *value;
    } else if (j.contains("secret")) {
        if (!j["secret"].is_string()) fail(where + ".secret", "must be text");
        c.secret = j["secret"].get<std::string>();
    }
    if (c.type == channel_type::sms)
        parse_sms(j, where, c);
    else
        for (const char* key : {"signing", "access_key_id", "sign_name", "params", "max_segments"})
            if (j.contains(key)) fail(where + "." + key, "is for SMS channels only");
    if (c.type == channel_type::webhook && c.secret.empty())
        fail(where + ".secret", "a webhook needs secret or secret_env: receivers check the signature");
    if (j.contains("timeout_ms"))
        c.timeout_ms = static_cast<int>(bounded_int(j["timeout_ms"], where + ".timeout_ms", 100, 120'000));
    if (j.contains("max_in_flight"))
        c.max_in_flight = static_cast<int>(bounded_int(j["max_in_flight"], where + ".max_in_flight", 1, 256));
    if (j.contains("language")) {
        if (j["language"] != "zh" && j["language"] != "en") fail(where + ".language", "must be zh or en");
        c.language = j["language"].get<std::string>();
    }
    return c;
}

// Required even when there is none: a level without a deadline must say so (null), so that a
// forgotten key cannot silently mean "never escalate".
std::optional<std::int64_t> deadline(const json& p, const char* key, const std::string& where) {
    if (!p.contains(key)) fail(where + "." + key, "is required: seconds, or null for no deadline at this level");
    if (p[key].is_null()) return std::nullopt;
    return bounded_int(p[key], where + "." + key, 1, 30LL * 86'400);
}

level_policy parse_level_policy(const json& p, const std::string& where) {
    if (!p.is_object()) fail(where, "must be an object");
    only_keys(p, {"level", "domain", "notify", "ack_deadline_s", "disposal_deadline_s"}, where);
    level_policy lp;
    const auto lvl = p.contains("level") && p["level"].is_string() ? rules::parse_level(p["level"].get<std::string>())
                                                                   : std::nullopt;
    if (!lvl) fail(where + ".level", "must be red, orange, yellow or blue");
    lp.lvl = *lvl;
    // Which domains exist is the rule packs' to say (rules::domain_catalog): the composition
    // root checks the names against them with unknown_domains.
    if (p.contains("domain")) {
        if (!p["domain"].is_string() || p["domain"].get<std::string>().empty() ||
            p["domain"].get<std::string>().size() > 48)
            fail(where + ".domain", "must be a domain of the rule packs");
        lp.domain = p["domain"].get<std::string>();
    }
    if (!p.contains("notify") || !p["notify"].is_array())
        fail(where + ".notify", "is required: the tiers told when an alarm is raised ([] for none)");
    for (const auto& t : p["notify"]) {
        const auto parsed = t.is_string() ? parse_tier(t.get<std::string>()) : std::nullopt;
        if (!parsed) fail(where + ".notify", "tiers are enterprise, district, sector and city");
        if (std::find(lp.notify.begin(), lp.notify.end(), *parsed) == lp.notify.end()) lp.notify.push_back(*parsed);
    }
    std::sort(lp.notify.begin(), lp.notify.end());
    lp.ack_s = deadline(p, "ack_deadline_s", where);
    lp.dispose_s = deadline(p, "disposal_deadline_s", where);
    return lp;
}

}  // namespace

std::string_view to_string(tier t) noexcept {
    switch (t) {
        case tier::enterprise:
            return "enterprise";
        case tier::district:
            return "district";
        case tier::sector:
            return "sector";
        case tier::city:
            return "city";
    }
    return "enterprise";
}

std::optional<tier> parse_tier(std::string_view text) noexcept {
    for (auto t : kTiers)
        if (to_string(t) == text) return t;
    return std::nullopt;
}

std::optional<tier> policy::next_after(tier t) const noexcept {
    for (auto at = std::find(kTiers.begin(), kTiers.end(), t); at != kTiers.end() && ++at != kTiers.end();)
        if (std::find(chain.begin(), chain.end(), *at) != chain.end()) return *at;
    return std::nullopt;
}

std::optional<tier> next_tier(tier t) noexcept {
    const auto at = std::find(kTiers.begin(), kTiers.end(), t);
    if (at == kTiers.end() || at + 1 == kTiers.end()) return std::nullopt;
    return *(at + 1);
}

std::string_view to_string(channel_type t) noexcept {
    switch (t) {
        case channel_type::log:
            return "log";
        case channel_type::webhook:
            return "webhook";
        case channel_type::alertmanager:
            return "alertmanager";
        case channel_type::wecom:
            return "wecom";
        case channel_type::dingtalk:
            return "dingtalk";
        case channel_type::sms:
            return "sms";
    }
    return "log";
}

// A domain's own policy wins over the level's general one (a chemical plant's red may call the
// city at once where a bridge's red calls the district first).
const level_policy& policy::for_alarm(rules::level lvl, std::string_view domain) const {
    const level_policy* fallback = nullptr;
    for (const auto& lp : levels) {
        if (lp.lvl != lvl) continue;
        if (lp.domain && *lp.domain == domain) return lp;
        if (!lp.domain) fallback = &lp;
    }
    return *fallback;  // parse_policy guarantees one per level
}

// The whole file is checked before the server starts: a bad notification file stops start-up
// with the field named, rather than failing at the first alarm.
policy parse_policy(const json& doc, secret_lookup lookup_env) {
    if (!doc.is_object()) fail("notifications", "must be a JSON object");
    only_keys(doc, {"channels", "policies", "retry", "silences", "dashboard_url", "escalation"}, "notifications");
    policy p;
    if (!doc.contains("channels") || !doc["channels"].is_object() || doc["channels"].empty())
        fail("channels", "is required: an object of named channels");
    for (auto it = doc["channels"].begin(); it != doc["channels"].end(); ++it)
        p.channels.emplace(it.key(), parse_channel(it.key(), *it, lookup_env));

    if (!doc.contains("policies") || !doc["policies"].is_array()) fail("policies", "is required: an array");
    std::set<std::pair<int, std::string>> seen;
    for (std::size_t i = 0; i < doc["policies"].size(); ++i) {
        const std::string where = "policies[" + std::to_string(i) + "]";
        auto lp = parse_level_policy(doc["policies"][i], where);
        if (!seen.insert({static_cast<int>(lp.lvl), lp.domain.value_or("")}).second)
            fail(where, "a second policy for the same level and domain");
        p.levels.push_back(std::move(lp));
    }
    for (auto lvl : {rules::level::red, rules::level::orange, rules::level::yellow, rules::level::blue})
        if (!seen.count({static_cast<int>(lvl), ""}))
            fail(
                "policies",
                "no policy for level " + std::string(rules::to_string(lvl)) +
                    " (every level needs one without a domain; deadlines may be null)"
            );

    if (doc.contains("retry")) {
        const auto& r = doc["retry"];
        if (!r.is_object()) fail("retry", "must be an object");
        only_keys(r, {"initial_ms", "max_ms", "max_attempts"}, "retry");
        if (r.contains("initial_ms"))
            p.retry.initial_ms = bounded_int(r["initial_ms"], "retry.initial_ms", 10, 3'600'000);
        if (r.contains("max_ms")) p.retry.max_ms = bounded_int(r["max_ms"], "retry.max_ms", 10, 86'400'000);
        if (r.contains("max_attempts"))
            p.retry.max_attempts = static_cast<int>(bounded_int(r["max_attempts"], "retry.max_attempts", 1, 1000));
        if (p.retry.max_ms < p.retry.initial_ms) fail("retry.max_ms", "must not be below retry.initial_ms");
    }
    if (doc.contains("silences")) {
        const auto& s = doc["silences"];
        if (!s.is_object()) fail("silences", "must be an object");
        only_keys(s, {"max_duration_s", "max_active"}, "silences");
        if (s.contains("max_duration_s"))
            p.max_silence_s = bounded_int(s["max_duration_s"], "silences.max_duration_s", 60, 366LL * 86'400);
        if (s.contains("max_active"))
            p.max_active_silences = bounded_int(s["max_active"], "silences.max_active", 1, 100'000);
    }
    if (doc.contains("dashboard_url")) {
        if (!doc["dashboard_url"].is_string() || !valid_url(doc["dashboard_url"].get<std::string>()))
            fail("dashboard_url", "must be an http:// or https:// URL");
        p.dashboard_url = doc["dashboard_url"].get<std::string>();
    }
    if (doc.contains("escalation")) {
        const auto& e = doc["escalation"];
        if (!e.is_array() || e.empty()) fail("escalation", "must list the tiers a missed deadline climbs through");
        std::vector<tier> chain;
        for (const auto& t : e) {
            const auto parsed = t.is_string() ? parse_tier(t.get<std::string>()) : std::nullopt;
            if (!parsed) fail("escalation", "tiers are enterprise, district, sector and city");
            const auto rank = [](tier x) { return std::find(kTiers.begin(), kTiers.end(), x) - kTiers.begin(); };
            if (!chain.empty() && rank(*parsed) <= rank(chain.back()))
                fail("escalation", "tiers go upward once each: enterprise, district, sector, city");
            chain.push_back(*parsed);
        }
        p.chain = std::move(chain);
    }
    return p;
}

// Secrets may come from the environment (secret_env), so the file can be shipped and read by
// others without the webhook keys in it.
policy load_policy_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw policy_error(path + ": cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    const auto doc = json::parse(text.str(), nullptr, false, /*ignore_comments=*/true);
    if (doc.is_discarded()) throw policy_error(path + ": not valid JSON");
    try {
        return parse_policy(doc, [](const std::string& name) -> std::optional<std::string> {
            const char* v = std::getenv(name.c_str());
            return v ? std::optional<std::string>(v) : std::nullopt;
        });
    } catch (const policy_error& e) {
        throw policy_error(path + ": " + e.what());
    }
}

json to_json(const policy& p) {
    json channels = json::object();
    for (const auto& [name, c] : p.channels) {
        json j{
            {"type", to_string(c.type)},
            {"timeout_ms", c.timeout_ms},
            {"max_in_flight", c.max_in_flight},
            {"language", c.language}};
        // A robot's key or access token is in its URL's query: a credential, shown only as "…".
        if (!c.url.empty())
            j["url"] = c.url.find('?') == std::string::npos ? c.url : c.url.substr(0, c.url.find('?')) + "?…";
        channels[name] = std::move(j);
    }
    json levels = json::array();
    for (const auto& lp : p.levels) {
        json tiers = json::array();
        for (auto t : lp.notify) tiers.push_back(to_string(t));
        json j{{"level", rules::to_string(lp.lvl)}, {"notify", std::move(tiers)}};
        if (lp.domain) j["domain"] = *lp.domain;
        j["ack_deadline_s"] = lp.ack_s ? json(*lp.ack_s) : json(nullptr);
        j["disposal_deadline_s"] = lp.dispose_s ? json(*lp.dispose_s) : json(nullptr);
        levels.push_back(std::move(j));
    }
    return {
        {"channels", std::move(channels)},
        {"policies", std::move(levels)},
        {"retry",
         {{"initial_ms", p.retry.initial_ms}, {"max_ms", p.retry.max_ms}, {"max_attempts", p.retry.max_attempts}}},
        {"silences", {{"max_duration_s", p.max_silence_s}, {"max_active", p.max_active_silences}}},
        {"dashboard_url", p.dashboard_url},
        {"escalation", [&] {
             json chain = json::array();
             for (auto t : p.chain) chain.push_back(to_string(t));
             return chain;
         }()}};
}

std::vector<std::string> unknown_domains(const policy& p, const rules::domain_catalog& domains) {
    std::vector<std::string> out;
    for (const auto& lp : p.levels)
        if (lp.domain && !domains.contains(*lp.domain) && std::find(out.begin(), out.end(), *lp.domain) == out.end())
            out.push_back(*lp.domain);
    return out;
}

}  // namespace cityguard::notification_model
