#pragma once
// A real Prometheus server (Debian's prometheus) on loopback that scrapes a CityGuard server,
// started by the test and removed afterwards, like the PostgreSQL cluster.

#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_tool.hpp"
#include "test_env.hpp"

namespace cityguard::test {

class prometheus {
  public:
    static constexpr const char* kBinary = "/usr/bin/prometheus";
    static constexpr const char* kPromtool = "/usr/bin/promtool";
    static bool installed() { return std::filesystem::exists(kBinary) && std::filesystem::exists(kPromtool); }

    /// Scrapes 127.0.0.1:target_port/metrics every second, with `bearer` as its key when not empty.
    prometheus(std::uint16_t target_port, const std::string& bearer) : tool_("prom") {
        std::ofstream config(tool_.dir() / "prometheus.yml");
        config << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
               << "scrape_configs:\n  - job_name: cityguard\n    static_configs:\n"
               << "      - targets: ['127.0.0.1:" << target_port << "']\n";
        if (!bearer.empty()) config << "    authorization:\n      credentials: '" << bearer << "'\n";
        config.close();
        tool_.start(
            {kBinary,
             "--config.file=" + (tool_.dir() / "prometheus.yml").string(),
             "--storage.tsdb.path=" + (tool_.dir() / "data").string(),
             "--web.listen-address=" + tool_.listen_address(),
             "--log.level=warn"},
            "/-/ready"
        );
    }

    /// An instant PromQL query: the "result" array of the answer.
    nlohmann::json query(const std::string& promql) const {
        std::string encoded;
        for (unsigned char c : promql) {
            if (std::isalnum(c) || c == '_' || c == '.' || c == '-') {
                encoded += static_cast<char>(c);
            } else {
                constexpr const char* kHex = "0123456789ABCDEF";
                encoded += '%';
                encoded += kHex[c >> 4];
                encoded += kHex[c & 15];
            }
        }
        http_client c(tool_.port(), false);
        auto r = c.request("GET", "/api/v1/query?query=" + encoded);
        if (r.status != 200) throw std::runtime_error("prometheus: " + r.body);
        return r.json()["data"]["result"];
    }

    /// `promtool check metrics` over an exposition: its exit status and output.
    static std::pair<int, std::string> check_metrics(const std::string& text) {
        const auto file = std::filesystem::temp_directory_path() / ("cityguard-metrics-" + std::to_string(::getpid()));
        std::ofstream(file) << text;
        std::string cmd = std::string(kPromtool) + " check metrics < " + file.string() + " 2>&1";
        std::string out;
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p) throw std::runtime_error("cannot run promtool");
        char buf[512];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        const int status = ::pclose(p);
        std::filesystem::remove(file);
        return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
    }

  private:
    loopback_tool tool_;
};

}  // namespace cityguard::test
