// POST /api/v1/rules/replay: what a rule or a pack would have done over stored readings. A
// fresh engine, fed the range's readings in reading time, one at a time as a gateway would have
// posted them, with a timer tick at each reading's time (on-delays, expiry, offline). Nothing is
// written; the live engine is not touched. Bounded by alarms.replay_max_readings,
// replay_max_ms and replay_max_sensors; one at a time (the slot is taken before any work); read
// and run in pages of kReplayPage readings, the engine resting as long as it worked between them.

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "cityguard/alarms/alarm_service.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/input.hpp"

namespace cityguard::alarms {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

constexpr const char* kReplayOffline = "replay.offline";

/// The rules to try: a whole pack, or one rule of a domain (given the offline rule every pack
/// needs, whose alarms are left out of the answer).
std::vector<rules::rule> rules_of_request(const json& req) {
    json pack;
    if (req.contains("pack")) {
        pack = req["pack"];
    } else if (req.contains("rule")) {
        const json& rule = req["rule"];
        std::string domain = req.value("domain", json()).is_string() ? req["domain"].get<std::string>() : "";
        if (domain.empty() && rule.is_object() && rule.value("domain", json()).is_string()) domain = rule["domain"];
        if (domain.empty()) throw api_error(errc::validation_failed, "'domain' is required with 'rule'");
        pack = {{"domain", domain}, {"rules", json::array({rule})}};
    } else {
        throw api_error(errc::validation_failed, "give 'rule' (with 'domain') or 'pack'");
    }
    if (pack.is_object() && pack.contains("rules") && pack["rules"].is_array()) {
        bool has_offline = false;
        for (const auto& r : pack["rules"])
            has_offline = has_offline || (r.is_object() && r.value("kind", json()) == "offline");
        if (!has_offline)
            pack["rules"].push_back(
                {{"id", kReplayOffline},
                 {"name", {{"zh", "离线"}, {"en", "offline"}}},
                 {"kinds", {"*"}},
                 {"kind", "offline"},
                 {"advice", {{"blue", {{"zh", "-"}, {"en", "-"}}}}},
                 {"source", "replay"}}
            );
    }
    try {
        return rules::parse_pack(pack, "replay");
    } catch (const rules::pack_error& e) {
        throw api_error(errc::validation_failed, e.what());
    }
}

struct replay_result {
    json alarms = json::array();
    std::size_t readings = 0;
};

/// A fresh engine fed page by page (each page on the replay thread, one after the other).
class replay_run {
  public:
    replay_run(std::vector<rules::rule> rule_set, std::vector<alarm_model::sensor_facts> sensors, util::micros from)
        : engine_(std::move(rule_set), from), sensors_(std::move(sensors)) {
        for (const auto& s : sensors_) {
            by_key_[s.key] = &s;
            all_.push_back(&s);
        }
    }

    /// Runs one page; throws payload_too_large once the engine's time passes `max_ms`.
    void feed(const std::vector<rules::reading>& page, int max_ms) {
        const auto started = std::chrono::steady_clock::now();
        auto lookup = [this](std::int32_t key) -> const alarm_model::sensor_facts* {
            auto it = by_key_.find(key);
            return it == by_key_.end() ? nullptr : it->second;
        };
        const std::vector<bool> inserted{true};
        for (std::size_t i = 0; i < page.size(); ++i) {
            if (i % 1024 == 0 &&
                spent_ + (std::chrono::steady_clock::now() - started) > std::chrono::milliseconds(max_ms))
                throw api_error(
                    errc::payload_too_large,
                    "the replay took longer than alarms.replay_max_ms (" + std::to_string(max_ms) + " ms) after " +
                        std::to_string(readings_ + i) + " readings: narrow the range or the selection"
                );
            const auto& r = page[i];
            take(engine_.tick(all_, r.ts));
            take(engine_.evaluate({r}, inserted, lookup, r.ts));
        }
        readings_ += page.size();
        spent_ += std::chrono::steady_clock::now() - started;
    }

    std::chrono::steady_clock::duration last_spent() const noexcept { return spent_; }
    std::size_t readings() const noexcept { return readings_; }

    json alarms() {
        json out = json::array();
        for (auto& [id, a] : alarms_)
            if (a["rule"] != kReplayOffline) out.push_back(std::move(a));
        return out;
    }

  private:
    void take(alarm_model::changes ch) {
        std::vector<std::int64_t> ids;
        for (auto& w : ch.alarms) {
            if (w.after.id == 0) {
                w.after.id = next_id_++;
                ids.push_back(w.after.id);
            }
            json& out = alarms_[w.after.id];
            json events = out.is_object() ? std::move(out["events"]) : json::array();
            for (const auto& e : w.events) events.push_back(alarm_model::to_json(e));
            out = alarm_model::to_json(w.after);
            out["events"] = std::move(events);
        }
        engine_.assign_ids(ids);
        engine_.commit();
    }

    alarm_model::engine engine_;
    std::vector<alarm_model::sensor_facts> sensors_;  // by_key_ and all_ point into it: never resized
    std::unordered_map<std::int32_t, const alarm_model::sensor_facts*> by_key_;
    std::vector<const alarm_model::sensor_facts*> all_;
    std::int64_t next_id_ = 1;
    std::map<std::int64_t, json> alarms_;  // by the replay's own ids, in the order raised
    std::size_t readings_ = 0;
    std::chrono::steady_clock::duration spent_{};
};

/// Readings read and run at a time: memory stays bounded whatever the range.
constexpr std::size_t kReplayPage = 5000;

}  // namespace

net::awaitable<json> alarm_service::replay(json req) {
    // The one-at-a-time slot first: a second replay is told at once, before any work.
    if (replaying_.exchange(true)) throw api_error(errc::overloaded, "a replay is running; retry when it has finished");
    struct release_slot {
        std::atomic<bool>& held;
        ~release_slot() { held = false; }
    } slot{replaying_};
    if (!req.is_object()) throw api_error(errc::validation_failed, "the body must be a JSON object");
    auto rule_set = rules_of_request(req);
    const std::string domain = rule_set.front().domain;
    auto time_of = [&](const char* key) {
        auto it = req.find(key);
        if (it == req.end() || !it->is_string())
            throw api_error(errc::validation_failed, std::string("'") + key + "' is required (RFC 3339)");
        return util::parse_time_param(it->get<std::string>(), key);
    };
    const util::micros from = time_of("from"), to = time_of("to");
    if (to <= from) throw api_error(errc::validation_failed, "'to' must be after 'from'");

    // The selection: a site, a named group, or a list of sensors, all of the rules' domain.
    const auto snap = directory_.snapshot();
    std::vector<alarm_model::sensor_facts> chosen;
    auto add = [&](const registry::sensor_entry& e) {
        if (e.domain != domain)
            throw api_error(
                errc::validation_failed, "sensor " + e.id + " is in domain " + e.domain + ", the rules in " + domain
            );
        chosen.push_back({e.id, e.key, e.site, e.domain, e.kind, e.interval_s, e.limits, 1, e.lat, e.lon, e.groups});
    };
    if (req.contains("site") && req["site"].is_string()) {
        const std::string site = req["site"];
        for (const auto& [id, e] : snap->by_id)
            if (e.site == site) add(e);
        if (chosen.empty()) throw api_error(errc::not_found, "no sensors at site '" + site + "'");
    } else if (req.contains("group") && req["group"].is_string()) {
        const std::string group = req["group"];
        for (const auto& [id, e] : snap->by_id)
            if (std::find(e.groups.begin(), e.groups.end(), group) != e.groups.end()) add(e);
        if (chosen.empty()) throw api_error(errc::not_found, "no sensors in group '" + group + "'");
    } else if (req.contains("sensors") && req["sensors"].is_array() && !req["sensors"].empty()) {
        std::set<std::string> seen;
        for (const auto& s : req["sensors"]) {
            if (!s.is_string()) throw api_error(errc::validation_failed, "'sensors' must hold sensor ids");
            if (!seen.insert(s.get<std::string>()).second) continue;
            const auto* e = snap->find(s.get<std::string_view>());
            if (!e) throw api_error(errc::not_found, "no sensor '" + s.get<std::string>() + "'");
            add(*e);
        }
    } else {
        throw api_error(errc::validation_failed, "give 'site', 'group' or 'sensors' (a non-empty array)");
    }
    if (chosen.size() > cfg_.replay_max_sensors)
        throw api_error(
            errc::payload_too_large,
            "more than alarms.replay_max_sensors (" + std::to_string(cfg_.replay_max_sensors) + ") sensors"
        );
    std::vector<std::int32_t> keys;
    for (const auto& s : chosen) keys.push_back(s.key);
    const auto key_array = store::alarms_repo::key_array(keys);
    json rule_ids = json::array();
    for (const auto& r : rule_set)
        if (r.id != kReplayOffline) rule_ids.push_back(r.id);
    const int max_ms = cfg_.replay_max_ms;
    auto run = std::make_shared<replay_run>(std::move(rule_set), std::move(chosen), from);
    util::micros after_ts = from;
    std::int32_t after_key = -1;
    std::size_t read_so_far = 0;
    net::steady_timer pause(co_await net::this_coro::executor);
    for (;;) {
        auto page = co_await repo_.readings_page(key_array, after_ts, after_key, to, kReplayPage);
        read_so_far += page.size();
        if (read_so_far > cfg_.replay_max_readings)
            throw api_error(
                errc::payload_too_large,
                "more than alarms.replay_max_readings (" + std::to_string(cfg_.replay_max_readings) +
                    ") stored readings in the range: narrow the range or the selection"
            );
        if (page.empty()) break;
        after_ts = page.back().ts;
        after_key = page.back().sensor_key;
        const bool last = page.size() < kReplayPage;
        const auto before = run->last_spent();
        // Named, not a temporary inside co_await: GCC 12 destroys such temporaries twice.
        auto work = [run, page = std::move(page), max_ms] {
            run->feed(page, max_ms);
            return true;
        };
        co_await replay_pool_.run(std::move(work));
        if (last) break;
        // At most half of one core: the engine rests as long as it worked, so that operators'
        // requests and ingest keep theirs (the machine may have two cores in all).
        pause.expires_after(run->last_spent() - before);
        co_await pause.async_wait(net::use_awaitable);
    }
    auto result_alarms = run->alarms();
    const auto result_readings = run->readings();
    co_return json{
        {"rules", std::move(rule_ids)},
        {"from", util::format_rfc3339(from)},
        {"to", util::format_rfc3339(to)},
        {"readings", result_readings},
        {"alarms", std::move(result_alarms)}};
}

}  // namespace cityguard::alarms
