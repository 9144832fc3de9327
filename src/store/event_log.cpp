#include "cityguard/store/event_log.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "alarm_rows.hpp"
#include "pool.hpp"
#include "queries/alarms.hpp"

namespace cityguard::store {

namespace {

constexpr const char* kChannel = "cityguard_events";
constexpr const char* kChangesChannel = "cityguard_changes";

// The rows, not the notification's payload, are what the feed sends: a payload could be lost or
// coalesced, the table cannot, and seq order is commit order (the event-order lock).
std::vector<logged_event> read_after(pqxx::connection& c, std::int64_t seq, std::size_t limit) {
    pqxx::read_transaction tx(c);
    std::vector<logged_event> out;
    const auto rows = tx.exec_prepared(queries::events_after.name, seq, static_cast<long long>(limit));
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back({event_from(r, alarm_column_count), alarm_from(r)});
    }
    return out;
}

std::int64_t newest_seq(pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return tx.exec_prepared1(queries::max_event_seq.name)[0].as<std::int64_t>();
}

/// Only records that something arrived; the rows themselves are read by seq.
class wake_flag final : public pqxx::notification_receiver {
  public:
    wake_flag(pqxx::connection_base& c, bool& flag) : pqxx::notification_receiver(c, kChannel), flag_(flag) {}
    void operator()(const std::string&, int) override { flag_ = true; }

  private:
    bool& flag_;
};

/// Hands each change notification's payload on.
class change_receiver final : public pqxx::notification_receiver {
  public:
    change_receiver(pqxx::connection_base& c, const std::function<void(const std::string&)>& to)
        : pqxx::notification_receiver(c, kChangesChannel), to_(to) {}
    void operator()(const std::string& payload, int) override { to_(payload); }

  private:
    const std::function<void(const std::string&)>& to_;
};

}  // namespace

// One REPEATABLE READ transaction: the seq and the open alarms are of the same instant, so a
// subscriber that applies live events after that seq misses none and repeats none.
net::awaitable<feed_snapshot> event_log::snapshot() {
    return pool_of(db_).run([](pqxx::connection& c) {
        // One snapshot for both reads: the alarms are exactly those as of `seq`.
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
        feed_snapshot s;
        s.seq = tx.exec_prepared1(queries::max_event_seq.name)[0].as<std::int64_t>();
        s.alarms = map_rows(tx, queries::not_closed_alarms.name, alarm_from);
        tx.commit();
        return s;
    });
}

net::awaitable<event_log::replay_result> event_log::replay(std::int64_t seq, std::size_t limit) {
    return pool_of(db_).run([seq, limit](pqxx::connection& c) {
        replay_result r;
        r.newest = newest_seq(c);  // read first: every event up to it is then in the rows below
        r.events = read_after(c, seq, limit);
        return r;
    });
}

event_follower::event_follower(std::string url, int statement_timeout_ms, int poll_ms, std::size_t batch_limit, sink to)
    : url_(std::move(url)),
      statement_timeout_ms_(statement_timeout_ms),
      poll_ms_(poll_ms),
      batch_limit_(batch_limit),
      sink_(std::move(to)) {}

event_follower::~event_follower() { stop(); }

// Starts at the newest seq: what was committed before start is in the snapshot a subscriber
// loads, so the follower hands on only what comes after.
void event_follower::start() {
    auto conn = open_connection(url_, statement_timeout_ms_);
    position_ = newest_seq(*conn);
    thread_ = std::thread([this] { run(); });
}

void event_follower::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

void event_follower::run() {
    using clock = std::chrono::steady_clock;
    // Short waits keep stop() prompt; the table is read on a notification or every poll_ms.
    constexpr long kWaitUs = 100'000;
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<wake_flag> receiver;
    std::unique_ptr<change_receiver> changes;
    bool connected_before = false;
    bool notified = true;
    auto next_poll = clock::now();
    while (!stopping_) {
        try {
            if (!conn) {
                conn = open_connection(url_, statement_timeout_ms_);
                receiver = std::make_unique<wake_flag>(*conn, notified);
                if (change_sink_) {
                    changes = std::make_unique<change_receiver>(*conn, change_sink_);
                    // Changes made while we were away were not heard.
                    if (std::exchange(connected_before, true)) change_sink_("reconnected");
                }
                notified = true;  // whatever was committed while we were away
            }
            if (notified || clock::now() >= next_poll) {
                notified = false;
                next_poll = clock::now() + std::chrono::milliseconds(poll_ms_);
                for (;;) {
                    auto batch = read_after(*conn, position_.load(), batch_limit_);
                    if (batch.empty()) break;
                    const bool full = batch.size() == batch_limit_;
                    position_ = batch.back().event.seq;
                    sink_(std::move(batch));
                    if (!full) break;
                }
            }
            conn->await_notification(0, kWaitUs);
        } catch (const std::exception& e) {
            spdlog::warn("alarm event follower: {}; reconnecting", e.what());
            changes.reset();
            receiver.reset();
            conn.reset();
            for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    changes.reset();
    receiver.reset();
}

}  // namespace cityguard::store
