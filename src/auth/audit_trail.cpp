#include "cityguard/auth/audit_trail.hpp"

#include <spdlog/spdlog.h>

#include "cityguard/util/crypto.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::auth {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

bool secret_member(const std::string& name) {
    static const char* secrets[] = {
        "password",
        "current_password",
        "new_password",
        "code",
        "one_time_code",
        "recovery_code",
        "key",
        "secret",
        "token"};
    for (const char* s : secrets)
        if (name == s) return true;
    return false;
}

// Deeper than any body the API takes: kept out whole rather than searched further.
void redact(json& j, int depth = 0) {
    if (depth > 8) {
        j = "***";
        return;
    }
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (secret_member(it.key()))
                *it = "***";
            else
                redact(*it, depth + 1);
        }
    } else if (j.is_array()) {
        for (auto& v : j) redact(v, depth + 1);
    }
}

std::string csv_field(const std::string& s) {
    // A cell starting with = + - @ would run as a formula in a spreadsheet.
    std::string cell = (!s.empty() && std::string_view("=+-@").find(s.front()) != std::string_view::npos) ? "'" + s : s;
    std::string out = "\"";
    for (char c : cell) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string summarise_body(std::string_view body, std::size_t max_bytes) {
    if (body.empty()) return "{}";
    if (body.size() <= max_bytes) {
        json doc = json::parse(body, nullptr, false);
        if (!doc.is_discarded()) {
            redact(doc);
            std::string text = doc.dump(-1, ' ', false, json::error_handler_t::replace);
            if (text.size() <= max_bytes && util::storable_text(text)) return text;
        }
    }
    return json{{"bytes", body.size()}, {"sha256", util::to_hex(util::sha256(body))}}.dump();
}

net::awaitable<void> audit_trail::record(const audit_entry& e) {
    store::audit_record r;
    if (e.who) {
        r.actor = e.who->actor();
        if (e.who->is_person()) r.user_id = e.who->user_id;
    } else {
        r.actor = "anonymous";
    }
    r.client = util::storable_text(e.client) ? e.client : "?";
    r.action = util::storable_text(e.action) ? e.action : "?";
    r.target = util::storable_text(e.target) ? e.target.substr(0, 512) : "?";
    r.detail = summarise(e.body);
    r.status = e.status;
    try {
        co_await repo_.append(std::move(r));
    } catch (const std::exception& ex) {
        failures_.fetch_add(1);
        spdlog::error(
            "audit: not recorded ({} {} by {}): {}", e.action, e.target, e.who ? e.who->actor() : "anonymous", ex.what()
        );
    }
}

net::awaitable<json> audit_trail::list(
    std::optional<std::string> from,
    std::optional<std::string> to,
    std::optional<std::string> actor,
    std::optional<std::string> action,
    std::optional<std::string> target,
    std::optional<std::string> limit,
    std::optional<std::string> cursor
) {
    store::audit_filter f;
    if (from) f.from = util::parse_time_param(*from, "from");
    if (to) f.to = util::parse_time_param(*to, "to");
    f.actor = std::move(actor);
    f.action_prefix = std::move(action);
    f.target = std::move(target);
    f.limit = limit ? static_cast<std::size_t>(
                          util::parse_integer_param(*limit, "limit", 1, static_cast<long long>(cfg_.max_list))
                      )
                    : std::min<std::size_t>(100, cfg_.max_list);
    if (cursor) f.before_seq = util::parse_integer_param(*cursor, "cursor", 1, std::numeric_limits<long long>::max());
    const std::size_t wanted = f.limit;
    auto rows = co_await repo_.list(std::move(f));
    json entries = json::array();
    for (std::size_t i = 0; i < rows.size() && i < wanted; ++i) {
        const auto& r = rows[i];
        entries.push_back(
            {{"seq", r.seq},
             {"at", util::format_rfc3339(r.at)},
             {"actor", r.actor},
             {"user_id", r.user_id ? json(*r.user_id) : json(nullptr)},
             {"client", r.client},
             {"action", r.action},
             {"target", r.target},
             {"detail", json::parse(r.detail, nullptr, false).is_discarded() ? json(r.detail) : json::parse(r.detail)},
             {"status", r.status},
             {"hash", r.hash}}
        );
    }
    json out{{"entries", std::move(entries)}};
    out["next_cursor"] = rows.size() > wanted ? json(std::to_string(rows[wanted - 1].seq)) : json(nullptr);
    co_return out;
}

std::string audit_trail::to_csv(const json& listed) {
    std::string out = "seq,at,actor,user_id,client,action,target,status,detail,hash\r\n";
    for (const auto& e : listed["entries"]) {
        out += std::to_string(e["seq"].get<std::int64_t>()) + ',' + csv_field(e["at"].get<std::string>()) + ',' +
               csv_field(e["actor"].get<std::string>()) + ',' +
               (e["user_id"].is_null() ? std::string() : std::to_string(e["user_id"].get<std::int64_t>())) + ',' +
               csv_field(e["client"].get<std::string>()) + ',' + csv_field(e["action"].get<std::string>()) + ',' +
               csv_field(e["target"].get<std::string>()) + ',' + std::to_string(e["status"].get<int>()) + ',' +
               csv_field(e["detail"].dump()) + ',' + csv_field(e["hash"].get<std::string>()) + "\r\n";
    }
    return out;
}

net::awaitable<json> audit_trail::verify() {
    const auto v = co_await repo_.verify();
    json out{
        {"ok", !v.broken_at && v.head_matches},
        {"rows", v.rows},
        {"first_seq", v.first_seq ? json(*v.first_seq) : json(nullptr)},
        {"last_seq", v.last_seq ? json(*v.last_seq) : json(nullptr)},
        {"head_seq", v.head_seq},
        {"head_matches", v.head_matches}};
    if (v.broken_at) out["broken_at"] = *v.broken_at;
    co_return out;
}

net::awaitable<long> audit_trail::drop_expired() {
    const util::micros cutoff = util::now_micros() - static_cast<util::micros>(cfg_.retention_days) * 86'400'000'000LL;
    auto n = co_await repo_.drop_before(cutoff);
    co_return n;
}

}  // namespace cityguard::auth
