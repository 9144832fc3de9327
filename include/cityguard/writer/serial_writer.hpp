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
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/rules/reading.hpp"
#include "cityguard/store/writer_connection.hpp"
#include "cityguard/util/error.hpp"

/// The writer: one thread, one database connection, and every change to readings and alarms
/// made there, in order. Readings batches, the alarm timer and operators' actions all queue
/// here, so no two alarm changes ever race and each commits together with its cause.
namespace cityguard::writer {

/// Sees every readings batch on the writer thread: inside its transaction before COMMIT (rows
/// sorted by sensor then ts, `inserted[i]` false for duplicates), then whether it committed.
/// This is where the rule engine runs, so alarm changes commit with the readings that caused them.
class batch_observer {
  public:
    virtual ~batch_observer() = default;
    virtual void before_commit(
        store::transaction_scope& tx, const std::vector<rules::reading>& rows, const std::vector<bool>& inserted
    ) = 0;
    /// Called before before_commit, while PostgreSQL takes the rows, with no database access: a
    /// judgement made here assumes every row is new and must be redone by before_commit when
    /// `inserted` says otherwise (store::writer_connection::while_copying).
    virtual void while_copying(const std::vector<rules::reading>& /*rows*/) {}
    virtual void after_commit() = 0;
    virtual void after_abort() = 0;
};

/// How one submitted readings job ended.
struct commit_outcome {
    bool committed = false;
    errc error = errc::internal;  ///< when not committed
    std::string message;          ///< when not committed
    std::vector<bool> inserted;   ///< per submitted row, in submission order: new (true) or a duplicate
};

/// Where post() queues a task against the readings waiting for their batch.
///
/// Commit order is the one order that matters: a readings request is answered only after its
/// batch committed, so until then no client can tell whether it is stored. A task that overtakes
/// queued readings is therefore ordered as if it had arrived before them, which each of them
/// allows, and never overtakes a batch that is being written or one that has answered.
enum class task_lane {
    /// After every readings job queued before it (the alarm timer: its offline check sees every
    /// reading that arrived before its tick).
    with_readings,
    /// Before readings still waiting for their batch, after the batch being written: an
    /// operator's action waits for at most one batch, not for the whole readings backlog.
    before_readings,
};

/// Whether post() queued a task.
enum class post_result {
    queued,
    full,         ///< writer.max_queued_tasks tasks are waiting: the caller answers 503
    stopped,      ///< the writer is not running (not yet started, or stopping)
    not_leading,  ///< another instance leads: only the leader writes (docs/scaling.md)
};

/// How the writer becomes the one writer among instances on a database and what it does then
/// (the composition root's). Leadership is store::writer_connection's advisory lock.
struct leadership {
    std::string member_id;  ///< this instance in cluster_members
    int poll_ms = 1000;     ///< a follower asks for the lock, and an idle leader checks its connection, this often
    /// Runs on the writer thread right after the lock was won and before any job: restores
    /// from the database what the leader keeps in memory, as a start does. Throwing gives the
    /// lock back (it is asked for again a poll later).
    std::function<void()> on_lead;
    /// Runs on the writer thread when the lock was lost (the connection broke).
    std::function<void()> on_lose;
    /// How the lock is bid for, held and checked; unset: store::writer_connection's advisory
    /// lock (try_lead, leading, still_leading). Tests of the queue set all three.
    std::function<bool()> bid, holds, check;
};

/// Readings use group commit: concurrent requests' readings are merged into one COPY and one
/// COMMIT. While one batch commits, the next gathers, so batches grow with load and a lone
/// request waits for nobody. Each job completes only after its batch committed. Within a batch,
/// rows are sorted by (sensor, ts) and exact repeats marked duplicates before writing, so the
/// rule engine sees every accepted reading in sensor-time order.
///
/// Both queues are bounded: readings by `ingest.max_pending_rows` rows, tasks (of both lanes
/// together) by `writer.max_queued_tasks`. Tasks of the `with_readings` lane and batches run in
/// the order they were queued; `before_readings` tasks run, in their own order, before the next
/// batch is gathered (task_lane says why that order is sound).
///
/// Thread safety: async_commit() and post() may be called from any thread; completions are
/// posted to the handler's associated executor.
class serial_writer {
  public:
    /// Where each batch's new rows count in the daily statistics: asked once per batch for a
    /// lookup that holds one consistent view of the registry (store::writer_connection::place_of_sensor).
    using sensor_places = std::function<store::writer_connection::place_of_sensor()>;

    serial_writer(
        store::writer_connection& connection,
        sensor_places places,
        const config::ingest_config& ingest,
        const config::writer_config& cfg
    );
    ~serial_writer();
    serial_writer(const serial_writer&) = delete;
    serial_writer& operator=(const serial_writer&) = delete;

    /// Sets the observer of every batch. Call before start().
    void observe(batch_observer* observer) noexcept { observer_ = observer; }

    /// Called on the writer thread after each batch committed, with the batch's rows and which
    /// of them were new (the live readings feed). Must not block. Call before start().
    using committed_sink =
        std::function<void(const std::vector<rules::reading>& rows, const std::vector<bool>& inserted)>;
    void on_committed(committed_sink sink) { committed_sink_ = std::move(sink); }

    /// Sets how to lead. Call before start(). Without it the writer leads as soon as its lock is won.
    void lead_with(leadership how) { leadership_ = std::move(how); }

    /// Starts the writer thread and returns once its first bid for leadership is decided (so a
    /// lone instance serves writes as soon as it listens).
    void start();

    /// This instance holds the writer lock and its state is restored: it takes writes. Any thread.
    bool leading() const noexcept { return leading_.load(); }
    /// A follower bids now rather than at its next poll (a write arrived and no leader answers).
    /// Any thread.
    void bid_soon();

    /// Commits everything queued, then stops the writer thread. Later submissions fail with
    /// `unavailable`. Idempotent; blocks until the thread has exited.
    void stop();

    /// A unit of alarm work, run on the writer thread with its connection.
    using task = std::function<void(store::writer_connection&)>;
    /// Queues `work` to run on the writer thread in `lane`. When the result is not `queued`,
    /// `work` was not run and never will be.
    post_result post(task work, task_lane lane = task_lane::with_readings);

    /// Queues `rows` for the next batch. Completes with an outcome; never blocks. When the
    /// accepted-but-uncommitted rows would exceed `ingest.max_pending_rows`, or would take the
    /// writer longer than `ingest.max_queue_delay_ms` at its recent rate, completes at once
    /// with errc::overloaded so the caller can answer 503 and the gateway retries later.
    template <class Token>
    auto async_commit(std::vector<rules::reading> rows, Token&& token) {
        return async_commit(std::move(rows), {}, std::forward<Token>(token));
    }
    /// The same, with video evidence for some of the rows: written in the same transaction
    /// (before the rules run, so an alarm they raise carries it). Evidence waiting for its
    /// commit is bounded in total by `ingest.max_pending_evidence` (errc::overloaded beyond).
    template <class Token>
    auto async_commit(std::vector<rules::reading> rows, std::vector<rules::reading_evidence> evidence, Token&& token) {
        return boost::asio::async_initiate<Token, void(commit_outcome)>(
            [this](auto handler, std::vector<rules::reading> rows, std::vector<rules::reading_evidence> evidence) {
                // The handler is move-only; std::function needs copies, so it is shared.
                auto ex = boost::asio::any_io_executor(boost::asio::get_associated_executor(handler));
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                enqueue(std::move(rows), std::move(evidence), completion{std::move(ex), [shared](commit_outcome o) {
                                                                             std::move (*shared)(std::move(o));
                                                                         }});
            },
            token,
            std::move(rows),
            std::move(evidence)
        );
    }

    /// Rows accepted and not yet committed.
    std::size_t pending_rows() const noexcept { return pending_rows_.load(); }
    /// Tasks queued and not yet run.
    std::size_t queued_tasks() const noexcept { return queued_tasks_.load(); }
    /// A readings job queued now would be refused (max_pending_rows reached, or the queue holds
    /// max_queue_delay_ms of work): a request can be answered 503 before its body is read.
    bool refusing_readings() const noexcept {
        return pending_rows_.load() >= ingest_.max_pending_rows || too_far_behind(1);
    }

    /// What the writer counts for /metrics (written on the writer thread, read from any).
    struct measurements {
        metrics::histogram batch_rows{metrics::size_buckets()};         ///< rows per group commit
        metrics::histogram commit_seconds{metrics::latency_buckets()};  ///< COPY + rules + COMMIT
        metrics::counter readings_stored;                               ///< new rows committed
        metrics::counter readings_duplicate;  ///< rows already stored, or repeated within a batch
        metrics::counter batches_failed;      ///< batches rolled back (every request got 503)
        metrics::counter tasks_run;           ///< alarm timer steps and operator actions
    };
    const measurements& measured() const noexcept { return measured_; }

  private:
    /// Where and what to call when a job's batch is done.
    struct completion {
        boost::asio::any_io_executor executor;
        std::function<void(commit_outcome)> call;
    };

    /// Either readings (with their completion) or a task.
    struct job {
        std::vector<rules::reading> rows;
        completion done;
        task work;
        std::vector<rules::reading_evidence> evidence{};
    };

    void enqueue(std::vector<rules::reading> rows, std::vector<rules::reading_evidence> evidence, completion done);
    void run();
    void run_task(task& work);
    /// One bid for the lock; on success the on_lead hook, then leading() is true.
    void bid();
    bool holds_lock() const;
    /// The lock is gone: every job queued fails (readings 503; tasks run and find no lock).
    void lose();
    /// One group commit: merges the jobs' rows, writes them with the observer's changes, and
    /// completes every job.
    void commit_batch(std::vector<job>& batch);
    /// The queue would hold more than ingest.max_queue_delay_ms of work with `more` rows added.
    bool too_far_behind(std::size_t more) const noexcept;
    static void finish(completion& done, commit_outcome outcome);

    store::writer_connection& connection_;
    sensor_places places_;
    const config::ingest_config& ingest_;
    const config::writer_config& cfg_;
    batch_observer* observer_ = nullptr;
    committed_sink committed_sink_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> queue_;
    std::deque<task> before_readings_;  ///< task_lane::before_readings, run before queue_
    bool stopping_ = false;
    leadership leadership_;
    std::atomic<bool> leading_{false};
    bool first_bid_done_ = false;     // guarded by mutex_
    bool bid_requested_ = false;      // guarded by mutex_
    bool bid_failed_logged_ = false;  // writer thread only
    std::atomic<std::size_t> pending_rows_{0};
    std::atomic<std::size_t> pending_evidence_{0};
    std::atomic<std::size_t> queued_tasks_{0};
    std::atomic<double> drain_rate_{0};  ///< rows/s, from batches of at least a tenth of max_batch_rows
    measurements measured_;
    std::thread thread_;
};

}  // namespace cityguard::writer
