#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

/// The typed configuration tree. Defaults live here; config/cityguard.json, the environment and
/// command-line flags override them in that order. Built once in main and passed by const&.
namespace cityguard::config {

struct http_config {
    std::size_t body_limit = 8 * 1024 * 1024;  ///< bytes; larger bodies get 413
    std::size_t header_limit = 16 * 1024;      ///< bytes of request line + headers
    int read_timeout_ms = 30'000;              ///< to receive one whole request
    int idle_timeout_ms = 60'000;              ///< keep-alive connection with no request
    int shutdown_timeout_ms = 10'000;          ///< graceful drain bound on SIGINT/SIGTERM
    std::size_t max_connections = 10'000;      ///< further connections are closed at accept
};

struct db_config {
    std::string url;                ///< libpq connection string or URI
    int pool_size = 4;              ///< connections (and threads) for queries and registry writes
    std::size_t max_queued = 1024;  ///< queued pool tasks before requests get 503
    int statement_timeout_ms = 30'000;
};

struct ingest_config {
    std::size_t max_readings_per_request = 10'000;
    std::size_t max_batch_rows = 50'000;     ///< rows per group commit
    std::size_t max_pending_rows = 500'000;  ///< accepted-but-uncommitted rows before 503
    int max_future_skew_s = 300;             ///< readings further in the future are rejected
    int max_age_days = 365;                  ///< older readings are rejected
};

struct storage_config {
    int partition_days_ahead = 7;  ///< daily partitions created ahead of time
};

struct auth_config {
    std::string admin_key_file = "var/admin.key";  ///< where a generated first admin key is written
    int cache_ttl_s = 10;                          ///< how long a verified key is trusted without the DB
    std::optional<std::string> admin_key;          ///< CITYGUARD_ADMIN_KEY only; never from the file
};

struct query_config {
    std::size_t default_readings = 1000;
    std::size_t max_readings = 10'000;
    std::size_t max_buckets = 10'000;
};

struct alarms_config {
    int tick_ms = 1000;           ///< how often offline detection and event expiry run
    std::size_t max_list = 1000;  ///< largest `limit` of GET /api/v1/alarms
    std::size_t default_list = 100;
};

struct feed_config {
    std::size_t max_queued_messages = 4096;     ///< per connection; a client further behind is closed (4008)
    int auth_timeout_ms = 5000;                 ///< for the first message's token when none came with the upgrade
    int idle_timeout_ms = 60'000;               ///< nothing heard from the client (pings go out at half of it)
    int close_timeout_ms = 2000;                ///< a close handshake longer than this drops the TCP connection
    std::size_t max_message_bytes = 64 * 1024;  ///< largest client message
    std::size_t max_replay = 10'000;            ///< events replayed for `since`; more gives a reset snapshot
    std::size_t max_reading_sensors = 100;      ///< sensors one connection may follow live
    int poll_ms = 1000;                         ///< the event log is read at least this often, notification or not
    std::size_t socket_send_buffer = 0;         ///< SO_SNDBUF of feed connections in bytes; 0 = the kernel's
};

struct web_config {
    std::string root;      ///< dashboard files; empty = web/ of the install, "-" = no dashboard
    std::string tile_url;  ///< optional map tiles, e.g. "http://tiles.local/{z}/{x}/{y}.png"
};

struct config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    int threads = 0;  ///< I/O threads; 0 = hardware concurrency
    std::string log_level = "info";
    std::string migrations_dir;  ///< empty = migrations compiled into the binary
    std::string registry_file;   ///< optional registry JSON upserted at start-up
    std::string rules_dir;       ///< rule packs; empty = config/rules of the install
    http_config http;
    db_config db;
    ingest_config ingest;
    storage_config storage;
    auth_config auth;
    query_config query;
    alarms_config alarms;
    feed_config feed;
    web_config web;
};

/// A bad configuration value: what() is one line naming the key.
class config_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// What the command line asked for besides running the server.
enum class cli_action { run, help, version };

struct load_result {
    cli_action action = cli_action::run;
    config cfg;
    std::string config_path;  ///< the file that was read, empty if none
};

/// Environment lookup; injectable for tests.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_environment();

/// Parses a JSON config document (comments allowed) onto `cfg`. Throws config_error.
void apply_json(config& cfg, const std::string& json_text);

/// Full load: defaults, then the config file (--config, CITYGUARD_CONFIG, or config/cityguard.json
/// beside the executable's tree), then environment, then flags. Throws config_error.
load_result load(const std::vector<std::string>& args, const env_lookup& env, const std::string& exe_dir);

/// Usage text for --help.
std::string usage();

/// Splits "host:port" (port 0 allowed). Throws config_error naming `key`.
void parse_listen(const std::string& value, const std::string& key, std::string& host, std::uint16_t& port);

}  // namespace cityguard::config
