#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/store/readings_writer.hpp"
#include "cityguard/util/error.hpp"

namespace cityguard::ingest {

/// Sees every batch on the writer thread: inside its transaction before COMMIT (rows sorted by
/// sensor then ts, `inserted[i]` false for duplicates), then whether it committed. This is
/// where the rule engine runs, so alarm changes commit with the readings that caused them.
class batch_observer {
  public:
    virtual ~batch_observer() = default;
    virtual void before_commit(
        store::transaction_scope& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
    ) = 0;
    virtual void after_commit() = 0;
    virtual void after_abort() = 0;
};

/// How one submitted job ended.
struct commit_outcome {
    bool committed = false;
    errc error = errc::internal;  ///< when not committed
    std::string message;          ///< when not committed
    std::vector<bool> inserted;   ///< per submitted row, in submission order: new (true) or a duplicate
};

/// Group commit: concurrent requests' readings are merged into one COPY and one COMMIT on a
/// dedicated writer thread. While one batch commits, the next gathers, so batches grow with
/// load and a lone request waits for nobody. Each job completes only after its batch committed.
///
/// Within a batch, rows are sorted by (sensor, ts) and exact repeats are marked duplicates
/// before writing: this is where, in sensor-time order and before COMMIT, the rule engine
/// will see every accepted reading (see store::readings_writer::before_commit).
///
/// Thread safety: async_commit() may be called from any thread; completions are posted to
/// the handler's associated executor.
class group_committer {
  public:
    group_committer(store::readings_writer& writer, const config::ingest_config& cfg);
    ~group_committer();
    group_committer(const group_committer&) = delete;
    group_committer& operator=(const group_committer&) = delete;

    /// Sets the observer of every batch. Call before start().
    void observe(batch_observer* observer) noexcept { observer_ = observer; }

    /// Called on the writer thread after each batch committed, with the batch's rows and which
    /// of them were new (the live readings feed). Must not block. Call before start().
    using committed_sink =
        std::function<void(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted)>;
    void on_committed(committed_sink sink) { committed_sink_ = std::move(sink); }

    /// Starts the writer thread.
    void start();

    /// Runs `task` on the writer thread, in order with the batches. False (and `task` not run)
    /// when the committer is stopped. Thread-safe.
    bool post_task(std::function<void()> task);

    /// Commits everything queued, then stops the writer thread. Later submissions fail with
    /// `unavailable`. Idempotent; blocks until the thread has exited.
    void stop();

    /// Queues `rows` for the next batch. Completes with an outcome; never blocks. When the
    /// accepted-but-uncommitted rows would exceed `ingest.max_pending_rows`, completes at once
    /// with errc::overloaded so the caller can answer 503 and the gateway retries later.
    template <class Token>
    auto async_commit(std::vector<rules::reading> rows, Token&& token) {
        return boost::asio::async_initiate<Token, void(commit_outcome)>(
            [this](auto handler, std::vector<rules::reading> rows) {
                // The handler is move-only; std::function needs copies, so it is shared.
                auto ex = boost::asio::any_io_executor(boost::asio::get_associated_executor(handler));
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                enqueue(std::move(rows), completion{std::move(ex), [shared](commit_outcome o) {
                                                        std::move (*shared)(std::move(o));
                                                    }});
            },
            token,
            std::move(rows)
        );
    }

    /// Rows accepted and not yet committed.
    std::size_t pending_rows() const noexcept { return pending_rows_.load(); }

  private:
    /// Where and what to call when a job's batch is done.
    struct completion {
        boost::asio::any_io_executor executor;
        std::function<void(commit_outcome)> call;
    };

    struct job {
        std::vector<rules::reading> rows;
        completion done;
        std::function<void()> task;  ///< set for a task instead of rows
    };

    void enqueue(std::vector<rules::reading> rows, completion done);
    void run();
    void process(std::vector<job>& batch);
    static void finish(completion& done, commit_outcome outcome);

    store::readings_writer& writer_;
    const config::ingest_config& cfg_;
    batch_observer* observer_ = nullptr;
    committed_sink committed_sink_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> queue_;
    bool stopping_ = false;
    std::atomic<std::size_t> pending_rows_{0};
    std::thread thread_;
};

}  // namespace cityguard::ingest
