#include "cityguard/notifications/silence_service.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "cityguard/registry/registry_model.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::notifications {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr util::micros kSecond = 1'000'000;

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

// The state is computed at answer time, not stored: a silence moves from pending to active to
// expired by the clock alone.
json to_json(const store::silence_record& s, util::micros now) {
    const auto& w = s.what;
    const char* state = w.ends_at <= now ? "expired" : w.starts_at > now ? "pending" : "active";
    return {
        {"id", w.id},
        {"matchers",
         {{"site", opt(w.site)},
          {"sensor", opt(w.sensor)},
          {"rule", opt(w.rule)},
          {"domain", opt(w.domain)},
          {"district", opt(w.district)}}},
        {"starts_at", util::format_rfc3339(w.starts_at)},
        {"ends_at", util::format_rfc3339(w.ends_at)},
        {"state", state},
        {"owner", s.owner},
        {"reason", s.reason},
        {"created_at", util::format_rfc3339(s.created_at)},
        {"ended_early_by", opt(s.ended_early_by)}};
}

[[noreturn]] void refuse(const std::string& message) { throw api_error(errc::validation_failed, message); }

// Site, sensor and rule are ids and must look like one: a typo would silence nothing and nobody
// would notice. Domain and district are names (district in Chinese), held to storable text.
std::optional<std::string> matcher(const json& body, const char* key, bool id_syntax) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string() || it->get<std::string>().empty()) refuse(std::string(key) + " must be a non-empty string");
    const auto v = it->get<std::string>();
    if (id_syntax && !registry::valid_id(v))
        refuse(std::string(key) + " must be an id: 1-64 characters of A-Z a-z 0-9 . _ -");
    if (v.size() > 100 || !util::storable_text(v)) refuse(std::string(key) + " must be text of at most 100 bytes");
    return v;
}

util::micros time_field(const json& body, const char* key) {
    const auto& v = body.at(key);
    if (!v.is_string()) refuse(std::string(key) + " must be an RFC 3339 time");
    try {
        return util::parse_time_param(v.get<std::string>(), key);
    } catch (const api_error& e) {
        refuse(e.what());
    }
}

}  // namespace

std::int64_t silence_id(const std::string& text) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || p != text.data() + text.size() || id < 1)
        throw api_error(errc::bad_request, "a silence id is a positive whole number");
    return id;
}

// At start and when this instance takes the lead: the escalation gets every silence in force or
// to come, so one created on another instance a moment ago holds here too.
net::awaitable<void> silence_service::load() {
    auto rows = co_await repo_.unexpired();
    std::vector<notification_model::silence> silences;
    for (auto& r : rows) silences.push_back(std::move(r.what));
    alarms_.set_silences(std::move(silences));
}

// Every bound of a silence is checked here, before the database sees it: a silence that could
// never hold, one without a matcher (it would silence the whole city), one longer than
// silences.max_duration_s, or one ending past year 9999 (the timestamp's range).
store::silence_record parse_silence(
    const json& body, const notification_model::policy& policy, const rules::domain_catalog& domains, util::micros now
) {
    if (!body.is_object()) refuse("a silence must be a JSON object");
    static const std::set<std::string> allowed{
        "site", "sensor", "rule", "domain", "district", "starts_at", "ends_at", "duration_s", "reason"};
    for (auto it = body.begin(); it != body.end(); ++it)
        if (!allowed.count(it.key())) refuse("unknown field '" + it.key() + "'");
    store::silence_record s;
    s.what.site = matcher(body, "site", true);
    s.what.sensor = matcher(body, "sensor", true);
    s.what.rule = matcher(body, "rule", true);
    s.what.domain = matcher(body, "domain", false);
    s.what.district = matcher(body, "district", false);
    if (s.what.domain && !domains.contains(*s.what.domain))
        refuse("domain must be one of the catalog's: " + domains.listed());
    if (!s.what.site && !s.what.sensor && !s.what.rule && !s.what.domain && !s.what.district)
        refuse("a silence needs at least one of site, sensor, rule, domain, district: it may not silence everything");
    s.what.starts_at = body.contains("starts_at") ? time_field(body, "starts_at") : now;
    if (body.contains("ends_at") == body.contains("duration_s")) refuse("give either ends_at or duration_s");
    if (body.contains("ends_at")) {
        s.what.ends_at = time_field(body, "ends_at");
    } else {
        const auto& d = body["duration_s"];
        if (!d.is_number_integer() || d.get<std::int64_t>() < 1 || d.get<std::int64_t>() > policy.max_silence_s)
            refuse("duration_s must be a whole number of seconds from 1 to " + std::to_string(policy.max_silence_s));
        s.what.ends_at = s.what.starts_at + d.get<std::int64_t>() * kSecond;
    }
    if (s.what.ends_at > util::kLatestTime) refuse("ends_at: a silence must end by 9999-12-31T23:59:59Z");
    if (s.what.ends_at <= now) refuse("ends_at is in the past: the silence would never hold");
    if (s.what.ends_at <= s.what.starts_at) refuse("ends_at must be after starts_at");
    if (s.what.ends_at - s.what.starts_at > policy.max_silence_s * kSecond)
        refuse(
            "ends_at: a silence may last at most " + std::to_string(policy.max_silence_s) +
            " s (silences.max_duration_s)"
        );
    auto reason = body.find("reason");
    if (reason == body.end() || !reason->is_string() || reason->get<std::string>().empty())
        refuse("reason is required: why these alarms are not to be notified");
    s.reason = reason->get<std::string>();
    if (s.reason.size() > 500 || !util::storable_text(s.reason)) refuse("reason must be text of at most 500 bytes");
    return s;
}

net::awaitable<json> silence_service::create(const json& body, const std::string& owner) {
    const auto domains = domains_.snapshot();
    auto s = parse_silence(body, policy_, *domains, util::now_micros());
    s.owner = owner;
    const auto stored = co_await repo_.create(s, static_cast<std::size_t>(policy_.max_active_silences));
    if (!stored)
        throw api_error(
            errc::conflict,
            "there are " + std::to_string(policy_.max_active_silences) +
                " silences in force or to come already (silences.max_active): end one first"
        );
    // Answer only once the writer holds it: a reading committed after this answer is matched
    // against the silence (alarm_service::put_silence).
    co_await alarms_.put_silence(stored->what);
    co_return to_json(*stored, util::now_micros());
}

// Ending early keeps the row and its audit: who ended it and when is part of the record.
net::awaitable<json> silence_service::end(std::int64_t id, const std::string& actor) {
    auto ended = co_await repo_.end(id, actor);
    if (!ended) {
        auto existing = co_await repo_.get(id);
        if (!existing) throw api_error(errc::not_found, "no silence " + std::to_string(id));
        throw api_error(errc::conflict, "silence " + std::to_string(id) + " is over already");
    }
    co_await alarms_.put_silence(ended->what);
    co_return to_json(*ended, util::now_micros());
}

net::awaitable<json> silence_service::get(std::int64_t id) {
    auto s = co_await repo_.get(id);
    if (!s) throw api_error(errc::not_found, "no silence " + std::to_string(id));
    auto out = to_json(*s, util::now_micros());
    auto audit = co_await repo_.audit(id);
    out["audit"] = json::array();
    for (const auto& a : audit)
        out["audit"].push_back(
            {{"seq", a.seq},
             {"at", util::format_rfc3339(a.at)},
             {"actor", a.actor},
             {"action", a.action},
             {"detail", a.detail}}
        );
    co_return out;
}

net::awaitable<json> silence_service::list(std::optional<std::string> state, std::optional<std::string> limit) {
    if (state && *state != "active" && *state != "pending" && *state != "expired")
        throw api_error(errc::bad_request, "state must be active, pending or expired");
    std::size_t n = 100;
    if (limit) {
        std::size_t v = 0;
        auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
        if (ec != std::errc{} || p != limit->data() + limit->size() || v < 1 || v > 1000)
            throw api_error(errc::bad_request, "limit must be a whole number from 1 to 1000");
        n = v;
    }
    auto rows = co_await repo_.list(state, n);
    json out = json::array();
    const auto now = util::now_micros();
    for (const auto& r : rows) out.push_back(to_json(r, now));
    co_return json{{"silences", std::move(out)}};
}

}  // namespace cityguard::notifications
