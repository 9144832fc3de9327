#pragma once
// A real program from Debian's packages (Prometheus, Alertmanager) run by a test on a free
// loopback port, in a scratch directory, until the test ends: started, polled until ready,
// then stopped and its directory removed, like the PostgreSQL cluster.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "child_server.hpp"
#include "test_env.hpp"

namespace cityguard::test {

class loopback_tool {
  public:
    /// Makes the scratch directory (with data/ inside) and picks the port; start() runs it.
    explicit loopback_tool(const std::string& name) : port_(free_port()) {
        dir_ = std::filesystem::temp_directory_path() /
               ("cityguard-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
        std::filesystem::create_directories(dir_ / "data");
    }
    ~loopback_tool() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    loopback_tool(const loopback_tool&) = delete;
    loopback_tool& operator=(const loopback_tool&) = delete;

    /// Runs args[0] with args and waits (30 s at most) until GET ready_path answers 200, or,
    /// with an empty ready_path, until the port takes a TCP connection.
    void start(std::vector<std::string> args, const std::string& ready_path) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("cannot start " + args[0]);
        for (int i = 0; i < 300; ++i) {
            try {
                if (ready_path.empty()) {
                    boost::asio::io_context ioc;
                    boost::asio::ip::tcp::socket probe(ioc);
                    probe.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
                    return;
                }
                http_client c(port_, false);
                if (c.request("GET", ready_path).status == 200) return;
            } catch (const std::exception&) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        throw std::runtime_error(args[0] + " did not become ready");
    }

    /// Stops the program (SIGTERM) and waits for it; start() may run it again on the same port.
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    std::uint16_t port() const { return port_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::string listen_address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    std::uint16_t port_;
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

}  // namespace cityguard::test
