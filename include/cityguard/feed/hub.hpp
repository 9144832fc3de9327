#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/rules/reading.hpp"
#include "cityguard/store/event_log.hpp"

/// The live feed's fan-out: alarm events, read back from the event log in seq order, and
/// committed readings go to every connected dashboard that asked for them. Each message is
/// serialised once and shared by every connection that sends it.
namespace cityguard::feed {

using message = std::shared_ptr<const std::string>;

/// One alarm event, ready to send, with what subscription filters look at.
struct event {
    std::int64_t seq = 0;
    int level = 4, peak_level = 4;
    std::string domain, site;
    message text;  ///< {"type":"alarm_event",...}
};
using event_batch = std::shared_ptr<const std::vector<event>>;

/// What one subscription asks for; an empty list means "any".
struct filter {
    std::vector<int> levels;  ///< 1 red .. 4 blue
    std::vector<std::string> domains, sites;

    /// An alarm matches on its current level or its peak level, so a subscriber to red alarms
    /// also sees the later changes (de-escalation, clearing, closing) of an alarm that was red.
    bool matches(int level, int peak_level, const std::string& domain, const std::string& site) const;
    bool matches(const alarm_model::alarm& a) const {
        return matches(static_cast<int>(a.lvl), static_cast<int>(a.peak), a.domain, a.site);
    }
};

/// Bytes of the messages built once for many connections (events, followed readings) that are
/// still alive: each counted once however many connections hold it, and given back by its last
/// holder. Part of feed.max_output_bytes_total.
using shared_bytes = std::shared_ptr<std::atomic<std::size_t>>;
/// `text` as a message whose bytes `live` counts while it lives.
message counted_message(std::string text, const shared_bytes& live);

/// The feed message for one logged event: {"type":"alarm_event","seq":..,"event":"raised",...,"alarm":{..}}.
event make_event(const store::logged_event& e, const shared_bytes& live);
/// {"type":"snapshot","seq":S,"alarms":[..]} (with "reset":true when a resume was refused).
std::string snapshot_message(std::int64_t seq, const std::vector<alarm_model::alarm>& alarms, bool reset);
/// {"type":"error","code":..,"message":..}
std::string error_message(std::string_view code, std::string_view text);

/// A connection as the hub sees it. Called from the publishing thread: must not block.
class subscriber {
  public:
    virtual ~subscriber() = default;
    virtual void deliver(event_batch batch) = 0;
    virtual void deliver_reading(message reading) = 0;
};

/// Thread safety: every member may be called from any thread.
class hub {
  public:
    explicit hub(const registry::sensor_directory& directory) : directory_(directory) {}

    void add(const std::shared_ptr<subscriber>& s);
    /// Also drops its readings subscriptions.
    void remove(const subscriber* s);

    /// From the event follower: builds each message once and hands the batch to everyone.
    void publish(std::vector<store::logged_event> events);
    /// The bytes of the events and readings it built that some connection still holds.
    const shared_bytes& live_bytes() const noexcept { return live_; }
    /// The newest seq published.
    std::int64_t position() const noexcept { return position_.load(); }

    /// Live readings of these sensors for `s`. Unknown sensors are returned and not followed.
    std::vector<std::string> follow_readings(const subscriber* s, const std::vector<std::string>& sensors);
    void unfollow_readings(const subscriber* s, const std::vector<std::string>& sensors);
    std::size_t followed_by(const subscriber* s) const;
    /// The keys of every sensor someone follows.
    std::vector<std::int32_t> followed_keys() const;
    /// Cheap check for the ingest hot path: does anyone follow any sensor?
    bool wants_readings() const noexcept { return followed_sensors_.load(std::memory_order_relaxed) > 0; }
    /// From the writer thread after a batch committed: readings that were new (not duplicates);
    /// `inserted` empty: all of them (a follower's relay).
    void publish_readings(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted);

  private:
    struct follower_set {
        std::string sensor;
        std::vector<const subscriber*> subscribers;
    };

    const registry::sensor_directory& directory_;
    mutable std::mutex mutex_;
    std::unordered_map<const subscriber*, std::weak_ptr<subscriber>> subscribers_;
    std::unordered_map<std::int32_t, follower_set> readings_;  // sensor key -> who follows it
    std::atomic<std::size_t> followed_sensors_{0};
    std::atomic<std::int64_t> position_{0};
    shared_bytes live_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace cityguard::feed
