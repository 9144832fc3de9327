// The writer's task queue: bounded by writer.max_queued_tasks, in order within each lane, and refused when the
// writer is not running. No database: tasks here never touch the connection, which is only
// opened on first use.
#include "cityguard/writer/serial_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace cg = cityguard;

namespace {

// These writers never reach a database: no batch gets as far as the statistics.
cg::store::writer_connection::place_of_sensor no_places() {
    return [](std::int32_t, std::string&, std::string&) { return false; };
}

struct writer_fixture {
    cg::config::ingest_config ingest;
    cg::config::writer_config cfg;
    cg::store::writer_connection connection{"host=invalid.invalid connect_timeout=1"};
    std::unique_ptr<cg::writer::serial_writer> writer;

    explicit writer_fixture(std::size_t max_tasks) {
        cfg.max_queued_tasks = max_tasks;
        writer = std::make_unique<cg::writer::serial_writer>(connection, no_places, ingest, cfg);
        // The queue alone: this writer leads without a database.
        cg::writer::leadership always;
        always.member_id = "test";
        always.bid = always.holds = always.check = [] { return true; };
        writer->lead_with(std::move(always));
    }
};

}  // namespace

TEST(SerialWriter, RefusesTasksWhenNotRunning) {
    writer_fixture f(4);
    EXPECT_EQ(f.writer->post([](cg::store::writer_connection&) {}), cg::writer::post_result::stopped);
    f.writer->start();
    f.writer->stop();
    EXPECT_EQ(f.writer->post([](cg::store::writer_connection&) {}), cg::writer::post_result::stopped);
}

TEST(SerialWriter, BoundsTheTaskQueueAndRunsTasksInOrder) {
    writer_fixture f(2);
    f.writer->start();
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> first_running;
    std::vector<int> order;
    // The first task holds the thread, so the next ones wait in the queue.
    ASSERT_EQ(
        f.writer->post([&, released](cg::store::writer_connection&) {
            first_running.set_value();
            released.wait();
            order.push_back(1);
        }),
        cg::writer::post_result::queued
    );
    first_running.get_future().wait();
    EXPECT_EQ(
        f.writer->post([&](cg::store::writer_connection&) { order.push_back(2); }), cg::writer::post_result::queued
    );
    EXPECT_EQ(
        f.writer->post([&](cg::store::writer_connection&) { order.push_back(3); }), cg::writer::post_result::queued
    );
    EXPECT_EQ(f.writer->queued_tasks(), 2u);
    EXPECT_EQ(
        f.writer->post([&](cg::store::writer_connection&) { order.push_back(4); }), cg::writer::post_result::full
    );
    release.set_value();
    f.writer->stop();  // drains the queue first
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(f.writer->queued_tasks(), 0u);
}

TEST(SerialWriter, ATaskThatThrowsDoesNotStopTheWriter) {
    writer_fixture f(4);
    f.writer->start();
    bool ran = false;
    f.writer->post([](cg::store::writer_connection&) { throw std::runtime_error("boom"); });
    f.writer->post([&](cg::store::writer_connection&) { ran = true; });
    f.writer->stop();
    EXPECT_TRUE(ran);
}

TEST(SerialWriter, AFollowerRefusesWorkAndLosingTheLeadFailsWhatWasQueued) {
    cg::config::ingest_config ingest;
    cg::config::writer_config cfg;
    cg::store::writer_connection connection{"host=invalid.invalid connect_timeout=1"};
    cg::writer::serial_writer writer(connection, no_places, ingest, cfg);
    std::atomic<bool> lock_held{false};
    std::atomic<int> leads{0}, losses{0};
    cg::writer::leadership how;
    how.member_id = "test";
    how.poll_ms = 10;
    how.bid = [&] { return lock_held.load(); };
    how.holds = how.check = [&] { return lock_held.load(); };
    how.on_lead = [&] { ++leads; };
    how.on_lose = [&] { ++losses; };
    writer.lead_with(std::move(how));
    writer.start();
    EXPECT_FALSE(writer.leading());  // another instance holds the lock
    EXPECT_EQ(writer.post([](cg::store::writer_connection&) {}), cg::writer::post_result::not_leading);

    lock_held = true;  // the other instance died: the next bid wins
    for (int i = 0; i < 500 && !writer.leading(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE(writer.leading());
    EXPECT_EQ(leads.load(), 1);  // the state was restored before the first job
    std::promise<void> ran;
    ASSERT_EQ(writer.post([&](cg::store::writer_connection&) { ran.set_value(); }), cg::writer::post_result::queued);
    EXPECT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);

    lock_held = false;  // the connection (and the lock) went: noticed within a poll
    // leading() turns false before on_lose runs on the writer thread: wait for both (a loaded
    // machine showed the gap).
    for (int i = 0; i < 500 && (writer.leading() || losses.load() == 0); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_FALSE(writer.leading());
    EXPECT_EQ(losses.load(), 1);
    writer.stop();
}

namespace {

/// Records on the writer thread when a readings batch ended (here always aborted: no database).
struct batch_recorder final : cg::writer::batch_observer {
    std::vector<int>& order;
    explicit batch_recorder(std::vector<int>& o) : order(o) {}
    void before_commit(cg::store::transaction_scope&, const std::vector<cg::rules::reading>&, const std::vector<bool>&)
        override {}
    void after_commit() override { order.push_back(0); }
    void after_abort() override { order.push_back(0); }
};

}  // namespace

// task_lane::before_readings: an operator's action overtakes readings still waiting for their
// batch, but not the job being run; with_readings tasks keep their place behind the readings.
TEST(SerialWriter, ActionsGoBeforeWaitingReadingsAndTimerStepsAfterThem) {
    writer_fixture f(8);
    std::vector<int> order;  // 0: a readings batch ended
    batch_recorder recorder(order);
    f.writer->observe(&recorder);
    f.writer->start();
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> first_running;
    ASSERT_EQ(
        f.writer->post(
            [&, released](cg::store::writer_connection&) {
                first_running.set_value();
                released.wait();
                order.push_back(1);
            },
            cg::writer::task_lane::before_readings
        ),
        cg::writer::post_result::queued
    );
    first_running.get_future().wait();
    boost::asio::io_context completions;
    std::promise<cg::writer::commit_outcome> outcome;
    f.writer->async_commit(
        std::vector<cg::rules::reading>{{1, 1'000'000, 1.0}},
        boost::asio::bind_executor(completions, [&](cg::writer::commit_outcome o) { outcome.set_value(std::move(o)); })
    );
    EXPECT_EQ(
        f.writer->post(
            [&](cg::store::writer_connection&) { order.push_back(2); }, cg::writer::task_lane::with_readings
        ),
        cg::writer::post_result::queued
    );
    EXPECT_EQ(
        f.writer->post(
            [&](cg::store::writer_connection&) { order.push_back(3); }, cg::writer::task_lane::before_readings
        ),
        cg::writer::post_result::queued
    );
    EXPECT_EQ(f.writer->queued_tasks(), 2u);
    release.set_value();
    f.writer->stop();  // drains both lanes first
    completions.run();
    EXPECT_EQ(order, (std::vector<int>{1, 3, 0, 2}));
    EXPECT_FALSE(outcome.get_future().get().committed);  // no database here: the batch answered 503
    EXPECT_EQ(f.writer->queued_tasks(), 0u);
}
