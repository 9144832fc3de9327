#include "cityguard/feed/feed_service.hpp"

#include <nlohmann/json.hpp>

#include "cityguard/rules/rule.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::feed {

using json = nlohmann::json;

namespace {

std::vector<std::string> string_list(const json& msg, const char* key) {
    std::vector<std::string> out;
    auto it = msg.find(key);
    if (it == msg.end() || it->is_null()) return out;
    if (!it->is_array()) throw api_error(errc::bad_request, std::string(key) + " must be an array of strings");
    for (const auto& v : *it) {
        if (!v.is_string()) throw api_error(errc::bad_request, std::string(key) + " must be an array of strings");
        out.push_back(v.get<std::string>());
    }
    return out;
}

}  // namespace

client_message parse_client_message(std::string_view text, std::size_t max_depth) {
    const json msg = util::parse_untrusted_json(text, max_depth);
    if (!msg.is_object()) throw api_error(errc::bad_request, "message must be a JSON object");
    const auto type = msg.find("type");
    if (type == msg.end() || !type->is_string()) throw api_error(errc::bad_request, "message needs a string \"type\"");
    client_message m;
    const auto& t = type->get_ref<const std::string&>();
    if (t == "auth") {
        m.type = client_message::kind::auth;
        auto token = msg.find("token");
        if (token == msg.end() || !token->is_string() || token->get_ref<const std::string&>().empty())
            throw api_error(errc::bad_request, "auth needs a non-empty string \"token\"");
        m.token = token->get<std::string>();
    } else if (t == "subscribe") {
        m.type = client_message::kind::subscribe;
        for (const auto& name : string_list(msg, "levels")) {
            auto l = rules::parse_level(name);
            if (!l)
                throw api_error(
                    errc::bad_request, "levels: unknown level \"" + name + "\" (red, orange, yellow, blue)"
                );
            m.wanted.levels.push_back(static_cast<int>(*l));
        }
        m.wanted.domains = string_list(msg, "domains");
        m.wanted.sites = string_list(msg, "sites");
        if (auto since = msg.find("since"); since != msg.end() && !since->is_null()) {
            if (!since->is_number_integer() || since->get<std::int64_t>() < 0)
                throw api_error(errc::bad_request, "since must be a non-negative integer seq");
            m.since = since->get<std::int64_t>();
        }
    } else if (t == "subscribe_readings" || t == "unsubscribe_readings") {
        m.type = t == "subscribe_readings" ? client_message::kind::subscribe_readings
                                           : client_message::kind::unsubscribe_readings;
        m.sensors = string_list(msg, "sensors");
        if (m.sensors.empty()) throw api_error(errc::bad_request, t + " needs a non-empty \"sensors\" array");
    } else {
        throw api_error(errc::bad_request, "unknown message type \"" + t + "\"");
    }
    return m;
}

feed_service::feed_service(
    store::event_log& log,
    auth::key_service& keys,
    const registry::sensor_directory& directory,
    const config::feed_config& cfg,
    std::size_t json_max_depth
)
    : log_(log), keys_(keys), directory_(directory), cfg_(cfg), json_max_depth_(json_max_depth), hub_(directory) {}

boost::asio::awaitable<std::optional<auth::principal>> feed_service::authenticate_session(std::string token) {
    if (!people_) co_return std::nullopt;
    auto found = co_await people_->authenticate(std::move(token));
    if (!found) co_return std::nullopt;
    co_return std::move(found->who);
}

bool feed_service::covers(const auth::scope& scope, std::string_view site) const {
    if (scope.whole_city()) return true;
    const auto places = directory_.snapshot();
    const auto* place = places->site(site);
    return place && scope.covers(place->district, place->domain, place->unit);
}

bool feed_service::covers_sensor(const auth::scope& scope, std::string_view sensor) const {
    if (scope.whole_city()) return true;
    const auto places = directory_.snapshot();
    const auto* entry = places->find(sensor);
    return entry && scope.covers(entry->district, entry->domain, entry->site_unit);
}

boost::asio::awaitable<std::optional<auth::principal>> feed_service::authenticate(
    std::string credentials, std::string client
) {
    if (credentials.rfind("Bearer ", 0) != 0) credentials = "Bearer " + credentials;
    auto who = co_await keys_.authenticate(credentials, std::move(client));
    co_return who;
}

boost::asio::awaitable<catch_up> feed_service::load(
    std::optional<std::int64_t> since, filter wanted, auth::scope scope
) {
    catch_up out;
    if (since) {
        auto r = co_await log_.replay(*since, cfg_.max_replay + 1);
        if (*since <= r.newest && r.events.size() <= cfg_.max_replay) {
            out.seq = r.events.empty() ? *since : r.events.back().event.seq;
            out.replayed.reserve(r.events.size());
            for (const auto& e : r.events) out.replayed.push_back(make_event(e, hub_.live_bytes()));
            co_return out;
        }
    }
    auto snap = co_await log_.snapshot();
    std::vector<alarm_model::alarm> matching;
    for (auto& a : snap.alarms)
        if (wanted.matches(a) && covers(scope, a.site)) matching.push_back(std::move(a));
    out.seq = snap.seq;
    out.snapshot = snapshot_message(snap.seq, matching, since.has_value());
    co_return out;
}

}  // namespace cityguard::feed
