#include "cityguard/notifications/outbox_service.hpp"

#include <charconv>
#include <map>

#include "cityguard/util/error.hpp"

namespace cityguard::notifications {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::size_t kDefaultList = 100;
constexpr std::size_t kMaxList = 1000;

json opt_time(const std::optional<util::micros>& t) { return t ? json(util::format_rfc3339(*t)) : json(nullptr); }

// next_attempt_at means something only while a row is pending: a delivered or failed row shows
// null rather than the time its last attempt was scheduled for.
json to_json(const store::notification_record& n) {
    json people = json::array();
    for (const auto& p : n.people) people.push_back({{"id", p.id}, {"display_name", p.display_name}});
    return {
        {"id", n.id},
        {"alarm", n.alarm},
        {"kind", n.kind},
        {"tier", n.tier},
        {"level", rules::to_string(n.lvl)},
        {"contact", {{"id", n.contact}, {"name", n.contact_name}, {"people", std::move(people)}}},
        {"channel", n.channel},
        {"status", n.status},
        {"attempt_count", n.attempts},
        {"next_attempt_at", n.status == "pending" ? json(util::format_rfc3339(n.next_attempt_at)) : json(nullptr)},
        {"created_at", util::format_rfc3339(n.created_at)},
        {"delivered_at", opt_time(n.delivered_at)},
        {"last_error", n.last_error ? json(*n.last_error) : json(nullptr)}};
}

std::int64_t positive(const std::string& text, const char* name, std::int64_t max) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size() || v < 1 || v > max)
        throw api_error(
            errc::bad_request, std::string(name) + " must be a whole number from 1 to " + std::to_string(max)
        );
    return v;
}

}  // namespace

// An alarm's notifications with every attempt: what an operator checks when someone says "I was
// never told" (who, over which channel, what the receiver answered, when).
net::awaitable<json> outbox_service::of_alarm(std::int64_t alarm) {
    auto rows = co_await repo_.of_alarm(alarm);
    auto attempts = co_await repo_.attempts_of_alarm(alarm);
    std::map<std::int64_t, json> tried;
    for (const auto& a : attempts)
        tried[a.notification].push_back(
            {{"attempt", a.attempt},
             {"at", util::format_rfc3339(a.at)},
             {"duration_ms", a.duration_ms},
             {"http_status", a.http_status ? json(*a.http_status) : json(nullptr)},
             {"error", a.error ? json(*a.error) : json(nullptr)}}
        );
    json out = json::array();
    for (const auto& n : rows) {
        auto j = to_json(n);
        auto it = tried.find(n.id);
        j["attempts"] = it == tried.end() ? json::array() : std::move(it->second);
        out.push_back(std::move(j));
    }
    co_return out;
}

net::awaitable<json> outbox_service::list(
    std::optional<std::string> status,
    std::optional<std::string> limit,
    std::optional<std::string> cursor,
    store::place_filter scope
) {
    if (status && *status != "pending" && *status != "delivered" && *status != "failed")
        throw api_error(errc::bad_request, "status must be pending, delivered or failed");
    const auto n = limit ? static_cast<std::size_t>(positive(*limit, "limit", kMaxList)) : kDefaultList;
    // The cursor is the last id of the previous page: ids only grow, so paging never skips a row
    // that was added meanwhile (it appears on the first page instead).
    std::optional<std::int64_t> before;
    if (cursor) before = positive(*cursor, "cursor", INT64_MAX);
    auto rows = co_await repo_.list(status, before, n, std::move(scope));
    json items = json::array();
    for (const auto& r : rows) items.push_back(to_json(r));
    json out{{"notifications", std::move(items)}};
    out["next_cursor"] = rows.size() == n && !rows.empty() ? json(std::to_string(rows.back().id)) : json(nullptr);
    co_return out;
}

}  // namespace cityguard::notifications
