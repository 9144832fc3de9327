#pragma once
// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on loopback, started by the
// test and removed afterwards, like the PostgreSQL cluster.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_server.hpp"
#include "test_env.hpp"

namespace cityguard::test {

class alertmanager {
  public:
    static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";
    static bool installed() { return std::filesystem::exists(kBinary); }

    alertmanager() : port_(free_port()) {
        dir_ = std::filesystem::temp_directory_path() /
               ("cityguard-am-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
        std::filesystem::create_directories(dir_ / "data");
        // One route to a receiver that sends nowhere: the test reads the alerts back by the API.
        std::ofstream(dir_ / "alertmanager.yml")
            << "route:\n  receiver: nowhere\n  group_wait: 1s\nreceivers:\n  - name: nowhere\n";
        std::vector<std::string> args{
            kBinary,
            "--config.file=" + (dir_ / "alertmanager.yml").string(),
            "--storage.path=" + (dir_ / "data").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_),
            "--cluster.listen-address=",
            "--log.level=warn"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, kBinary, nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start prometheus-alertmanager");
        for (int i = 0; i < 300; ++i) {
            try {
                http_client c(port_);
                if (c.request("GET", "/-/ready").status == 200) return;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        throw std::runtime_error("prometheus-alertmanager did not become ready");
    }
    ~alertmanager() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    /// GET /api/v2/alerts: the alerts Alertmanager holds as active.
    nlohmann::json alerts() const {
        http_client c(port_);
        auto r = c.request("GET", "/api/v2/alerts");
        if (r.status != 200) throw std::runtime_error("alertmanager: " + r.body);
        return r.json();
    }

  private:
    std::uint16_t port_;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

}  // namespace cityguard::test
