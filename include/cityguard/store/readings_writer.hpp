#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cityguard/rules/reading.hpp"

namespace cityguard::store {

/// The open transaction of one readings batch, handed to the before-commit hook. This is where
/// writes caused by the batch (alarm changes, next issue) join the batch's transaction so that
/// both commit or neither does.
class transaction_scope {
  public:
    virtual ~transaction_scope() = default;
};

/// Writes batches of readings on one dedicated connection. Not thread-safe: owned and called
/// by the ingest committer thread only. Every call blocks on PostgreSQL.
class readings_writer {
  public:
    /// Runs inside the batch transaction after the rows are written and before COMMIT;
    /// `inserted[i]` tells whether rows[i] was new. Throwing aborts the whole batch.
    using before_commit = std::function<
        void(transaction_scope&, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted)>;

    explicit readings_writer(std::string db_url, int statement_timeout_ms = 30'000);
    ~readings_writer();
    readings_writer(const readings_writer&) = delete;
    readings_writer& operator=(const readings_writer&) = delete;

    /// Inserts `rows` (sorted by sensor_key then ts, no two equal) in one transaction and
    /// commits. Rows already stored are left alone and reported as not inserted. Creates any
    /// missing daily partition first. Throws on failure, in which case nothing was committed;
    /// a lost connection is re-opened on the next call.
    void commit(const std::vector<rules::reading>& rows, std::vector<bool>& inserted, const before_commit& hook);

    /// Runs `fn` in a transaction of its own on this connection and commits. For alarm work
    /// that is not caused by readings (operator actions, timers), so that every alarm change
    /// is made by this one thread, in order. Throws on failure (nothing committed).
    void transact(const std::function<void(transaction_scope&)>& fn);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cityguard::store
