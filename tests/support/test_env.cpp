#include "test_env.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>

#include "cityguard/util/time.hpp"

namespace cityguard::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

std::string cluster_dsn() {
    if (const char* d = std::getenv("CITYGUARD_TEST_DSN"); d && *d) return d;
    if (const char* f = std::getenv("CITYGUARD_TEST_DSN_FILE"); f && *f) {
        // Under ctest the fixture must have written it: a missing file is a failure, not a skip.
        std::ifstream in(f);
        std::string line;
        if (!std::getline(in, line) || line.empty())
            throw std::runtime_error(
                std::string("CITYGUARD_TEST_DSN_FILE ") + f + " is missing: did pg_cluster_start fail?"
            );
        return line;
    }
    return {};
}

scratch_database::scratch_database() {
    static std::atomic<int> counter{0};
    name_ = "cg_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    const std::string base = cluster_dsn();
    if (base.empty()) return;
    pqxx::connection c(base + " dbname=postgres");
    pqxx::nontransaction tx(c);
    tx.exec("CREATE DATABASE " + name_);
    url_ = base + " dbname=" + name_;
}

scratch_database::~scratch_database() {
    if (url_.empty()) return;
    try {
        pqxx::connection c(cluster_dsn() + " dbname=postgres");
        pqxx::nontransaction tx(c);
        tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
        // The cluster itself is removed by the fixture; a leftover database does no harm.
    }
}

std::string scratch_database::query_value(const std::string& sql) const {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].as<std::string>();
}

void scratch_database::exec(const std::string& sql) const {
    pqxx::connection c(url_);
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}

namespace {
void exec_on_postgres(const std::string& sql) {
    pqxx::connection c(cluster_dsn() + " dbname=postgres");
    pqxx::nontransaction tx(c);
    tx.exec(sql);
}
}  // namespace

void scratch_database::cut_connections(bool refuse_new) const {
    if (refuse_new) exec_on_postgres("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS false");
    exec_on_postgres("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ + "'");
}

void scratch_database::allow_connections() const {
    exec_on_postgres("ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS true");
}

nlohmann::json http_result::json() const { return nlohmann::json::parse(body, nullptr, false); }

struct http_client::impl {
    std::uint16_t port;
    bool cityguard = true;
    net::io_context ioc;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    void connect() {
        stream.emplace(ioc);
        stream->connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        buffer.clear();
    }
};

http_client::http_client(std::uint16_t port, bool cityguard) : impl_(std::make_unique<impl>()) {
    impl_->port = port;
    impl_->cityguard = cityguard;
}
http_client::~http_client() = default;

namespace {

/// Where answers are logged for the contract check: CITYGUARD_CONTRACT_DIR, else contract/ beside
/// the cluster's state directory when CTest made it (tests/CMakeLists.txt); empty: not logged.
std::string contract_dir() {
    if (const char* dir = std::getenv("CITYGUARD_CONTRACT_DIR")) return dir;
    const char* dsn_file = std::getenv("CITYGUARD_TEST_DSN_FILE");
    if (!dsn_file) return "";
    const auto dir = std::filesystem::path(dsn_file).parent_path().parent_path() / "contract";
    std::error_code ec;
    return std::filesystem::is_directory(dir, ec) ? dir.string() : "";
}

/// Every answer a test receives is appended to a file of this process in contract_dir(), one
/// JSON line each; the contract_validate test then checks them all against docs/openapi.json
/// (tests/contract/validate.mjs).
void record_exchange(const std::string& method, const std::string& target, const http_result& res) {
    static const std::string dir = contract_dir();
    if (dir.empty()) return;
    static std::mutex mutex;
    static std::ofstream out(dir + "/" + std::to_string(::getpid()) + ".jsonl", std::ios::app);
    auto type = res.headers.find("Content-Type");
    const nlohmann::json line{
        {"method", method},
        {"target", target},
        {"status", res.status},
        {"content_type", type == res.headers.end() ? "" : type->second},
        {"retry_after", res.headers.count("Retry-After") > 0},
        {"body", res.body}};
    std::lock_guard lock(mutex);
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out.flush();
}

}  // namespace

http_result http_client::request(
    const std::string& method,
    const std::string& target,
    const std::string& body,
    const std::map<std::string, std::string>& headers
) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!impl_->stream) impl_->connect();
        bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        for (const auto& [k, v] : headers) req.set(k, v);
        req.body() = body;
        req.prepare_payload();
        beast::error_code ec;
        bhttp::write(*impl_->stream, req, ec);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        if (!ec) bhttp::read(*impl_->stream, impl_->buffer, parser, ec);
        if (ec) {
            // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
            impl_->stream.reset();
            if (attempt == 0) continue;
            throw std::runtime_error("http request failed: " + ec.message());
        }
        auto res = parser.release();
        http_result out;
        out.status = static_cast<int>(res.result_int());
        for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
        out.body = std::move(res.body());
        if (!res.keep_alive()) impl_->stream.reset();
        if (impl_->cityguard) record_exchange(method, target, out);
        return out;
    }
    throw std::runtime_error("unreachable");
}

http_result http_client::call(
    const std::string& method, const std::string& target, const std::string& key, const std::string& body
) {
    std::map<std::string, std::string> headers;
    if (!key.empty()) headers["Authorization"] = "Bearer " + key;
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return request(method, target, body, headers);
}

std::string one_reading(const std::string& sensor, std::int64_t ts, double value) {
    return nlohmann::json{{"readings", {{{"sensor", sensor}, {"ts", util::format_rfc3339(ts)}, {"value", value}}}}}
        .dump();
}

config::config test_config(const std::string& db_url) {
    config::config cfg;
    cfg.listen_host = "127.0.0.1";
    cfg.listen_port = 0;
    cfg.threads = 2;
    cfg.log_level = "warn";
    cfg.db.url = db_url;
    cfg.db.pool_size = 2;
    cfg.auth.admin_key = kAdminKey;
    cfg.auth.admin_key_file = "/nonexistent/never-written";
    // Argon2id at a test's cost: the hashes are as real, the memory and passes smaller.
    cfg.auth.argon2_mem_kib = 8192;
    cfg.auth.argon2_ops = 1;
    cfg.http.shutdown_timeout_ms = 5000;
    cfg.rules_dir = CITYGUARD_SOURCE_DIR "/config/rules";
    cfg.notifications_file = CITYGUARD_SOURCE_DIR "/tests/support/quiet_notifications.json";
    return cfg;
}

test_server::test_server(std::optional<config::config> cfg) : cfg_(cfg ? *cfg : test_config(db_.url())) {
    cfg_.db.url = db_.url();
    app_ = std::make_unique<app::app>(cfg_);
    app_->start();
}

test_server::~test_server() { stop(); }

void test_server::stop() {
    if (app_) app_->stop();
}

void test_server::restart() {
    app_->stop();
    app_.reset();
    app_ = std::make_unique<app::app>(cfg_);
    app_->start();
}

std::string test_server::make_key(const std::string& name, const std::string& role) {
    auto c = client();
    auto r = c.call("POST", "/api/v1/keys", kAdminKey, nlohmann::json{{"name", name}, {"role", role}}.dump());
    if (r.status != 201) throw std::runtime_error("make_key failed: " + r.body);
    return r.json()["key"].get<std::string>();
}

void test_server::register_sensors(const std::string& site, const std::vector<std::string>& sensors) {
    nlohmann::json body{{"sites", nlohmann::json::array()}, {"sensors", nlohmann::json::array()}};
    body["sites"].push_back(
        {{"id", site},
         {"name", "站点 " + site},
         {"domain", "gas_pipeline"},
         {"district", "福田区"},
         {"lat", 22.54},
         {"lon", 114.05}}
    );
    for (const auto& s : sensors)
        body["sensors"].push_back({{"id", s}, {"site", site}, {"kind", "gas_lel"}, {"unit", "%LEL"}, {"interval_s", 30}}
        );
    auto c = client();
    auto r = c.call("POST", "/api/v1/registry", kAdminKey, body.dump());
    if (r.status != 200) throw std::runtime_error("register_sensors failed: " + r.body);
}

}  // namespace cityguard::test
