#pragma once
// A small WebSocket client for the feed tests: a background thread reads every message into a
// queue, so a test can wait for the next one with a bound and never hangs.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace cityguard::test {

class ws_client {
  public:
    /// Connects to ws://127.0.0.1:port/api/v1/feed, with "Authorization: Bearer key" unless
    /// `key` is empty. With `reading` false nothing is read until start_reading() (a client
    /// that stalls; its receive buffer is then kept small).
    /// Throws if the upgrade is refused.
    ws_client(
        std::uint16_t port,
        const std::string& key,
        bool reading = true,
        const std::map<std::string, std::string>& headers = {}
    );
    ~ws_client();

    /// Starts reading (for a client made with `reading` false).
    void start_reading();
    void send(const nlohmann::json& message);
    void send_text(const std::string& text);
    /// The next message, or nullopt when none came within `wait` (or the connection closed).
    std::optional<nlohmann::json> next(std::chrono::milliseconds wait = std::chrono::seconds(10));
    /// The next message of this type, skipping others; nullopt on timeout or close.
    std::optional<nlohmann::json> next_of(
        const std::string& type, std::chrono::milliseconds wait = std::chrono::seconds(10)
    );
    /// Waits for the connection to end; the close code the server sent, 0 if it closed without
    /// one, -1 if still open after `wait`.
    int wait_closed(std::chrono::milliseconds wait = std::chrono::seconds(10));

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cityguard::test
