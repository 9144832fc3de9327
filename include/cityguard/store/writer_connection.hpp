#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cityguard/rules/reading.hpp"

namespace cityguard::store {

/// An open transaction of the writer connection, handed to the code that adds its writes to it
/// (alarm changes join the readings batch that caused them), so that both commit or neither does.
class transaction_scope {
  public:
    virtual ~transaction_scope() = default;
};

/// The writer thread's own connection: readings batches (COPY) with the alarm changes they
/// cause in the same transaction, and alarm changes of their own (timers, operator actions).
/// Not thread-safe: used by writer::serial_writer's thread only. Every call blocks on PostgreSQL.
class writer_connection {
  public:
    /// Runs inside the batch transaction after the rows are written and before COMMIT;
    /// `inserted[i]` tells whether rows[i] was new. Throwing aborts the whole batch.
    using before_commit = std::function<
        void(transaction_scope&, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted)>;
    /// Runs while PostgreSQL works through the batch's plain COPY, before its outcome is known:
    /// work that needs no database (the rule engine judging the rows as all new) overlaps the
    /// server's largest wait. When the plain COPY is refused (some rows existed), before_commit
    /// then gets the real `inserted`, and whatever this prepared must be judged again.
    using while_copying = std::function<void(const std::vector<rules::reading>& rows)>;
    /// Names the domain and district whose daily reading count (reading_counts_daily) a sensor's
    /// new rows add to. False: the sensor is no longer known, and its rows count nowhere, as
    /// when the statistics were joined to the registry in SQL.
    using place_of_sensor = std::function<bool(std::int32_t sensor_key, std::string& domain, std::string& district)>;

    explicit writer_connection(std::string db_url, int statement_timeout_ms = 30'000);
    ~writer_connection();
    writer_connection(const writer_connection&) = delete;
    writer_connection& operator=(const writer_connection&) = delete;

    /// Inserts `rows` (sorted by sensor_key then ts, no two equal) in one transaction and
    /// commits, while this connection leads (else store::error unavailable). Rows already stored are left alone and
    /// reported as not inserted. Creates any missing daily partition first. Throws on failure, in which case nothing
    /// was committed; a lost connection is re-opened on the next call.
    /// `place_of` says where the new rows count in the statistics: the counts go in as one row
    /// per (hour, domain, district), so that counting needs no join of every sensor in PostgreSQL.
    void commit_readings(
        const std::vector<rules::reading>& rows,
        std::vector<bool>& inserted,
        const before_commit& hook,
        const place_of_sensor& place_of,
        const while_copying& overlap = {}
    );

    /// Leadership (docs/scaling.md): the session-level advisory lock that makes this connection's
    /// instance the one writer among all instances on the database. PostgreSQL releases it with
    /// the session, so a dead leader, or one that lost its connection, leads no more, and its
    /// writes cannot commit: they ran on that session. Opens the connection if needed and asks
    /// for the lock once; on success records `member_id` as leader (cluster_members). True when
    /// this connection holds the lock. Throws when the database cannot be reached.
    bool try_lead(const std::string& member_id);
    /// Holds the lock on an open connection (no round trip).
    bool leading() const noexcept;
    /// Asks the database whether the connection still answers; a lost one is dropped (and the
    /// lock with it). For an idle leader, so that a dead connection is noticed within a poll.
    bool still_leading();
    /// Closes the connection, which gives the lock up.
    void resign();

    /// Runs `fn` in a transaction of its own on this connection and commits. For alarm work
    /// that is not caused by readings (operator actions, timers), so that every alarm change
    /// is made by this one thread, in order. Throws on failure (nothing committed).
    void transact(const std::function<void(transaction_scope&)>& fn);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cityguard::store
