#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/alarm_model/alarm.hpp"
#include "cityguard/store/database.hpp"

namespace cityguard::store {

/// One alarm event as the live feed sends it: the event, and the alarm right after it.
struct logged_event {
    alarm_model::event event;
    alarm_model::alarm alarm;
};

/// Where a subscriber without a resume position starts: the newest seq and every alarm not
/// closed at that seq, read from one consistent snapshot.
struct feed_snapshot {
    std::int64_t seq = 0;
    std::vector<alarm_model::alarm> alarms;
};

/// Reads of the alarm event log for feed subscribers. Async through the pool.
class event_log {
  public:
    explicit event_log(database& db) : db_(db) {}

    boost::asio::awaitable<feed_snapshot> snapshot();
    struct replay_result {
        std::int64_t newest = 0;  ///< the newest seq in the log when the events were read
        std::vector<logged_event> events;
    };
    /// Events with seq > `seq`, oldest first, at most `limit`.
    boost::asio::awaitable<replay_result> replay(std::int64_t seq, std::size_t limit);

  private:
    database& db_;
};

/// Follows the event log on a thread and connection of its own: wakes on the NOTIFY that
/// every writing transaction sends at commit (and polls as a safety net), reads the new rows by
/// seq and hands them, in seq order, to the sink. Events written by this process and by any
/// other process on the same database take this same path, so every process sees one order.
/// A lost connection is reopened and reading resumes after the last seq handed over: nothing
/// is skipped and nothing repeated.
class event_follower {
  public:
    using sink = std::function<void(std::vector<logged_event>)>;

    event_follower(std::string url, int statement_timeout_ms, int poll_ms, std::size_t batch_limit, sink to);
    ~event_follower();
    event_follower(const event_follower&) = delete;
    event_follower& operator=(const event_follower&) = delete;

    /// Also listens for registry, key and rule-pack changes (sql/0016_cluster.sql): `what` is the
    /// NOTIFY payload ("registry", "keys", "rules"), or "reconnected" after the connection was
    /// reopened (changes may have been missed: reload everything). Called on the follower's
    /// thread; must not block. Call before start().
    void on_change(std::function<void(const std::string& what)> to) { change_sink_ = std::move(to); }

    /// Reads the newest seq (blocking; throws if the database is unreachable) and starts the
    /// thread. Events after that seq are handed to the sink.
    void start();
    /// Joins the thread. Idempotent.
    void stop();
    /// The last seq handed to the sink.
    std::int64_t position() const noexcept { return position_.load(); }

  private:
    void run();

    std::string url_;
    int statement_timeout_ms_;
    int poll_ms_;
    std::size_t batch_limit_;
    sink sink_;
    std::function<void(const std::string&)> change_sink_;
    std::atomic<std::int64_t> position_{0};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace cityguard::store
