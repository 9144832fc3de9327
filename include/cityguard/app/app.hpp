#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/config/config.hpp"

namespace cityguard::app {

/// The composition root: owns every component and wires them together, in one place.
/// Lifecycle: start() → (serve) → stop(). Used by main() and, in-process, by the tests.
///
/// Thread safety: start()/stop()/wait() from one controlling thread; request_stop() from any.
class app {
  public:
    explicit app(config::config cfg);
    ~app();
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    /// Applies migrations, creates partitions, makes sure an admin key exists, loads the
    /// registry file if configured, starts the I/O threads and the ingest writer, and listens.
    /// Throws on any failure (the caller reports it and exits non-zero).
    void start();

    /// The listening port (after start()).
    std::uint16_t port() const;

    /// The admin key if start() generated it (first start without CITYGUARD_ADMIN_KEY).
    const std::optional<std::string>& generated_admin_key() const noexcept { return generated_admin_key_; }

    /// Blocks until SIGINT/SIGTERM or request_stop(), then stops gracefully.
    void wait_for_signal();

    /// Asks wait_for_signal() to return. Thread-safe, async-signal-unsafe.
    void request_stop();

    /// Graceful stop: stop accepting, let in-flight requests finish (bounded by
    /// http.shutdown_timeout_ms), commit every accepted reading, join all threads. Idempotent.
    void stop();

  private:
    struct parts;
    config::config cfg_;
    std::unique_ptr<parts> parts_;
    std::vector<std::thread> threads_;
    std::optional<std::string> generated_admin_key_;
    std::mutex mutex_;
    std::condition_variable stop_requested_;
    bool stop_flag_ = false;
    bool stopped_ = false;
};

}  // namespace cityguard::app
