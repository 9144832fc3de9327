#include "cityguard/feed/hub.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::feed {

using json = nlohmann::json;

namespace {
template <class T>
bool any_or_contains(const std::vector<T>& list, const T& v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}
}  // namespace

bool filter::matches(int level, int peak_level, const std::string& domain, const std::string& site) const {
    const bool level_ok = levels.empty() || std::find(levels.begin(), levels.end(), level) != levels.end() ||
                          std::find(levels.begin(), levels.end(), peak_level) != levels.end();
    return level_ok && any_or_contains(domains, domain) && any_or_contains(sites, site);
}

message counted_message(std::string text, const shared_bytes& live) {
    const std::size_t size = text.size();
    live->fetch_add(size, std::memory_order_relaxed);
    return message(new std::string(std::move(text)), [live, size](const std::string* m) {
        live->fetch_sub(size, std::memory_order_relaxed);
        delete m;
    });
}

event make_event(const store::logged_event& e, const shared_bytes& live) {
    json j = alarm_model::to_json(e.event);
    j["event"] = std::move(j["type"]);
    j["type"] = "alarm_event";
    j["alarm_id"] = e.alarm.id;
    j["alarm"] = alarm_model::to_json(e.alarm);
    return {
        e.event.seq,
        static_cast<int>(e.alarm.lvl),
        static_cast<int>(e.alarm.peak),
        e.alarm.domain,
        e.alarm.site,
        counted_message(j.dump(-1, ' ', false, json::error_handler_t::replace), live)};
}

std::string snapshot_message(std::int64_t seq, const std::vector<alarm_model::alarm>& alarms, bool reset) {
    json list = json::array();
    for (const auto& a : alarms) list.push_back(alarm_model::to_json(a));
    json j{{"type", "snapshot"}, {"seq", seq}, {"alarms", std::move(list)}};
    if (reset) j["reset"] = true;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_message(std::string_view code, std::string_view text) {
    return json{{"type", "error"}, {"code", code}, {"message", text}}.dump(
        -1, ' ', false, json::error_handler_t::replace
    );
}

void hub::add(const std::shared_ptr<subscriber>& s) {
    std::lock_guard lock(mutex_);
    subscribers_[s.get()] = s;
}

void hub::remove(const subscriber* s) {
    std::lock_guard lock(mutex_);
    subscribers_.erase(s);
    for (auto it = readings_.begin(); it != readings_.end();) {
        auto& subs = it->second.subscribers;
        subs.erase(std::remove(subs.begin(), subs.end(), s), subs.end());
        if (subs.empty()) {
            it = readings_.erase(it);
            followed_sensors_.fetch_sub(1);
        } else {
            ++it;
        }
    }
}

void hub::publish(std::vector<store::logged_event> events) {
    if (events.empty()) return;
    auto batch = std::make_shared<std::vector<event>>();
    batch->reserve(events.size());
    for (const auto& e : events) batch->push_back(make_event(e, live_));
    position_ = batch->back().seq;
    std::vector<std::shared_ptr<subscriber>> targets;
    {
        std::lock_guard lock(mutex_);
        targets.reserve(subscribers_.size());
        for (auto& [ptr, weak] : subscribers_)
            if (auto s = weak.lock()) targets.push_back(std::move(s));
    }
    const event_batch shared = std::move(batch);
    for (auto& s : targets) s->deliver(shared);
}

std::vector<std::string> hub::follow_readings(const subscriber* s, const std::vector<std::string>& sensors) {
    const auto dir = directory_.snapshot();
    std::vector<std::string> unknown;
    std::lock_guard lock(mutex_);
    for (const auto& id : sensors) {
        const auto* entry = dir->find(std::string_view(id));
        if (!entry) {
            unknown.push_back(id);
            continue;
        }
        auto [it, fresh] = readings_.try_emplace(entry->key, follower_set{entry->id, {}});
        if (fresh) followed_sensors_.fetch_add(1);
        auto& subs = it->second.subscribers;
        if (std::find(subs.begin(), subs.end(), s) == subs.end()) subs.push_back(s);
    }
    return unknown;
}

void hub::unfollow_readings(const subscriber* s, const std::vector<std::string>& sensors) {
    const auto dir = directory_.snapshot();
    std::lock_guard lock(mutex_);
    for (const auto& id : sensors) {
        const auto* entry = dir->find(std::string_view(id));
        if (!entry) continue;
        auto it = readings_.find(entry->key);
        if (it == readings_.end()) continue;
        auto& subs = it->second.subscribers;
        subs.erase(std::remove(subs.begin(), subs.end(), s), subs.end());
        if (subs.empty()) {
            readings_.erase(it);
            followed_sensors_.fetch_sub(1);
        }
    }
}

std::vector<std::int32_t> hub::followed_keys() const {
    std::lock_guard lock(mutex_);
    std::vector<std::int32_t> out;
    out.reserve(readings_.size());
    for (const auto& [key, set] : readings_) out.push_back(key);
    return out;
}

std::size_t hub::followed_by(const subscriber* s) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [key, set] : readings_)
        n += static_cast<std::size_t>(std::count(set.subscribers.begin(), set.subscribers.end(), s));
    return n;
}

void hub::publish_readings(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted) {
    std::vector<std::pair<std::shared_ptr<subscriber>, message>> out;
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i < inserted.size() && !inserted[i]) continue;
            auto it = readings_.find(rows[i].sensor_key);
            if (it == readings_.end()) continue;
            auto text = counted_message(
                json{
                    {"type", "reading"},
                    {"sensor", it->second.sensor},
                    {"ts", util::format_rfc3339(rows[i].ts)},
                    {"value", rows[i].value}}
                    .dump(-1, ' ', false, json::error_handler_t::replace),
                live_
            );
            for (const auto* s : it->second.subscribers) {
                auto found = subscribers_.find(s);
                if (found == subscribers_.end()) continue;
                if (auto live = found->second.lock()) out.emplace_back(std::move(live), text);
            }
        }
    }
    for (auto& [s, text] : out) s->deliver_reading(std::move(text));
}

}  // namespace cityguard::feed
