#include "cityguard/config/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

// The install's directories, set by CMake for this file (CMakeLists.txt); empty elsewhere.
#ifndef CITYGUARD_INSTALL_DATADIR
#define CITYGUARD_INSTALL_DATADIR ""
#endif
#ifndef CITYGUARD_INSTALL_SYSCONFDIR
#define CITYGUARD_INSTALL_SYSCONFDIR ""
#endif
#ifndef CITYGUARD_BUILD_TREE
#define CITYGUARD_BUILD_TREE ""
#endif
#ifndef CITYGUARD_SOURCE_TREE
#define CITYGUARD_SOURCE_TREE ""
#endif

namespace cityguard::config {
namespace {

using json = nlohmann::json;

/// Reads one JSON object section, remembering which keys were consumed so that the rest can
/// be rejected as unknown (a typo must not silently fall back to a default).
class section {
  public:
    section(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {
        if (!obj_.is_object()) fail(path_.empty() ? "<root>" : path_, "must be an object");
    }

    template <class T>
    void integer(const char* key, T& out, long long min, long long max) {
        const json* v = take(key);
        if (!v) return;
        if (!v->is_number_integer() || v->get<long long>() < min || v->get<long long>() > max)
            fail(name(key), "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
        out = static_cast<T>(v->get<long long>());
    }

    void string(const char* key, std::string& out, bool allow_empty = true) {
        const json* v = take(key);
        if (!v) return;
        if (!v->is_string() || (!allow_empty && v->get<std::string>().empty()))
            fail(name(key), "must be a non-empty string");
        out = v->get<std::string>();
    }

    const json* object(const char* key) { return take(key); }

    std::string name(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

    void finish() const {
        for (auto it = obj_.begin(); it != obj_.end(); ++it)
            if (!seen_.count(it.key())) fail(name(it.key().c_str()), "unknown key");
    }

    [[noreturn]] static void fail(const std::string& key, const std::string& why) {
        throw config_error("config: " + key + ": " + why);
    }

  private:
    const json* take(const char* key) {
        seen_.insert(key);
        auto it = obj_.find(key);
        return it == obj_.end() ? nullptr : &*it;
    }

    const json& obj_;
    std::string path_;
    std::set<std::string> seen_;
};

void validate_log_level(const std::string& level, const std::string& key) {
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.count(level)) section::fail(key, "must be one of trace, debug, info, warn, error, critical, off");
}

int parse_int(const std::string& value, const std::string& key, int min, int max) {
    try {
        std::size_t used = 0;
        const long v = std::stol(value, &used);
        if (used != value.size() || v < min || v > max) throw std::out_of_range(key);
        return static_cast<int>(v);
    } catch (const std::logic_error&) {
        section::fail(key, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error("config: cannot read config file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

constexpr long long kMaxInt = std::numeric_limits<int>::max();

void check_cluster(const cluster_config& c, const std::string& token_key) {
    if (!c.token.empty() && c.token.size() < 16) section::fail(token_key, "must be at least 16 characters");
    if (!c.advertise_url.empty() && c.advertise_url.rfind("http://", 0) != 0)
        section::fail("cluster.advertise_url", "must be an http:// URL other instances reach this one at");
}

}  // namespace

env_lookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str()); v && *v) return std::string(v);
        return std::nullopt;
    };
}

void parse_listen(const std::string& value, const std::string& key, std::string& host, std::uint16_t& port) {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0) section::fail(key, "must be HOST:PORT, e.g. 127.0.0.1:8080");
    host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    port = static_cast<std::uint16_t>(parse_int(value.substr(colon + 1), key, 0, 65535));
}

namespace {

/// Reads one object of the config file with `read`, if the file has it; an unknown key in it
/// is an error naming the key (section::finish).
void read_section(section& root, const char* name, config& cfg, void (*read)(section&, config&)) {
    if (const json* v = root.object(name)) {
        section s(*v, name);
        read(s, cfg);
        s.finish();
    }
}

void read_http(section& s, config& cfg) {
    s.integer("body_limit", cfg.http.body_limit, 1024, 1LL << 30);
    s.integer("header_limit", cfg.http.header_limit, 1024, 1 << 20);
    s.integer("read_timeout_ms", cfg.http.read_timeout_ms, 100, kMaxInt);
    s.integer("idle_timeout_ms", cfg.http.idle_timeout_ms, 100, kMaxInt);
    s.integer("shutdown_timeout_ms", cfg.http.shutdown_timeout_ms, 0, kMaxInt);
    s.integer("max_connections", cfg.http.max_connections, 1, 1'000'000);
    s.integer("max_connections_per_client", cfg.http.max_connections_per_client, 1, 1'000'000);
    s.integer("reserved_connections", cfg.http.reserved_connections, 0, 1'000'000);
    s.integer("max_body_bytes_in_flight", cfg.http.max_body_bytes_in_flight, 1024, 1LL << 40);
    s.integer("json_max_depth", cfg.http.json_max_depth, 2, 10'000);
    s.integer("refusal_log_interval_ms", cfg.http.refusal_log_interval_ms, 0, kMaxInt);
    s.integer("inline_parse_bytes", cfg.http.inline_parse_bytes, 0, 1LL << 30);
    s.integer("parse_threads", cfg.http.parse_threads, 1, 64);
    s.integer("max_queued_parses", cfg.http.max_queued_parses, 1, 1'000'000);
}

void read_db(section& s, config& cfg) {
    s.string("url", cfg.db.url);
    s.string("read_url", cfg.db.read_url);
    s.integer("pool_size", cfg.db.pool_size, 1, 64);
    s.integer("max_queued", cfg.db.max_queued, 1, 1'000'000);
    s.integer("statement_timeout_ms", cfg.db.statement_timeout_ms, 0, kMaxInt);
}

void read_ingest(section& s, config& cfg) {
    s.integer("max_readings_per_request", cfg.ingest.max_readings_per_request, 1, 1'000'000);
    s.integer("max_batch_rows", cfg.ingest.max_batch_rows, 1, 10'000'000);
    s.integer("max_pending_rows", cfg.ingest.max_pending_rows, 1, 100'000'000);
    s.integer("max_queue_delay_ms", cfg.ingest.max_queue_delay_ms, 0, 600'000);
    s.integer("max_future_skew_s", cfg.ingest.max_future_skew_s, 0, 86'400 * 366);
    s.integer("max_age_days", cfg.ingest.max_age_days, 1, 36'500);
    s.integer("max_events_per_request", cfg.ingest.max_events_per_request, 1, 100'000);
    s.integer("max_evidence_url_bytes", cfg.ingest.max_evidence_url_bytes, 64, 8'192);
    s.integer("max_pending_evidence", cfg.ingest.max_pending_evidence, 1, 1'000'000);
}

void read_writer(section& s, config& cfg) { s.integer("max_queued_tasks", cfg.writer.max_queued_tasks, 1, 1'000'000); }

void read_storage(section& s, config& cfg) {
    s.integer("partition_days_ahead", cfg.storage.partition_days_ahead, 1, 366);
    s.integer("retention_days", cfg.storage.retention_days, 0, 36'600);
    s.integer("minute_rollup_days", cfg.storage.minute_rollup_days, 0, 36'600);
    s.integer("hour_rollup_days", cfg.storage.hour_rollup_days, 0, 36'600);
    s.integer("maintenance_interval_s", cfg.storage.maintenance_interval_s, 10, 86'400);
}

void read_auth(section& s, config& cfg) {
    s.string("admin_key_file", cfg.auth.admin_key_file, false);
    // Keys are held in memory since issue 26: the look-up caches and limits of earlier
    // versions are gone, and their keys, still in installed config files, are read and ignored.
    long long obsolete = 0;
    for (const char* gone :
         {"cache_ttl_s",
          "negative_cache_ttl_s",
          "negative_cache_size",
          "max_lookups_per_client_per_s",
          "max_concurrent_lookups"})
        s.integer(gone, obsolete, 0, 10'000'000);
    s.integer("unknown_key_lookups_per_s", cfg.auth.unknown_key_lookups_per_s, 0, 100'000);
    s.integer("password_min_length", cfg.auth.password_min_length, 8, 256);
    s.integer("argon2_ops", cfg.auth.argon2_ops, 1, 32);
    s.integer("argon2_mem_kib", cfg.auth.argon2_mem_kib, 8, 4 * 1024 * 1024);
    s.integer("hash_threads", cfg.auth.hash_threads, 1, 64);
    s.integer("max_queued_hashes", cfg.auth.max_queued_hashes, 1, 100'000);
    s.integer("session_idle_minutes", cfg.auth.session_idle_minutes, 1, 7 * 24 * 60);
    s.integer("session_absolute_hours", cfg.auth.session_absolute_hours, 1, 30 * 24);
    s.string("cookie_secure", cfg.auth.cookie_secure, false);
    if (cfg.auth.cookie_secure != "auto" && cfg.auth.cookie_secure != "always" && cfg.auth.cookie_secure != "never")
        section::fail(s.name("cookie_secure"), "must be \"auto\", \"always\" or \"never\"");
    s.integer("max_sessions_per_user", cfg.auth.max_sessions_per_user, 1, 1000);
    s.integer("signins_per_address_per_minute", cfg.auth.signins_per_address_per_minute, 1, 100'000);
    s.integer("signin_burst_per_address", cfg.auth.signin_burst_per_address, 1, 100'000);
    s.integer("account_max_failures", cfg.auth.account_max_failures, 1, 1000);
    s.integer("account_lockout_seconds", cfg.auth.account_lockout_seconds, 1, 86'400);
    s.integer("account_lockout_max_seconds", cfg.auth.account_lockout_max_seconds, 1, 86'400);
    if (const json* roles = s.object("require_totp_for")) {
        if (!roles->is_array()) section::fail(s.name("require_totp_for"), "must be an array of roles");
        cfg.auth.require_totp_for.clear();
        for (const auto& r : *roles) {
            if (!r.is_string() || (r != "viewer" && r != "operator" && r != "admin" && r != "enterprise"))
                section::fail(s.name("require_totp_for"), "entries must be viewer, operator, admin or enterprise");
            cfg.auth.require_totp_for.push_back(r.get<std::string>());
        }
    }
}

void read_audit(section& s, config& cfg) {
    s.integer("retention_days", cfg.audit.retention_days, 31, 36'500);
    s.integer("max_detail_bytes", cfg.audit.max_detail_bytes, 64, 1'000'000);
    s.integer("max_list", cfg.audit.max_list, 1, 100'000);
}

void read_query(section& s, config& cfg) {
    s.integer("default_readings", cfg.query.default_readings, 1, 1'000'000);
    s.integer("max_readings", cfg.query.max_readings, 1, 1'000'000);
    s.integer("max_buckets", cfg.query.max_buckets, 1, 1'000'000);
}

void read_alarms(section& s, config& cfg) {
    s.integer("tick_ms", cfg.alarms.tick_ms, 50, 3'600'000);
    s.integer("max_list", cfg.alarms.max_list, 1, 100'000);
    s.integer("default_list", cfg.alarms.default_list, 1, 100'000);
    s.integer("replay_max_readings", cfg.alarms.replay_max_readings, 1, 100'000'000);
    s.integer("replay_max_ms", cfg.alarms.replay_max_ms, 100, 3'600'000);
    s.integer("replay_max_sensors", cfg.alarms.replay_max_sensors, 1, 100'000);
}

void read_feed(section& s, config& cfg) {
    s.integer("max_queued_messages", cfg.feed.max_queued_messages, 16, 1'000'000);
    s.integer("auth_timeout_ms", cfg.feed.auth_timeout_ms, 100, kMaxInt);
    s.integer("idle_timeout_ms", cfg.feed.idle_timeout_ms, 1000, kMaxInt);
    s.integer("close_timeout_ms", cfg.feed.close_timeout_ms, 100, kMaxInt);
    s.integer("max_message_bytes", cfg.feed.max_message_bytes, 1024, 1 << 24);
    s.integer("max_replay", cfg.feed.max_replay, 1, 10'000'000);
    s.integer("max_reading_sensors", cfg.feed.max_reading_sensors, 0, 100'000);
    s.integer("poll_ms", cfg.feed.poll_ms, 100, 3'600'000);
    s.integer("socket_send_buffer", cfg.feed.socket_send_buffer, 0, 64 << 20);
    s.integer("max_queued_bytes", cfg.feed.max_queued_bytes, 64 * 1024, 1LL << 32);
    s.integer("max_output_bytes_total", cfg.feed.max_output_bytes_total, 1 << 20, 1LL << 40);
    s.integer("max_concurrent_loads", cfg.feed.max_concurrent_loads, 1, 1024);
    s.integer("send_timeout_ms", cfg.feed.send_timeout_ms, 100, kMaxInt);
    s.integer("max_client_messages_per_s", cfg.feed.max_client_messages_per_s, 1, 1'000'000);
}

void read_notifications(section& s, config& cfg) {
    s.integer("poll_ms", cfg.notifications.poll_ms, 10, 3'600'000);
    s.integer("batch", cfg.notifications.batch, 1, 10'000);
    s.integer("alert_firing_s", cfg.notifications.alert_firing_s, 60, 30 * 86'400);
}

void read_resources(section& s, config& cfg) {
    if (const json* speeds = s.object("speed_kmh")) {
        section sp(*speeds, "resources.speed_kmh");
        sp.integer("warehouse", cfg.resources.warehouse_speed_kmh, 1, 1000);
        sp.integer("team", cfg.resources.team_speed_kmh, 1, 1000);
        sp.integer("shelter", cfg.resources.shelter_speed_kmh, 1, 1000);
        sp.integer("expert", cfg.resources.expert_speed_kmh, 1, 1000);
        sp.finish();
    }
    s.integer("circle_s", cfg.resources.circle_s, 1, 86'400);
    s.integer("nearby_per_kind", cfg.resources.nearby_per_kind, 1, 1000);
    s.integer("max_nearby_per_kind", cfg.resources.max_nearby_per_kind, 1, 1000);
}

void read_registry(section& s, config& cfg) {
    s.integer("max_geometry_points", cfg.registry.max_geometry_points, 2, 100'000);
}

void read_stats(section& s, config& cfg) {
    s.string("time_zone", cfg.stats.time_zone, false);
    if (cfg.stats.time_zone.size() > 64) section::fail("stats.time_zone", "must be an IANA time zone name");
    s.integer("default_disposal_s", cfg.stats.default_disposal_s, 60, 366 * 86'400);
    s.integer("default_days", cfg.stats.default_days, 1, 3660);
    s.integer("max_days", cfg.stats.max_days, 1, 3660);
    s.integer("max_top_sites", cfg.stats.max_top_sites, 1, 10'000);
}

void read_metrics(section& s, config& cfg) {
    s.string("access", cfg.metrics.access, false);
    if (cfg.metrics.access != "loopback" && cfg.metrics.access != "key" && cfg.metrics.access != "open")
        section::fail("metrics.access", "must be \"loopback\", \"key\" or \"open\"");
}

void read_cluster(section& s, config& cfg) {
    s.string("advertise_url", cfg.cluster.advertise_url);
    s.integer("poll_ms", cfg.cluster.poll_ms, 50, 600'000);
    s.integer("heartbeat_ms", cfg.cluster.heartbeat_ms, 100, 600'000);
    s.integer("member_timeout_ms", cfg.cluster.member_timeout_ms, 500, kMaxInt);
    s.integer("forget_after_s", cfg.cluster.forget_after_s, 60, 366 * 86'400);
    s.integer("forward_connections", cfg.cluster.forward_connections, 1, 10'000);
    s.integer("max_queued_forwards", cfg.cluster.max_queued_forwards, 0, 1'000'000);
    s.integer("forward_timeout_ms", cfg.cluster.forward_timeout_ms, 100, kMaxInt);
}

void read_mqtt(section& s, config& cfg) {
    s.string("host", cfg.mqtt.host);
    s.integer("port", cfg.mqtt.port, 1, 65'535);
    s.string("client_id", cfg.mqtt.client_id, false);
    s.string("username", cfg.mqtt.username);
    s.string("mapping_file", cfg.mqtt.mapping_file);
    s.integer("keep_alive_s", cfg.mqtt.keep_alive_s, 2, 65'535);
    s.integer("connect_timeout_ms", cfg.mqtt.connect_timeout_ms, 100, 600'000);
    s.integer("reconnect_min_ms", cfg.mqtt.reconnect_min_ms, 10, 600'000);
    s.integer("reconnect_max_ms", cfg.mqtt.reconnect_max_ms, 10, 3'600'000);
    s.integer("max_payload_bytes", cfg.mqtt.max_payload_bytes, 64, 256 * 1024 * 1024);
    s.integer("max_inflight_messages", cfg.mqtt.max_inflight_messages, 1, 65'535);
    s.integer("retry_ms", cfg.mqtt.retry_ms, 10, 600'000);
    s.integer("log_interval_ms", cfg.mqtt.log_interval_ms, 0, 3'600'000);
}

void read_modbus(section& s, config& cfg) {
    s.string("connector_file", cfg.modbus.connector_file);
    s.integer("tick_ms", cfg.modbus.tick_ms, 10, 60'000);
    s.integer("reconnect_ms", cfg.modbus.reconnect_ms, 10, 3'600'000);
    s.integer("default_interval_s", cfg.modbus.default_interval_s, 1, 86'400);
    s.integer("max_pending_batches", cfg.modbus.max_pending_batches, 1, 1'000);
}

void read_upward(section& s, config& cfg) {
    s.string("url", cfg.upward.url);
    s.string("app_id", cfg.upward.app_id);
    s.string("platform_code", cfg.upward.platform_code);
    s.string("fields_file", cfg.upward.fields_file);
    s.integer("timeout_ms", cfg.upward.timeout_ms, 100, 120'000);
    s.integer("poll_ms", cfg.upward.poll_ms, 10, 600'000);
    s.integer("retry_initial_ms", cfg.upward.retry_initial_ms, 10, 600'000);
    s.integer("retry_max_ms", cfg.upward.retry_max_ms, 10, 3'600'000);
}

void read_web(section& s, config& cfg) {
    s.string("root", cfg.web.root);
    s.string("tile_url", cfg.web.tile_url);
    s.string("boundaries_file", cfg.web.boundaries_file);
}

/// Limits that depend on each other, checked once every key is read.
void check_consistency(const config& cfg) {
    // A reading the server accepts must never land in a partition retention drops at once.
    if (cfg.storage.retention_days != 0 && cfg.storage.retention_days <= cfg.ingest.max_age_days + 1)
        section::fail("storage.retention_days", "must be 0 (keep forever) or more than ingest.max_age_days + 1");
    check_cluster(cfg.cluster, "CITYGUARD_CLUSTER_TOKEN");
    if (cfg.stats.default_days > cfg.stats.max_days)
        section::fail("stats.default_days", "must not exceed stats.max_days");
    if (cfg.resources.nearby_per_kind > cfg.resources.max_nearby_per_kind)
        section::fail("resources.nearby_per_kind", "must not exceed resources.max_nearby_per_kind");
    if (cfg.alarms.default_list > cfg.alarms.max_list)
        section::fail("alarms.default_list", "must not exceed alarms.max_list");
    if (cfg.query.default_readings > cfg.query.max_readings)
        section::fail("query.default_readings", "must not exceed query.max_readings");
    if (cfg.http.reserved_connections >= cfg.http.max_connections)
        section::fail("http.reserved_connections", "must be less than http.max_connections");
    if (!cfg.mqtt.host.empty() && cfg.mqtt.mapping_file.empty())
        section::fail("mqtt.mapping_file", "is required when mqtt.host is set");
    if (!cfg.upward.url.empty() && !cfg.upward.url.starts_with("http://") && !cfg.upward.url.starts_with("https://"))
        section::fail("upward.url", "must be http://host:port/path or https://...");
    if (!cfg.upward.url.empty() && cfg.upward.app_id.empty())
        section::fail("upward.app_id", "is required when upward.url is set");
    if (cfg.upward.retry_initial_ms > cfg.upward.retry_max_ms)
        section::fail("upward.retry_initial_ms", "must not exceed upward.retry_max_ms");
    if (cfg.mqtt.reconnect_min_ms > cfg.mqtt.reconnect_max_ms)
        section::fail("mqtt.reconnect_min_ms", "must not exceed mqtt.reconnect_max_ms");
    if (cfg.ingest.max_readings_per_request > cfg.ingest.max_pending_rows)
        section::fail("ingest.max_readings_per_request", "must not exceed ingest.max_pending_rows");
}

}  // namespace

void apply_json(config& cfg, const std::string& json_text) {
    json doc;
    try {
        doc = json::parse(json_text, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::exception& e) {
        // parse_error, and out_of_range for a number beyond double range (found by fuzz_config).
        throw config_error(std::string("config: not valid JSON: ") + e.what());
    }
    section root(doc, "");
    std::string listen;
    root.string("listen", listen, false);
    if (!listen.empty()) parse_listen(listen, "listen", cfg.listen_host, cfg.listen_port);
    root.integer("threads", cfg.threads, 0, 256);
    root.string("log_level", cfg.log_level, false);
    validate_log_level(cfg.log_level, "log_level");
    root.string("migrations_dir", cfg.migrations_dir);
    root.string("registry_file", cfg.registry_file);
    root.string("rules_dir", cfg.rules_dir);
    root.string("notifications_file", cfg.notifications_file);

    read_section(root, "http", cfg, read_http);
    read_section(root, "db", cfg, read_db);
    read_section(root, "ingest", cfg, read_ingest);
    read_section(root, "writer", cfg, read_writer);
    read_section(root, "storage", cfg, read_storage);
    read_section(root, "auth", cfg, read_auth);
    read_section(root, "audit", cfg, read_audit);
    read_section(root, "query", cfg, read_query);
    read_section(root, "alarms", cfg, read_alarms);
    read_section(root, "feed", cfg, read_feed);
    read_section(root, "notifications", cfg, read_notifications);
    read_section(root, "resources", cfg, read_resources);
    read_section(root, "stats", cfg, read_stats);
    read_section(root, "registry", cfg, read_registry);
    read_section(root, "metrics", cfg, read_metrics);
    read_section(root, "cluster", cfg, read_cluster);
    read_section(root, "web", cfg, read_web);
    read_section(root, "mqtt", cfg, read_mqtt);
    read_section(root, "upward", cfg, read_upward);
    read_section(root, "modbus", cfg, read_modbus);
    root.finish();
    check_consistency(cfg);
}

std::string usage() {
    return "Usage: cityguard [options]\n"
           "  --config FILE       configuration file (default: config/cityguard.json of the install)\n"
           "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080)\n"
           "  --db URL            PostgreSQL connection string (or CITYGUARD_DB_URL)\n"
           "  --threads N         I/O threads (0 = hardware concurrency)\n"
           "  --migrations DIR    apply sql/NNNN_*.sql from DIR instead of the built-in migrations\n"
           "  --rules DIR         rule packs (*.json) to load instead of config/rules of the install\n"
           "  --notifications F   notification channels and policies instead of config/notifications.json\n"
           "  --web DIR           dashboard files to serve at / instead of web/ of the install (- for none)\n"
           "  --registry FILE     upsert a registry file ({\"sites\":[...],\"sensors\":[...]}) at start-up\n"
           "  --log-level LEVEL   trace, debug, info, warn, error\n"
           "  --help, --version\n"
           "Environment: CITYGUARD_CONFIG, CITYGUARD_DB_URL, CITYGUARD_LISTEN, CITYGUARD_THREADS,\n"
           "             CITYGUARD_LOG_LEVEL, CITYGUARD_ADMIN_KEY, CITYGUARD_ADMIN_LOGIN,\n"
           "             CITYGUARD_ADMIN_PASSWORD, CITYGUARD_CLUSTER_TOKEN,\n"
           "             CITYGUARD_ADVERTISE_URL, CITYGUARD_DB_READ_URL, CITYGUARD_MQTT_PASSWORD,\n"
           "             CITYGUARD_UPWARD_APP_SECRET, CITYGUARD_UPWARD_SM4_KEY\n";
}

namespace {

/// Where the files of the install are, for an executable in `exe_dir`, first match wins:
///   - a build tree: config/ and web/ of the source tree it was built from (compiled in, and
///     only when the executable runs from that build tree), or beside it (build/x/../../config);
///   - an install under any prefix: bin/../share/cityguard/ and bin/../etc/cityguard/;
///   - the prefix it was configured for (CITYGUARD_INSTALL_DATADIR, _SYSCONFDIR: /usr/share/cityguard
///     and /etc/cityguard for the Debian package), for a binary moved elsewhere.
class install_layout {
  public:
    enum where { share, etc };

    install_layout(const std::string& exe_dir, const install_paths& where) : exe_(exe_dir), where_(where) {
        namespace fs = std::filesystem;
        std::error_code ec;
        if (!where.build_tree.empty() && fs::equivalent(exe_, where.build_tree, ec)) source_ = where.source_tree;
    }

    /// `source_rel` under the source tree's config/, `install_rel` under share/ or etc/ cityguard/.
    std::optional<std::string> find_file(const std::string& source_rel, const std::string& install_rel, where w = share)
        const {
        return first(candidates("config/" + source_rel, install_rel, w), [](const std::filesystem::path& p) {
            std::error_code ec;
            return std::filesystem::is_regular_file(p, ec);
        });
    }
    std::string find_dir(const std::string& source_rel, const std::string& install_rel) const {
        return first(
                   candidates("config/" + source_rel, install_rel, share),
                   [](const std::filesystem::path& p) {
                       std::error_code ec;
                       return std::filesystem::is_directory(p, ec);
                   }
        ).value_or("");
    }
    std::string find_web_root() const {
        return first(
                   candidates("web", "web", share),
                   [](const std::filesystem::path& p) {
                       std::error_code ec;
                       return std::filesystem::is_regular_file(p / "index.html", ec);
                   }
        ).value_or("");
    }

  private:
    std::vector<std::filesystem::path> candidates(
        const std::string& source_rel, const std::string& install_rel, where w
    ) const {
        namespace fs = std::filesystem;
        const std::string installed_dir = w == share ? "share/cityguard/" : "etc/cityguard/";
        std::vector<fs::path> out;
        if (!source_.empty()) out.push_back(fs::path(source_) / source_rel);
        out.push_back(exe_ / ".." / source_rel);
        out.push_back(exe_ / "../.." / source_rel);
        out.push_back(exe_ / ".." / (installed_dir + install_rel));
        const std::string& configured = w == share ? where_.datadir : where_.sysconfdir;
        if (!configured.empty()) out.push_back(fs::path(configured) / install_rel);
        return out;
    }
    template <class Exists>
    static std::optional<std::string> first(const std::vector<std::filesystem::path>& paths, Exists exists) {
        for (const auto& p : paths)
            if (exists(p)) {
                std::error_code ec;
                return std::filesystem::weakly_canonical(p, ec).string();
            }
        return std::nullopt;
    }

    std::filesystem::path exe_;
    install_paths where_;
    std::string source_;
};

}  // namespace

install_paths install_paths::compiled_in() {
    return {CITYGUARD_BUILD_TREE, CITYGUARD_SOURCE_TREE, CITYGUARD_INSTALL_DATADIR, CITYGUARD_INSTALL_SYSCONFDIR};
}

load_result load(
    const std::vector<std::string>& args, const env_lookup& env, const std::string& exe_dir, const install_paths& where
) {
    load_result result;
    std::optional<std::string> config_path = env("CITYGUARD_CONFIG");
    std::vector<std::pair<std::string, std::string>> flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            result.action = cli_action::help;
            return result;
        }
        if (a == "--version") {
            result.action = cli_action::version;
            return result;
        }
        static const std::set<std::string> valued{
            "--config",
            "--listen",
            "--db",
            "--threads",
            "--migrations",
            "--registry",
            "--log-level",
            "--rules",
            "--notifications",
            "--web"};
        std::string name = a, value;
        if (auto eq = a.find('='); eq != std::string::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
        } else if (valued.count(a)) {
            if (i + 1 >= args.size()) throw config_error("config: " + a + ": needs a value");
            value = args[++i];
        }
        if (!valued.count(name)) throw config_error("config: unknown option " + a + " (see --help)");
        if (name == "--config")
            config_path = value;
        else
            flags.emplace_back(name, value);
    }

    const install_layout layout(exe_dir, where);
    if (!config_path) config_path = layout.find_file("cityguard.json", "cityguard.json", install_layout::etc);
    config& cfg = result.cfg;
    if (config_path) {
        apply_json(cfg, read_file(*config_path));
        result.config_path = *config_path;
    }

    if (auto v = env("CITYGUARD_DB_URL")) cfg.db.url = *v;
    if (auto v = env("CITYGUARD_DB_READ_URL")) cfg.db.read_url = *v;
    if (auto v = env("CITYGUARD_LISTEN")) parse_listen(*v, "CITYGUARD_LISTEN", cfg.listen_host, cfg.listen_port);
    if (auto v = env("CITYGUARD_THREADS")) cfg.threads = parse_int(*v, "CITYGUARD_THREADS", 0, 256);
    if (auto v = env("CITYGUARD_LOG_LEVEL")) {
        validate_log_level(*v, "CITYGUARD_LOG_LEVEL");
        cfg.log_level = *v;
    }
    if (auto v = env("CITYGUARD_CLUSTER_TOKEN")) cfg.cluster.token = *v;
    if (auto v = env("CITYGUARD_MQTT_PASSWORD")) cfg.mqtt.password = *v;
    if (auto v = env("CITYGUARD_UPWARD_APP_SECRET")) cfg.upward.app_secret = *v;
    if (auto v = env("CITYGUARD_UPWARD_SM4_KEY")) cfg.upward.sm4_key = *v;
    if (!cfg.upward.url.empty()) {
        if (cfg.upward.app_secret.empty())
            throw config_error("config: upward.url is set but CITYGUARD_UPWARD_APP_SECRET is not");
        const bool hex = cfg.upward.sm4_key.size() == 32 &&
                         cfg.upward.sm4_key.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
        if (!hex) throw config_error("config: CITYGUARD_UPWARD_SM4_KEY must be 32 hex digits (a 128-bit SM4 key)");
    }
    if (auto v = env("CITYGUARD_ADVERTISE_URL")) cfg.cluster.advertise_url = *v;
    check_cluster(cfg.cluster, "CITYGUARD_CLUSTER_TOKEN");
    if (auto v = env("CITYGUARD_ADMIN_KEY")) {
        if (v->size() < 16) section::fail("CITYGUARD_ADMIN_KEY", "must be at least 16 characters");
        cfg.auth.admin_key = *v;
    }
    if (auto v = env("CITYGUARD_ADMIN_LOGIN")) cfg.auth.admin_login = *v;
    if (auto v = env("CITYGUARD_ADMIN_PASSWORD")) cfg.auth.admin_password = *v;
    if (cfg.auth.admin_login.has_value() != cfg.auth.admin_password.has_value())
        section::fail("CITYGUARD_ADMIN_LOGIN", "and CITYGUARD_ADMIN_PASSWORD are set together or not at all");

    for (const auto& [name, value] : flags) {
        if (name == "--listen")
            parse_listen(value, "--listen", cfg.listen_host, cfg.listen_port);
        else if (name == "--db")
            cfg.db.url = value;
        else if (name == "--threads")
            cfg.threads = parse_int(value, "--threads", 0, 256);
        else if (name == "--migrations")
            cfg.migrations_dir = value;
        else if (name == "--registry")
            cfg.registry_file = value;
        else if (name == "--rules")
            cfg.rules_dir = value;
        else if (name == "--notifications")
            cfg.notifications_file = value;
        else if (name == "--web")
            cfg.web.root = value;
        else if (name == "--log-level") {
            validate_log_level(value, "--log-level");
            cfg.log_level = value;
        }
    }
    if (cfg.rules_dir.empty()) cfg.rules_dir = layout.find_dir("rules", "rules");
    if (cfg.notifications_file.empty())
        cfg.notifications_file = layout.find_file("notifications.json", "notifications.json").value_or("");
    if (cfg.web.root.empty()) cfg.web.root = layout.find_web_root();
    if (cfg.web.boundaries_file.empty())
        cfg.web.boundaries_file =
            layout.find_file("demo/shenzhen-districts.geojson", "demo/shenzhen-districts.geojson").value_or("");
    if (cfg.db.url.empty())
        throw config_error("config: db.url: no database given (set CITYGUARD_DB_URL, --db or db.url)");
    return result;
}

}  // namespace cityguard::config
