#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cityguard/util/input.hpp"

/// The typed configuration tree. Defaults live here; config/cityguard.json, the environment and
/// command-line flags override them in that order. Built once in main and passed by const&.
namespace cityguard::config {

struct http_config {
    std::size_t body_limit = 8 * 1024 * 1024;      ///< bytes; larger bodies get 413
    std::size_t header_limit = 16 * 1024;          ///< bytes of request line + headers
    int read_timeout_ms = 30'000;                  ///< to receive one whole request
    int idle_timeout_ms = 60'000;                  ///< keep-alive connection with no request
    int shutdown_timeout_ms = 10'000;              ///< graceful drain bound on SIGINT/SIGTERM
    std::size_t max_connections = 10'000;          ///< further connections are closed at accept
    std::size_t max_connections_per_client = 256;  ///< open connections from one client address
    /// Slots only connections that presented a valid key may use: connections that have not
    /// authenticated yet are held to max_connections - reserved_connections (the oldest of them
    /// is closed to make room), so a flood of idle sockets never locks operators out.
    std::size_t reserved_connections = 100;
    std::size_t max_body_bytes_in_flight = 128 * 1024 * 1024;  ///< request bodies being read at once, all clients
    std::size_t json_max_depth =
        util::kDefaultJsonMaxDepth;              ///< nesting of any JSON from a client (bodies, feed messages)
    int refusal_log_interval_ms = 1000;          ///< at most one log line per kind of refusal in this time
    std::size_t inline_parse_bytes = 64 * 1024;  ///< larger JSON bodies are parsed off the I/O threads
    int parse_threads = 1;                       ///< threads for those large parses
    std::size_t max_queued_parses = 64;          ///< large parses waiting for a thread before 503
};

struct db_config {
    std::string url;                ///< libpq connection string or URI
    int pool_size = 4;              ///< connections (and threads) for queries and registry writes
    std::size_t max_queued = 1024;  ///< queued pool tasks before requests get 503
    int statement_timeout_ms = 30'000;
    /// Optional: a read replica for the readings history (GET /sensors/{id}/readings), with a
    /// pool of its own of pool_size. Replication lag shows there: a reading just stored may be
    /// missing from it for that long. Empty: history reads the primary.
    std::string read_url;
};

struct ingest_config {
    std::size_t max_readings_per_request = 10'000;
    /// Rows per group commit. An operator's action waits for at most the batch being written,
    /// so this bounds its wait too (about 50 ms at this size on two cores).
    std::size_t max_batch_rows = 10'000;
    std::size_t max_pending_rows = 500'000;  ///< accepted-but-uncommitted rows before 503
    /// Readings are refused (503) when those already waiting would take longer than this to
    /// write at the writer's recent rate: an accepted reading, and the alarm it raises, is never
    /// further behind than this. 0: only max_pending_rows bounds the queue.
    int max_queue_delay_ms = 500;
    int max_future_skew_s = 300;                 ///< readings further in the future are rejected
    int max_age_days = 365;                      ///< older readings are rejected
    std::size_t max_events_per_request = 1'000;  ///< items of one POST /api/v1/events (video callbacks)
    std::size_t max_evidence_url_bytes = 1'024;  ///< a snapshot or clip URL
    /// Readings with evidence accepted and not yet committed, all clients: beyond it 503, so
    /// evidence (up to ~2 KiB each) cannot pile up in memory behind a slow commit.
    std::size_t max_pending_evidence = 10'000;
};

/// The writer thread (writer::serial_writer), which makes every change to readings and alarms.
struct writer_config {
    /// Alarm work (timer steps, operator actions) waiting for the writer; beyond it: 503.
    std::size_t max_queued_tasks = 1024;
};

struct storage_config {
    int partition_days_ahead = 7;  ///< daily partitions created ahead of time
    /// Raw readings are kept this many days, then their daily partitions are dropped (after
    /// their roll-up); 0 keeps them forever. More than ingest.max_age_days + 1.
    int retention_days = 400;
    int minute_rollup_days = 800;       ///< per-sensor 1-minute aggregates are kept this long (0: forever)
    int hour_rollup_days = 3660;        ///< per-sensor 1-hour aggregates (0: forever)
    int maintenance_interval_s = 3600;  ///< roll-ups and retention run this often (and 30 s after start)
};

struct auth_config {
    std::string admin_key_file = "var/admin.key";  ///< where a generated first admin key is written
    std::optional<std::string> admin_key;          ///< CITYGUARD_ADMIN_KEY only; never from the file
    /// A well-formed key the table does not hold (made on another instance a moment ago, its
    /// notification not yet heard) is looked up in the database, at most this often a second
    /// in total, so random keys cost the database next to nothing.
    int unknown_key_lookups_per_s = 20;
    /// CITYGUARD_ADMIN_LOGIN and CITYGUARD_ADMIN_PASSWORD only: the first admin account, created
    /// at start when no account of that login exists (its password is never changed by a restart).
    std::optional<std::string> admin_login, admin_password;

    // Passwords (Argon2id through libsodium). The hash carries its parameters, so raising these
    // applies to each account at its next sign-in.
    std::size_t password_min_length = 10;  ///< and three of: lower case, upper case, digit, other
    unsigned long long argon2_ops = 2;     ///< libsodium opslimit (passes)
    std::size_t argon2_mem_kib = 65536;    ///< libsodium memlimit: each hash in progress takes this much
    std::size_t hash_threads = 1;          ///< threads that hash passwords (never the I/O threads)
    std::size_t max_queued_hashes = 32;    ///< sign-ins waiting for a hash thread; beyond, 503

    // Sessions (the dashboard's cookie).
    int session_idle_minutes = 30;           ///< a session unused this long ends
    int session_absolute_hours = 12;         ///< a session ends this long after sign-in, used or not
    std::string cookie_secure = "auto";      ///< "auto" (Secure when X-Forwarded-Proto is https), "always", "never"
    std::size_t max_sessions_per_user = 20;  ///< the oldest ends when a new one would pass this

    // Sign-in throttling. Per address: a token bucket. Per account: after max_failures wrong
    // passwords in a row the account refuses sign-in for lockout_seconds, doubling with each
    // further failure up to lockout_max_seconds: short, so nobody can lock a person out for long.
    int signins_per_address_per_minute = 10;
    int signin_burst_per_address = 10;
    int account_max_failures = 5;
    int account_lockout_seconds = 30;
    int account_lockout_max_seconds = 900;

    /// Roles that must sign in with a second factor (TOTP), e.g. ["admin"].
    std::vector<std::string> require_totp_for;
};

struct audit_config {
    int retention_days = 1096;            ///< whole months older than this are dropped (three years and a day)
    std::size_t max_detail_bytes = 2048;  ///< a request body summarised in the trail: larger ones by size and hash
    std::size_t max_list = 1000;          ///< largest `limit` of GET /api/v1/audit
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
    std::size_t replay_max_readings = 1'000'000;  ///< stored readings one replay may scan
    int replay_max_ms = 20'000;                   ///< wall time one replay may take
    std::size_t replay_max_sensors = 1000;        ///< sensors one replay may select
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
    /// SO_SNDBUF of feed connections in bytes (0 = the kernel's, which grows to megabytes): with
    /// max_queued_bytes, it bounds what one connection can hold.
    std::size_t socket_send_buffer = 256 * 1024;
    /// Per connection: bytes waiting behind the message being written; beyond: 4008. One message
    /// larger than this (a snapshot) may wait alone. Room for max_queued_messages events of about
    /// a KiB: a storm's transaction queues its events on every connection at once, which is no
    /// slowness of theirs (bench/city-day). Shared events count once in max_output_bytes_total.
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    /// All feed connections together: bytes queued and being written. A snapshot that would pass
    /// it is refused (the client retries); a connection above its share (this / connections)
    /// that would pass it is closed with 4008. What the feed holds stays under twice this.
    std::size_t max_output_bytes_total = 64 * 1024 * 1024;
    /// Snapshots and `since` replays being loaded at once, all connections: each holds the open
    /// alarms (or events) in memory while it is built. Beyond: the subscription is refused
    /// (an `error` `overloaded`; the client retries).
    std::size_t max_concurrent_loads = 4;
    int send_timeout_ms = 30'000;  ///< one message not taken by the peer in this time (checked once per it): dropped
    int max_client_messages_per_s = 20;  ///< client messages per second (burst of twice that); beyond: 4029
};

/// The notification dispatcher (channels and policies are in the notification file).
struct notifications_config {
    int poll_ms = 1000;           ///< the outbox is read at least this often (a commit with new rows wakes it)
    std::size_t batch = 100;      ///< due rows read at once
    int alert_firing_s = 86'400;  ///< Alertmanager: endsAt of an active alarm's alert, renewed by each notice
};

/// Emergency resources near an incident (docs/resources.md). Speeds are straight-line estimates.
struct resources_config {
    int warehouse_speed_kmh = 30;  ///< a truck with materials
    int team_speed_kmh = 40;       ///< a rescue vehicle in city traffic
    int shelter_speed_kmh = 4;     ///< people walking to it
    int expert_speed_kmh = 30;
    int circle_s = 300;                    ///< the disposal circle (5分钟处置圈), in seconds of travel
    std::size_t nearby_per_kind = 3;       ///< default nearest of each kind, and of each wanted team or material kind
    std::size_t max_nearby_per_kind = 50;  ///< largest `limit` of the nearby queries
};

/// The registry of sites, sensors, units and contacts (docs/api.md).
struct registry_config {
    std::size_t max_geometry_points = 2'000;  ///< vertices of a site's line or polygon
};

/// GET /api/v1/stats (docs/statistics.md).
struct stats_config {
    std::string time_zone = "Asia/Shanghai";  ///< the days statistics count in (an IANA name PostgreSQL knows)
    int default_disposal_s = 28'800;          ///< disposal deadline of alarms whose policy sets none
    int default_days = 30;                    ///< range when the request names none, ending today
    int max_days = 400;                       ///< longest range one request may ask for
    int max_top_sites = 100;                  ///< largest `top`
};

struct web_config {
    std::string root;      ///< dashboard files; empty = web/ of the install, "-" = no dashboard
    std::string tile_url;  ///< optional map tiles, e.g. "http://tiles.local/{z}/{x}/{y}.png"
    /// District boundaries drawn on the map (GeoJSON, WGS-84 longitude/latitude, each feature's
    /// properties.name a district); empty = config/demo/shenzhen-districts.geojson of the install, "-" = none
    std::string boundaries_file;
};

struct metrics_config {
    /// Who may read GET /metrics: "loopback" (no key from this machine, a key with the monitor,
    /// operator or admin role from elsewhere), "key" (such a key from everywhere), "open" (anyone).
    std::string access = "loopback";
};

/// Several instances on one database (docs/scaling.md): one leads (writes, rules, timers,
/// notifications), the others serve reads and forward writes to it.
struct cluster_config {
    /// How the other instances reach this one; empty = http://<listen host>:<port>.
    std::string advertise_url;
    /// Shared by the instances (at least 16 characters): a forwarded request carries it, and only
    /// then may it name the client it forwards for. Empty: forwarded requests count as the
    /// forwarding instance's own. A secret: from CITYGUARD_CLUSTER_TOKEN only, never the file.
    std::string token;
    int poll_ms = 1000;              ///< a follower bids for the lead this often (takeover ≈ this + the restore)
    int heartbeat_ms = 2000;         ///< each instance refreshes its cluster_members row
    int member_timeout_ms = 10'000;  ///< listed as not alive after this long without one
    int forget_after_s = 86'400;     ///< rows of instances silent this long are removed
    std::size_t forward_connections = 16;    ///< persistent connections from a follower to the leader
    std::size_t max_queued_forwards = 1024;  ///< writes waiting for one of them; beyond: 503
    int forward_timeout_ms = 30'000;         ///< one forwarded write, waiting for a connection included
};

/// MQTT ingest (docs/ingest.md): CityGuard subscribes to the gateways' topics on a broker.
struct mqtt_config {
    std::string host;  ///< the broker; empty: no MQTT ingest
    int port = 1883;
    /// The session's name at the broker: the same on every instance of a cluster, so that the
    /// instance that takes the lead resumes the session (and its unacknowledged messages).
    std::string client_id = "cityguard";
    std::string username;
    /// A secret: from CITYGUARD_MQTT_PASSWORD only, never the file.
    std::string password;
    std::string mapping_file;  ///< gateways, their topics and field mapping; required with host
    int keep_alive_s = 30;
    int connect_timeout_ms = 10'000;
    int reconnect_min_ms = 500;  ///< first wait after a lost or refused connection, doubled up to max
    int reconnect_max_ms = 30'000;
    std::size_t max_payload_bytes = 1024 * 1024;  ///< larger messages are acknowledged and dropped unread
    /// Messages received and not yet committed: beyond it nothing more is read, and the broker
    /// holds the rest (its own max_inflight_messages and queue bound what it sends).
    std::size_t max_inflight_messages = 256;
    int retry_ms = 1000;         ///< a message the writer could not take (busy, no lead) is tried again after this
    int log_interval_ms = 1000;  ///< at most one log line per kind of refused message in this time
};

/// Modbus TCP polling (docs/ingest.md): devices, registers and sensors in the connector file.
struct modbus_config {
    std::string connector_file;           ///< empty: no Modbus polling
    int tick_ms = 200;                    ///< how often the poller looks for points that are due
    int reconnect_ms = 5000;              ///< a device that failed is tried again after this
    int default_interval_s = 60;          ///< a point whose sensor is not registered (yet)
    std::size_t max_pending_batches = 4;  ///< polled batches waiting for their commit; beyond: dropped, counted
};

/// Upward reporting (docs/upward.md): every alarm's raise, level change and close, sent to the
/// superior (provincial or national) platform, SM4-CBC encrypted and signed with the app secret.
struct upward_config {
    std::string url;              ///< where to POST; empty: no upward reporting
    std::string app_id;           ///< this platform's appId at the superior platform
    std::string app_secret;       ///< a secret: CITYGUARD_UPWARD_APP_SECRET only
    std::string sm4_key;          ///< a secret: CITYGUARD_UPWARD_SM4_KEY only, 32 hex digits (128 bits)
    std::string platform_code;    ///< this platform's code in event ids, e.g. the city's division code 440300
    std::string fields_file;      ///< optional: renames and omissions of the report's fields
    int timeout_ms = 10'000;      ///< one attempt
    int poll_ms = 1000;           ///< the event log is read at least this often
    int retry_initial_ms = 1000;  ///< after a failed attempt; doubled up to retry_max_ms
    int retry_max_ms = 60'000;
};

struct config {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 8080;
    int threads = 0;  ///< I/O threads; 0 = hardware concurrency
    std::string log_level = "info";
    std::string migrations_dir;      ///< empty = migrations compiled into the binary
    std::string registry_file;       ///< optional registry JSON upserted at start-up
    std::string rules_dir;           ///< rule packs; empty = config/rules of the install
    std::string notifications_file;  ///< channels and policies; empty = config/notifications.json of the install
    http_config http;
    db_config db;
    ingest_config ingest;
    writer_config writer;
    storage_config storage;
    auth_config auth;
    audit_config audit;
    query_config query;
    alarms_config alarms;
    feed_config feed;
    notifications_config notifications;
    resources_config resources;
    stats_config stats;
    registry_config registry;
    web_config web;
    metrics_config metrics;
    cluster_config cluster;
    mqtt_config mqtt;
    upward_config upward;
    modbus_config modbus;
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

/// Where the loader looks for the files of the install besides the executable's own tree
/// (src/config/config.cpp, install_layout). Compiled in for the server; a test passes none so
/// that nothing installed on the machine (an /etc/cityguard/cityguard.json) changes its outcome.
struct install_paths {
    std::string build_tree;   ///< the build tree the binary was built in: its source tree's config/ is used
    std::string source_tree;  ///< that source tree
    std::string datadir;      ///< the configured prefix's share/cityguard, for a binary moved elsewhere
    std::string sysconfdir;   ///< the configured prefix's etc/cityguard (/etc/cityguard for /usr)
    static install_paths compiled_in();
};

/// Full load: defaults, then the config file (--config, CITYGUARD_CONFIG, or config/cityguard.json
/// beside the executable's tree), then environment, then flags. Throws config_error.
load_result load(
    const std::vector<std::string>& args,
    const env_lookup& env,
    const std::string& exe_dir,
    const install_paths& where = install_paths::compiled_in()
);

/// Usage text for --help.
std::string usage();

/// Splits "host:port" (port 0 allowed). Throws config_error naming `key`.
void parse_listen(const std::string& value, const std::string& key, std::string& host, std::uint16_t& port);

}  // namespace cityguard::config
