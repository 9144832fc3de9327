#pragma once
// The real server binary as a child process, for tests that kill it or run two servers.

#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_env.hpp"

extern char** environ;

namespace cityguard::test {

/// The real server binary, run as a child process.
class child_server {
  public:
    /// Extra command-line flags go after the standard ones.
    child_server(const std::string& db_url, std::uint16_t port, const std::vector<std::string>& extra = {})
        : port_(port) {
        const std::string listen = "127.0.0.1:" + std::to_string(port);
        // The quiet notification file unless `extra` names another (the last flag wins).
        std::vector<std::string> args{
            CITYGUARD_BINARY,
            "--db",
            db_url,
            "--listen",
            listen,
            "--log-level",
            "warn",
            "--threads",
            "2",
            "--notifications",
            CITYGUARD_SOURCE_DIR "/tests/support/quiet_notifications.json"};
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        std::vector<std::string> env_store;
        for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
        env_store.push_back(std::string("CITYGUARD_ADMIN_KEY=") + kAdminKey);
        // Freed memory goes back to use soon, so RSS measures what the server holds (the
        // default quarantine alone would keep up to 256 MB of freed blocks).
        env_store.push_back("ASAN_OPTIONS=quarantine_size_mb=8:detect_leaks=1");
        std::vector<char*> envp;
        for (auto& e : env_store) envp.push_back(e.data());
        envp.push_back(nullptr);
        if (posix_spawn(&pid_, CITYGUARD_BINARY, nullptr, nullptr, argv.data(), envp.data()) != 0)
            throw std::runtime_error("cannot start " CITYGUARD_BINARY);
    }
    ~child_server() {
        if (pid_ > 0) kill_now();
    }
    /// Polls /readyz; bounded so a broken build fails instead of hanging.
    bool wait_ready() {
        for (int i = 0; i < 600; ++i) {
            try {
                http_client c(port_);
                if (c.request("GET", "/readyz").status == 200) return true;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    void kill_now() {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    int terminate() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    pid_t pid() const noexcept { return pid_; }
    /// Resident memory of the server process in KiB (VmRSS), 0 if it is gone.
    std::size_t rss_kib() const {
        std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
        return 0;
    }
    /// True while the process runs (it has not died on its own).
    bool alive() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

  private:
    pid_t pid_ = -1;
    std::uint16_t port_;
};

/// A port that was free a moment ago.
std::uint16_t free_port();

}  // namespace cityguard::test
