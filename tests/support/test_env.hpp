#pragma once
// Shared test support: a scratch database per test on the suite's throwaway cluster, an
// in-process server on an ephemeral port, and a small synchronous HTTP client.

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cityguard/app/app.hpp"
#include "cityguard/config/config.hpp"

namespace cityguard::test {

/// The cluster's base connection string, from CITYGUARD_TEST_DSN or the file named by
/// CITYGUARD_TEST_DSN_FILE (written by the CTest fixture, tests/pg_cluster.sh). Empty if neither.
std::string cluster_dsn();

/// A database created for one test and dropped afterwards.
class scratch_database {
  public:
    scratch_database();
    ~scratch_database();
    const std::string& url() const noexcept { return url_; }
    /// Runs one SQL statement and returns the first column of the first row as text ("" if none).
    std::string query_value(const std::string& sql) const;
    void exec(const std::string& sql) const;
    /// A database outage, run from another database of the cluster: every connection to this
    /// one is terminated and, with `refuse_new`, new ones are refused until allow_connections().
    void cut_connections(bool refuse_new) const;
    void allow_connections() const;

  private:
    std::string name_;
    std::string url_;
};

struct http_result {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    nlohmann::json json() const;
};

/// One keep-alive HTTP/1.1 connection to 127.0.0.1:port (reconnects when the server closed it).
class http_client {
  public:
    /// `cityguard`: the peer is a CityGuard server, whose answers are held to docs/openapi.json
    /// (logged for the contract check); false for the other programs tests talk to.
    explicit http_client(std::uint16_t port, bool cityguard = true);
    ~http_client();
    http_result request(
        const std::string& method,
        const std::string& target,
        const std::string& body = "",
        const std::map<std::string, std::string>& headers = {}
    );
    /// The same with "Authorization: Bearer key" and, if there is a body, JSON content type.
    http_result call(
        const std::string& method, const std::string& target, const std::string& key, const std::string& body = ""
    );

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

inline constexpr const char* kAdminKey = "test-admin-key-0123456789";

/// The body of POST /api/v1/readings with one reading (ts in microseconds).
std::string one_reading(const std::string& sensor, std::int64_t ts, double value = 1);

/// Test configuration: scratch database, port 0, a known admin key, no config file.
config::config test_config(const std::string& db_url);

/// A server started in-process against a scratch database.
class test_server {
  public:
    explicit test_server(std::optional<config::config> cfg = std::nullopt);
    ~test_server();
    std::uint16_t port() const { return app_->port(); }
    const scratch_database& db() const { return db_; }
    config::config& cfg() { return cfg_; }
    http_client client() const { return http_client(port()); }
    /// Stops gracefully and starts again on the same database (new port).
    void restart();
    void stop();
    /// Creates a key with the given role through the API and returns it.
    std::string make_key(const std::string& name, const std::string& role);
    /// Registers one site and the given sensors (kind gas_lel).
    void register_sensors(const std::string& site, const std::vector<std::string>& sensors);

  private:
    scratch_database db_;
    config::config cfg_;
    std::unique_ptr<app::app> app_;
};

/// Skips the current test when no cluster is configured (never the case under ctest).
#define CITYGUARD_REQUIRE_DB()                                                    \
    do {                                                                          \
        if (::cityguard::test::cluster_dsn().empty())                             \
            GTEST_SKIP() << "no PostgreSQL cluster: run through ctest (fixture)"; \
    } while (0)

}  // namespace cityguard::test
