#include "cityguard/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace cityguard::config;

namespace {
env_lookup env_of(std::map<std::string, std::string> vars) {
    return [vars](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}
std::string error_of(const std::string& json) {
    config cfg;
    try {
        apply_json(cfg, json);
    } catch (const config_error& e) {
        return e.what();
    }
    return "";
}
// Nothing installed on this machine (an /etc/cityguard/cityguard.json left by a package) may
// change what these tests load: no compiled-in install paths, only the executable's own tree.
load_result load_here(const std::vector<std::string>& args, const env_lookup& env, const std::string& exe_dir) {
    return load(args, env, exe_dir, install_paths{});
}
}  // namespace

TEST(Config, DefaultsAreSane) {
    config cfg;
    EXPECT_EQ(cfg.listen_port, 8080);
    EXPECT_EQ(cfg.http.body_limit, 8u * 1024 * 1024);
    EXPECT_EQ(cfg.ingest.max_readings_per_request, 10000u);
}

// Comments are allowed in a configuration document (the shipped files are
// TheShippedConfigFileIsValidAndMatchesTheDefaults and ThePackagedConfigFileIsValid).
TEST(Config, ACommentedDocumentParses) {
    config cfg;
    EXPECT_NO_THROW(apply_json(cfg, R"(// comment
        {"listen":"0.0.0.0:9000","http":{"body_limit":2048},"ingest":{"max_batch_rows":5}})"));
    EXPECT_EQ(cfg.listen_host, "0.0.0.0");
    EXPECT_EQ(cfg.listen_port, 9000);
    EXPECT_EQ(cfg.http.body_limit, 2048u);
    EXPECT_EQ(cfg.ingest.max_batch_rows, 5u);
}

TEST(Config, TheShippedConfigFileIsValidAndMatchesTheDefaults) {
    std::ifstream in(CITYGUARD_SOURCE_DIR "/config/cityguard.json");
    std::stringstream text;
    text << in.rdbuf();
    config from_file;
    ASSERT_NO_THROW(apply_json(from_file, text.str()));
    const config defaults;
    EXPECT_EQ(from_file.http.body_limit, defaults.http.body_limit);
    EXPECT_EQ(from_file.ingest.max_pending_rows, defaults.ingest.max_pending_rows);
    EXPECT_EQ(from_file.alarms.tick_ms, defaults.alarms.tick_ms);
    EXPECT_EQ(from_file.listen_port, defaults.listen_port);
    // The limits of docs/security.md.
    EXPECT_EQ(from_file.http.max_connections_per_client, defaults.http.max_connections_per_client);
    EXPECT_EQ(from_file.http.reserved_connections, defaults.http.reserved_connections);
    EXPECT_EQ(from_file.http.max_body_bytes_in_flight, defaults.http.max_body_bytes_in_flight);
    EXPECT_EQ(from_file.http.json_max_depth, defaults.http.json_max_depth);
    EXPECT_EQ(from_file.http.inline_parse_bytes, defaults.http.inline_parse_bytes);
    EXPECT_EQ(from_file.feed.max_output_bytes_total, defaults.feed.max_output_bytes_total);
    EXPECT_EQ(from_file.feed.max_queued_bytes, defaults.feed.max_queued_bytes);
    EXPECT_EQ(from_file.feed.socket_send_buffer, defaults.feed.socket_send_buffer);
    EXPECT_EQ(from_file.feed.max_client_messages_per_s, defaults.feed.max_client_messages_per_s);
    EXPECT_EQ(from_file.resources.team_speed_kmh, defaults.resources.team_speed_kmh);
    EXPECT_EQ(from_file.resources.shelter_speed_kmh, defaults.resources.shelter_speed_kmh);
    EXPECT_EQ(from_file.resources.circle_s, defaults.resources.circle_s);
    EXPECT_EQ(from_file.resources.max_nearby_per_kind, defaults.resources.max_nearby_per_kind);
    EXPECT_EQ(from_file.metrics.access, defaults.metrics.access);
    EXPECT_EQ(from_file.cluster.poll_ms, defaults.cluster.poll_ms);
    EXPECT_EQ(from_file.cluster.forward_connections, defaults.cluster.forward_connections);
    EXPECT_EQ(from_file.cluster.forward_timeout_ms, defaults.cluster.forward_timeout_ms);
}

TEST(Config, ClusterKeys) {
    config cfg;
    apply_json(cfg, R"({"cluster":{"advertise_url":"http://10.0.0.5:8080","poll_ms":250}})");
    EXPECT_EQ(cfg.cluster.advertise_url, "http://10.0.0.5:8080");
    EXPECT_EQ(cfg.cluster.poll_ms, 250);
    // The token is a secret: the environment only.
    EXPECT_NE(
        error_of(R"({"cluster":{"token":"0123456789abcdef"}})").find("cluster.token: unknown key"), std::string::npos
    );
    EXPECT_NE(
        error_of(R"({"cluster":{"advertise_url":"10.0.0.5:8080"}})").find("cluster.advertise_url"), std::string::npos
    );
    EXPECT_NE(error_of(R"({"cluster":{"poll_ms":0}})").find("cluster.poll_ms"), std::string::npos);
    EXPECT_NE(error_of(R"({"cluster":{"leader":"me"}})").find("cluster.leader: unknown key"), std::string::npos);
    auto r = load_here(
        {},
        env_of(
            {{"CITYGUARD_DB_URL", "host=x"},
             {"CITYGUARD_CLUSTER_TOKEN", "shared-by-instances-0123"},
             {"CITYGUARD_ADVERTISE_URL", "http://10.0.0.6:8080"}}
        ),
        "/nonexistent"
    );
    EXPECT_EQ(r.cfg.cluster.token, "shared-by-instances-0123");
    EXPECT_EQ(r.cfg.cluster.advertise_url, "http://10.0.0.6:8080");
    try {
        load_here({}, env_of({{"CITYGUARD_DB_URL", "host=x"}, {"CITYGUARD_CLUSTER_TOKEN", "short"}}), "/nonexistent");
        ADD_FAILURE() << "a short cluster token was accepted";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("CITYGUARD_CLUSTER_TOKEN"), std::string::npos);
    }
}

TEST(Config, BadValuesNameTheKey) {
    EXPECT_NE(error_of(R"({"http":{"body_limit":-1}})").find("http.body_limit"), std::string::npos);
    EXPECT_NE(error_of(R"({"http":{"body_limit":"big"}})").find("http.body_limit"), std::string::npos);
    EXPECT_NE(error_of(R"({"db":{"pool_size":0}})").find("db.pool_size"), std::string::npos);
    EXPECT_NE(error_of(R"({"listen":"nonsense"})").find("listen"), std::string::npos);
    EXPECT_NE(error_of(R"({"log_level":"loud"})").find("log_level"), std::string::npos);
    EXPECT_NE(error_of(R"({"http":5})").find("http"), std::string::npos);
    EXPECT_NE(error_of("{not json").find("not valid JSON"), std::string::npos);
    // fuzz_config's first crash: a number beyond double range threw out_of_range, not parse_error.
    EXPECT_NE(
        error_of("// \": \"170.0.0.1:8080\",\n11111111111111e1111111111111111111QlQ").find("not valid JSON"),
        std::string::npos
    );
    EXPECT_NE(error_of(R"({"threads":1e999})").find("not valid JSON"), std::string::npos);
    EXPECT_NE(
        error_of(R"({"http":{"max_connections":10,"reserved_connections":10}})").find("http.reserved_connections"),
        std::string::npos
    );
    EXPECT_NE(error_of(R"({"http":{"json_max_depth":1}})").find("http.json_max_depth"), std::string::npos);
    // The key look-up limits of earlier versions are read and ignored (keys are held in memory).
    EXPECT_EQ(error_of(R"({"auth":{"max_lookups_per_client_per_s":10,"negative_cache_ttl_s":30}})"), "");
    EXPECT_NE(
        error_of(R"({"feed":{"max_output_bytes_total":1}})").find("feed.max_output_bytes_total"), std::string::npos
    );
    EXPECT_NE(
        error_of(R"({"resources":{"speed_kmh":{"team":0}}})").find("resources.speed_kmh.team"), std::string::npos
    );
    EXPECT_NE(
        error_of(R"({"resources":{"speed_kmh":{"boat":10}}})").find("resources.speed_kmh.boat: unknown key"),
        std::string::npos
    );
    EXPECT_NE(
        error_of(R"({"resources":{"nearby_per_kind":60,"max_nearby_per_kind":50}})").find("resources.nearby_per_kind"),
        std::string::npos
    );
}

TEST(Config, RetentionMustOutlastTheOldestReadingTheServerAccepts) {
    EXPECT_NE(error_of(R"({"storage": {"retention_days": 366}})").find("storage.retention_days"), std::string::npos);
    EXPECT_EQ(error_of(R"({"storage": {"retention_days": 0}})"), "") << "0 keeps readings forever";
    EXPECT_EQ(error_of(R"({"storage": {"retention_days": 30}, "ingest": {"max_age_days": 7}})"), "");
}

TEST(Config, UnknownKeysAreRefused) {
    EXPECT_NE(error_of(R"({"htpp":{}})").find("htpp: unknown key"), std::string::npos);
    EXPECT_NE(error_of(R"({"ingest":{"max_batch":1}})").find("ingest.max_batch: unknown key"), std::string::npos);
}

TEST(Config, EnvironmentThenFlagsOverride) {
    auto r = load_here(
        {"--listen", "127.0.0.1:0", "--threads=3"},
        env_of(
            {{"CITYGUARD_DB_URL", "host=x"},
             {"CITYGUARD_LISTEN", "127.0.0.1:7000"},
             {"CITYGUARD_ADMIN_KEY", "0123456789abcdef"}}
        ),
        "/nonexistent"
    );
    EXPECT_EQ(r.cfg.db.url, "host=x");
    EXPECT_EQ(r.cfg.listen_port, 0);
    EXPECT_EQ(r.cfg.threads, 3);
    EXPECT_EQ(r.cfg.auth.admin_key, "0123456789abcdef");
    auto flags = load_here({"--db", "host=y"}, env_of({{"CITYGUARD_DB_URL", "host=x"}}), "/nonexistent");
    EXPECT_EQ(flags.cfg.db.url, "host=y");
}

TEST(Config, CommandLineErrors) {
    EXPECT_THROW(load_here({"--bogus"}, env_of({{"CITYGUARD_DB_URL", "x"}}), "/nonexistent"), config_error);
    EXPECT_THROW(load_here({"--listen"}, env_of({{"CITYGUARD_DB_URL", "x"}}), "/nonexistent"), config_error);
    EXPECT_THROW(load_here({}, env_of({}), "/nonexistent"), config_error);  // no database
    EXPECT_THROW(
        load_here({}, env_of({{"CITYGUARD_DB_URL", "x"}, {"CITYGUARD_ADMIN_KEY", "short"}}), "/nonexistent"),
        config_error
    );
    EXPECT_THROW(load_here({"--config", "/nonexistent/file.json"}, env_of({}), "/"), config_error);
    EXPECT_EQ(load_here({"--help"}, env_of({}), "/").action, cli_action::help);
    EXPECT_EQ(load_here({"--version"}, env_of({}), "/").action, cli_action::version);
}

TEST(Config, AnInstalledBinaryFindsItsFilesUnderItsPrefixWithoutFlags) {
    namespace fs = std::filesystem;
    const fs::path prefix = fs::temp_directory_path() / ("cityguard-prefix-" + std::to_string(::getpid()));
    fs::create_directories(prefix / "bin");
    fs::create_directories(prefix / "share/cityguard/rules");
    fs::create_directories(prefix / "share/cityguard/web");
    fs::create_directories(prefix / "share/cityguard/demo");
    fs::create_directories(prefix / "etc/cityguard");
    std::ofstream(prefix / "share/cityguard/notifications.json") << "{}";
    std::ofstream(prefix / "share/cityguard/web/index.html") << "<html>";
    std::ofstream(prefix / "share/cityguard/demo/shenzhen-districts.geojson") << "{}";
    std::ofstream(prefix / "etc/cityguard/cityguard.json") << R"({"db": {"url": "host=from-etc"}, "threads": 3})";

    auto r = load_here({}, env_of({}), (prefix / "bin").string());
    EXPECT_EQ(r.config_path, (prefix / "etc/cityguard/cityguard.json").string());
    EXPECT_EQ(r.cfg.db.url, "host=from-etc");
    EXPECT_EQ(r.cfg.threads, 3);
    EXPECT_EQ(r.cfg.rules_dir, (prefix / "share/cityguard/rules").string());
    EXPECT_EQ(r.cfg.notifications_file, (prefix / "share/cityguard/notifications.json").string());
    EXPECT_EQ(r.cfg.web.root, (prefix / "share/cityguard/web").string());
    EXPECT_EQ(r.cfg.web.boundaries_file, (prefix / "share/cityguard/demo/shenzhen-districts.geojson").string());
    fs::remove_all(prefix);
}

TEST(Config, ThePackagedConfigFileIsValid) {
    std::ifstream in(CITYGUARD_SOURCE_DIR "/packaging/cityguard.json");
    ASSERT_TRUE(in) << "packaging/cityguard.json";
    std::stringstream text;
    text << in.rdbuf();
    config cfg;
    EXPECT_NO_THROW(apply_json(cfg, text.str()));
}

TEST(Config, TheConfiguredPrefixIsTheLastPlaceLookedAndOnlyWhenGiven) {
    namespace fs = std::filesystem;
    const fs::path etc = fs::temp_directory_path() / ("cityguard-etc-" + std::to_string(::getpid()));
    fs::create_directories(etc);
    std::ofstream(etc / "cityguard.json") << R"({"db": {"url": "host=from-configured-prefix"}})";
    install_paths where;
    where.sysconfdir = etc.string();
    const auto found = load({}, env_of({}), "/nonexistent", where);
    EXPECT_EQ(found.config_path, (etc / "cityguard.json").string());
    EXPECT_EQ(found.cfg.db.url, "host=from-configured-prefix");
    // Without install paths nothing outside the executable's tree is read: no database, so it throws.
    EXPECT_THROW(load({}, env_of({}), "/nonexistent", install_paths{}), config_error);
    fs::remove_all(etc);
}
