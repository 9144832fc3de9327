#pragma once
// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on loopback, started by the
// test and removed afterwards, like the PostgreSQL cluster.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "loopback_tool.hpp"
#include "test_env.hpp"

namespace cityguard::test {

class alertmanager {
  public:
    static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";
    static bool installed() { return std::filesystem::exists(kBinary); }

    alertmanager() : tool_("am") {
        // One route to a receiver that sends nowhere: the test reads the alerts back by the API.
        std::ofstream(tool_.dir() / "alertmanager.yml")
            << "route:\n  receiver: nowhere\n  group_wait: 1s\nreceivers:\n  - name: nowhere\n";
        tool_.start(
            {kBinary,
             "--config.file=" + (tool_.dir() / "alertmanager.yml").string(),
             "--storage.path=" + (tool_.dir() / "data").string(),
             "--web.listen-address=" + tool_.listen_address(),
             "--cluster.listen-address=",
             "--log.level=warn"},
            "/-/ready"
        );
    }
    std::uint16_t port() const { return tool_.port(); }
    std::string url() const { return "http://" + tool_.listen_address(); }
    /// GET /api/v2/alerts: the alerts Alertmanager holds as active.
    nlohmann::json alerts() const {
        http_client c(tool_.port(), false);
        auto r = c.request("GET", "/api/v2/alerts");
        if (r.status != 200) throw std::runtime_error("alertmanager: " + r.body);
        return r.json();
    }

  private:
    loopback_tool tool_;
};

}  // namespace cityguard::test
