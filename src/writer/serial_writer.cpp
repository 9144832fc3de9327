#include "cityguard/writer/serial_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <utility>

#include "cityguard/store/evidence.hpp"

namespace cityguard::writer {

namespace net = boost::asio;

serial_writer::serial_writer(
    store::writer_connection& connection,
    sensor_places places,
    const config::ingest_config& ingest,
    const config::writer_config& cfg
)
    : connection_(connection), places_(std::move(places)), ingest_(ingest), cfg_(cfg) {}

serial_writer::~serial_writer() { stop(); }

// Waits for the first bid: a lone instance then takes writes from its first request on, and a
// follower knows it follows before it listens.
void serial_writer::start() {
    std::unique_lock lock(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run(); });
    wake_.wait(lock, [this] { return first_bid_done_; });
}

void serial_writer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    // The thread drains the queue before it exits, and nothing is queued while it is not
    // running, so only readings of a writer that never started can be left: fail them rather
    // than leave their requests waiting. (post() refuses tasks then, so none are here.)
    std::deque<job> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(queue_);
    }
    for (auto& j : left) {
        if (j.work) continue;
        pending_rows_ -= j.rows.size();
        pending_evidence_ -= j.evidence.size();
        finish(j.done, {false, errc::unavailable, "server is shutting down", {}});
    }
}

// Refused rather than queued on a follower: a task queued there would wait for a lead that may
// never come, and its caller (an operator) is better answered at once and retried elsewhere.
post_result serial_writer::post(task work, task_lane lane) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || !thread_.joinable()) return post_result::stopped;
        if (!leading_.load()) return post_result::not_leading;
        if (queued_tasks_.load() >= cfg_.max_queued_tasks) return post_result::full;
        ++queued_tasks_;
        if (lane == task_lane::before_readings)
            before_readings_.push_back(std::move(work));
        else
            queue_.push_back({{}, {}, std::move(work)});
    }
    wake_.notify_one();
    return post_result::queued;
}

void serial_writer::finish(completion& done, commit_outcome outcome) {
    // Runs the completion on the waiting request's own executor (its strand), never here.
    net::post(done.executor, [call = std::move(done.call), outcome = std::move(outcome)]() mutable {
        call(std::move(outcome));
    });
}

// Never blocks the caller (an I/O thread): a full queue answers overloaded at once, and the
// gateway retries with the same readings, which the primary key makes safe.
void serial_writer::enqueue(
    std::vector<rules::reading> rows, std::vector<rules::reading_evidence> evidence, completion done
) {
    const std::size_t n = rows.size();
    const std::size_t shown = evidence.size();
    {
        std::unique_lock lock(mutex_);
        if (stopping_ || !thread_.joinable()) {
            lock.unlock();
            finish(done, {false, errc::unavailable, "server is shutting down", {}});
            return;
        }
        if (!leading_.load()) {
            lock.unlock();
            finish(done, {false, errc::unavailable, "this instance does not lead at the moment; retry", {}});
            return;
        }
        if (pending_rows_.load() + n > ingest_.max_pending_rows || too_far_behind(n) ||
            (shown > 0 && pending_evidence_.load() + shown > ingest_.max_pending_evidence)) {
            lock.unlock();
            finish(done, {false, errc::overloaded, "ingest queue is full; retry later", {}});
            return;
        }
        pending_rows_ += n;
        pending_evidence_ += shown;
        queue_.push_back({std::move(rows), std::move(done), {}, std::move(evidence)});
    }
    wake_.notify_one();
}

// Rows are the unit of the writer's work, so the wait of a new reading is the rows ahead of it
// over the recent rate. The bound never goes below one full batch: the rate is learnt from
// full batches, and an empty queue takes anything (within max_pending_rows).
bool serial_writer::too_far_behind(std::size_t more) const noexcept {
    const double rate = drain_rate_.load();
    const std::size_t waiting = pending_rows_.load();
    if (ingest_.max_queue_delay_ms <= 0 || rate <= 0 || waiting == 0) return false;
    const double bound =
        std::max(rate * ingest_.max_queue_delay_ms / 1000.0, static_cast<double>(ingest_.max_batch_rows));
    return static_cast<double>(waiting + more) > bound;
}

void serial_writer::bid_soon() {
    {
        std::lock_guard lock(mutex_);
        bid_requested_ = true;
    }
    wake_.notify_all();
}

// The lock alone does not make a leader: the state a leader keeps in memory must be restored
// first (on_lead). Until then writes are refused, so none is judged by an empty engine.
void serial_writer::bid() {
    bool won = false;
    try {
        won = leadership_.bid ? leadership_.bid() : connection_.try_lead(leadership_.member_id);
        bid_failed_logged_ = false;
    } catch (const std::exception& e) {
        if (!std::exchange(bid_failed_logged_, true))
            spdlog::warn("writer: cannot reach the database to bid for leadership, will retry: {}", e.what());
    }
    if (won) {
        try {
            if (leadership_.on_lead) leadership_.on_lead();
            leading_ = true;
            spdlog::info("writer: this instance leads ({})", leadership_.member_id);
        } catch (const std::exception& e) {
            spdlog::error("writer: won the lock but could not restore state, giving it back: {}", e.what());
            connection_.resign();
        }
    }
    {
        std::lock_guard lock(mutex_);
        first_bid_done_ = true;
    }
    wake_.notify_all();
}

// The connection (and with it the session lock) is gone: another instance may lead already, so
// nothing queued here may be written. Readings are answered 503 (the gateway retries, reaching
// the new leader); tasks run and find no lock, which tells their callers.
void serial_writer::lose() {
    std::deque<job> left;
    std::deque<task> urgent;
    {
        std::lock_guard lock(mutex_);
        leading_ = false;
        left.swap(queue_);
        urgent.swap(before_readings_);
    }
    spdlog::warn("writer: this instance no longer leads (its connection and lock are gone)");
    for (auto& work : urgent) run_task(work);  // each finds no lock and reports it
    for (auto& j : left) {
        if (j.work) {
            run_task(j.work);  // finds no lock and reports it to whoever waits
            continue;
        }
        pending_rows_ -= j.rows.size();
        pending_evidence_ -= j.evidence.size();
        finish(j.done, {false, errc::unavailable, "this instance lost the lead; readings were not stored", {}});
    }
    if (leadership_.on_lose) leadership_.on_lose();
}

// The writer thread: bid until leading, then run the tasks that go before readings, then take
// the queue in order, a task alone or every readings job up to the next task as one batch. An idle leader checks its
// connection each poll, so a lead lost while idle is noticed before the next write, not at it.
void serial_writer::run() {
    const auto poll = std::chrono::milliseconds(std::max(10, leadership_.poll_ms));
    for (;;) {
        if (!leading_.load()) {
            bid();
            if (!leading_.load()) {
                std::unique_lock lock(mutex_);
                wake_.wait_for(lock, poll, [&] { return stopping_ || bid_requested_; });
                if (stopping_) return;
                bid_requested_ = false;
                continue;
            }
        }
        std::vector<job> batch;
        std::size_t rows = 0;
        std::size_t shown = 0;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, poll, [&] { return stopping_ || !queue_.empty() || !before_readings_.empty(); });
            if (queue_.empty() && before_readings_.empty() && stopping_) return;  // everything queued was written
            if (queue_.empty() && before_readings_.empty()) {
                lock.unlock();
                if (!(leadership_.check ? leadership_.check() : connection_.still_leading())) lose();
                continue;
            }
            task work;
            if (!before_readings_.empty()) {
                work = std::move(before_readings_.front());
                before_readings_.pop_front();
            } else if (queue_.front().work) {
                work = std::move(queue_.front().work);
                queue_.pop_front();
            }
            if (work) {
                lock.unlock();
                run_task(work);
                if (!holds_lock()) lose();
                continue;
            }
            // Every readings job queued up to the next task (or the batch limit) shares one
            // transaction: a task queued after readings must see them committed first.
            while (!queue_.empty() && !queue_.front().work &&
                   (batch.empty() || rows + queue_.front().rows.size() <= ingest_.max_batch_rows)) {
                rows += queue_.front().rows.size();
                shown += queue_.front().evidence.size();
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        commit_batch(batch);
        pending_rows_ -= rows;
        pending_evidence_ -= shown;
        if (!holds_lock()) lose();
    }
}

bool serial_writer::holds_lock() const { return leadership_.holds ? leadership_.holds() : connection_.leading(); }

void serial_writer::run_task(task& work) {
    --queued_tasks_;
    measured_.tasks_run.add();
    try {
        work(connection_);
    } catch (const std::exception& e) {
        // Tasks report their own failures to whoever waits for them; one that lets an
        // exception escape must not take the writer thread (and all ingest) with it.
        spdlog::error("writer task failed: {}", e.what());
    }
}

void serial_writer::commit_batch(std::vector<job>& batch) {
    // Every row of the batch, by reference to its job, sorted into (sensor, ts) order; ties keep
    // submission order so the first submitter of a repeated reading is the one that stores it.
    struct ref {
        std::uint32_t job, row;
    };
    std::vector<ref> refs;
    for (std::uint32_t j = 0; j < batch.size(); ++j)
        for (std::uint32_t r = 0; r < batch[j].rows.size(); ++r) refs.push_back({j, r});
    auto row_of = [&](const ref& x) -> const rules::reading& { return batch[x.job].rows[x.row]; };
    std::stable_sort(refs.begin(), refs.end(), [&](const ref& a, const ref& b) {
        const auto &ra = row_of(a), &rb = row_of(b);
        return ra.sensor_key != rb.sensor_key ? ra.sensor_key < rb.sensor_key : ra.ts < rb.ts;
    });

    std::vector<rules::reading> unique;
    std::vector<std::int64_t> slot(refs.size(), -1);  // index into `unique`, or -1 for an in-batch repeat
    unique.reserve(refs.size());
    for (std::size_t i = 0; i < refs.size(); ++i) {
        const auto& r = row_of(refs[i]);
        if (!unique.empty() && unique.back().sensor_key == r.sensor_key && unique.back().ts == r.ts) continue;
        slot[i] = static_cast<std::int64_t>(unique.size());
        unique.push_back(r);
    }

    std::vector<bool> inserted;
    commit_outcome failure;
    const auto started = std::chrono::steady_clock::now();
    try {
        // Evidence goes in first, so that the alarms the rules raise from these rows find it.
        std::vector<rules::reading_evidence> evidence;
        for (auto& j : batch)
            evidence.insert(
                evidence.end(), std::make_move_iterator(j.evidence.begin()), std::make_move_iterator(j.evidence.end())
            );
        store::writer_connection::before_commit hook;
        if (observer_ || !evidence.empty())
            hook = [this, &evidence](store::transaction_scope& tx, const auto& rows, const auto& fresh) {
                if (!evidence.empty()) store::write_evidence(tx, evidence);
                if (observer_) observer_->before_commit(tx, rows, fresh);
            };
        store::writer_connection::while_copying overlap;
        if (observer_) overlap = [this](const auto& rows) { observer_->while_copying(rows); };
        connection_.commit_readings(unique, inserted, hook, places_(), overlap);
        if (observer_) observer_->after_commit();
    } catch (const std::exception& e) {
        if (observer_) observer_->after_abort();
        // Nothing of the batch was stored (or, after a lost COMMIT, the retry will find it as
        // duplicates): every request gets 503 and may safely send the same readings again.
        spdlog::error("readings batch of {} rows not committed: {}", unique.size(), e.what());
        failure = {false, errc::unavailable, "database unavailable; readings were not stored", {}};
    }

    if (!failure.message.empty()) {
        measured_.batches_failed.add();
        for (auto& j : batch) finish(j.done, failure);
        return;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    measured_.commit_seconds.observe(seconds);
    // Small batches say more about the fixed cost of a commit than about the rate the writer can
    // reach, so only batches of a tenth of the limit or more teach it.
    if (refs.size() * 10 >= ingest_.max_batch_rows && seconds > 0) {
        const double rate = static_cast<double>(refs.size()) / seconds, before = drain_rate_.load();
        drain_rate_.store(before == 0 ? rate : 0.8 * before + 0.2 * rate);
    }
    measured_.batch_rows.observe(static_cast<double>(refs.size()));
    const auto stored = static_cast<std::size_t>(std::count(inserted.begin(), inserted.end(), true));
    measured_.readings_stored.add(stored);
    measured_.readings_duplicate.add(refs.size() - stored);
    if (committed_sink_) committed_sink_(unique, inserted);
    std::vector<commit_outcome> outcomes(batch.size());
    for (std::size_t j = 0; j < batch.size(); ++j) {
        outcomes[j].committed = true;
        outcomes[j].inserted.assign(batch[j].rows.size(), false);
    }
    for (std::size_t i = 0; i < refs.size(); ++i)
        if (slot[i] >= 0 && inserted[static_cast<std::size_t>(slot[i])])
            outcomes[refs[i].job].inserted[refs[i].row] = true;
    for (std::size_t j = 0; j < batch.size(); ++j) finish(batch[j].done, std::move(outcomes[j]));
}

}  // namespace cityguard::writer
