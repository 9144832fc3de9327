#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/readings/ingest_service.hpp"
#include "cityguard/readings/modbus_map.hpp"
#include "cityguard/registry/sensor_directory.hpp"

/// Modbus TCP polling (docs/ingest.md): a thread of its own reads each point of the connector
/// file at its sensor's interval with libmodbus (blocking calls, never on an I/O thread) and hands
/// the values to the same ingest and group commit as HTTP. A device that does not answer gives
/// no readings: the sensors' offline rules report it, as for any silent gateway.
namespace cityguard::modbus {

class modbus_poller {
  public:
    modbus_poller(
        boost::asio::io_context& ioc,
        readings::ingest_service& ingest,
        const registry::sensor_directory& directory,
        std::vector<readings::modbus_device> devices,
        const config::modbus_config& cfg
    );
    ~modbus_poller();
    modbus_poller(const modbus_poller&) = delete;
    modbus_poller& operator=(const modbus_poller&) = delete;

    /// Polls while `may_run` says so (the leader's job).
    void start(std::function<bool()> may_run);
    void stop();

    /// For /readyz: {"devices":N,"answering":M,"down":["id",...]}.
    nlohmann::json status() const;
    const metrics::counter& polled() const noexcept { return polled_; }
    const metrics::counter& failed_polls() const noexcept { return failed_; }
    const metrics::counter& dropped() const noexcept { return dropped_; }

  private:
    struct device_state;
    void run();
    void poll_device(device_state& d, std::int64_t now_ms, std::vector<readings::posted_reading>& out);

    boost::asio::io_context& ioc_;
    readings::ingest_service& ingest_;
    const registry::sensor_directory& directory_;
    const config::modbus_config& cfg_;
    std::vector<std::unique_ptr<device_state>> devices_;
    std::function<bool()> may_run_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::atomic<int> pending_batches_{0};
    metrics::counter polled_, failed_, dropped_;
};

/// Reads and checks a connector file. Throws std::runtime_error naming the file and the item.
std::vector<readings::modbus_device> load_modbus_map(const std::string& path);

}  // namespace cityguard::modbus
