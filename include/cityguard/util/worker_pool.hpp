#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <string>
#include <type_traits>

#include "cityguard/util/error.hpp"

namespace cityguard::util {

/// A few threads for CPU-heavy work that must not stall the I/O threads (parsing a large body),
/// with a bounded queue: past `max_queued` waiting tasks, run() throws api_error(overloaded).
///
/// Thread safety: run() from any thread.
class worker_pool {
  public:
    worker_pool(
        std::size_t threads,
        std::size_t max_queued,
        std::string busy_message = "too many large bodies are being parsed; retry later"
    )
        : threads_(threads), max_queued_(max_queued), busy_message_(std::move(busy_message)) {}
    ~worker_pool() { threads_.join(); }

    /// Runs f() on a pool thread; the awaiting coroutine resumes on its own executor with the
    /// result or f's exception.
    // Not a coroutine on purpose (docs/architecture.md, coroutine rule 3).
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F&>> run(F f) {
        using result_t = std::invoke_result_t<F&>;
        if (queued_.fetch_add(1) >= max_queued_) {
            queued_.fetch_sub(1);
            throw api_error(errc::overloaded, busy_message_);
        }
        auto task = [this, f = std::move(f)]() mutable -> boost::asio::awaitable<result_t> {
            struct dequeue {
                std::atomic<std::size_t>& n;
                ~dequeue() { n.fetch_sub(1); }
            } guard{queued_};
            result_t r = f();
            co_return r;
        };
        return boost::asio::co_spawn(threads_.get_executor(), std::move(task), boost::asio::use_awaitable);
    }

    /// Tasks accepted and not finished (running included), and the bound.
    std::size_t queued() const noexcept { return queued_.load(); }
    std::size_t max_queued() const noexcept { return max_queued_; }

  private:
    boost::asio::thread_pool threads_;
    std::size_t max_queued_;
    std::string busy_message_;
    std::atomic<std::size_t> queued_{0};
};

}  // namespace cityguard::util
