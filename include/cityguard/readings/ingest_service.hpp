#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>
#include <vector>

#include "cityguard/config/config.hpp"
#include "cityguard/metrics/metrics.hpp"
#include "cityguard/readings/reading_parser.hpp"
#include "cityguard/registry/sensor_directory.hpp"
#include "cityguard/writer/serial_writer.hpp"

namespace cityguard::readings {

struct ingest_result {
    std::size_t accepted = 0;    ///< newly stored
    std::size_t duplicates = 0;  ///< already stored (same sensor and ts), stored nothing
    std::vector<rejected_reading> rejected;
};

/// POST /api/v1/readings behind HTTP: parse, check each reading against the sensor directory
/// and the time window, then wait for the group commit. Returns only after the accepted
/// readings are committed. Request-level failures are thrown as api_error.
///
/// Thread safety: ingest() may run concurrently on any number of threads.
class ingest_service {
  public:
    ingest_service(
        const registry::sensor_directory& directory,
        writer::serial_writer& writer,
        const config::ingest_config& cfg,
        std::size_t json_max_depth
    )
        : directory_(directory), writer_(writer), cfg_(cfg), json_max_depth_(json_max_depth) {}

    /// The body's readings, checked one by one (no I/O: may run on any thread). Throws api_error
    /// for a body that is not a readings document.
    parsed_readings parse(std::string_view body) const;
    /// A video-analysis platform's callback (POST /api/v1/events): each event a reading with its evidence.
    parsed_readings parse_events(std::string_view body) const;
    /// Checks parsed readings against the directory and waits for their group commit.
    /// `may_send`, when set, says whether the caller may send readings for a sensor (its key's
    /// scope and binding); a reading it refuses is rejected alone, code "forbidden".
    boost::asio::awaitable<ingest_result> ingest(
        parsed_readings parsed, std::function<bool(const registry::sensor_entry&)> may_send = {}
    );

    /// The writer would refuse readings now: a request is answered 503 from its header alone,
    /// so an overloaded server does not spend its CPU parsing bodies it must refuse. Any thread.
    bool refusing() const noexcept { return writer_.refusing_readings(); }
    /// Counts a request answered 503 that way.
    void count_refused_unread() noexcept { refused_unread_.add(); }
    const metrics::counter& refused_unread() const noexcept { return refused_unread_; }

    /// Readings refused one by one, by code (unknown_sensor, bad_value, ...).
    const metrics::labeled_counter& rejected() const noexcept { return rejected_; }
    /// Readings of requests answered 503 because the writer could not take or commit them.
    const metrics::counter& refused() const noexcept { return refused_; }

  private:
    void count_rejected(const std::vector<rejected_reading>& rejected);

    metrics::labeled_counter rejected_;
    metrics::counter refused_;
    metrics::counter refused_unread_;
    const registry::sensor_directory& directory_;
    writer::serial_writer& writer_;
    const config::ingest_config& cfg_;
    std::size_t json_max_depth_;
};

}  // namespace cityguard::readings
