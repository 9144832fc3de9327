#pragma once
// A real Mosquitto broker (Debian's mosquitto) on loopback, with a password per gateway and an
// ACL that lets each gateway publish only under its own topics, as config/mosquitto/ ships it;
// and a publisher made with libmosquitto, the client library most gateways embed.

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "loopback_tool.hpp"

namespace cityguard::test {

class mosquitto_broker {
  public:
    static constexpr const char* kBinary = "/usr/sbin/mosquitto";
    static bool installed() { return std::filesystem::exists(kBinary); }

    /// `users`: name and password; CityGuard's own user reads cityguard/gateways/#, every other
    /// user writes only under cityguard/gateways/<its name>/.
    explicit mosquitto_broker(std::vector<std::pair<std::string, std::string>> users) : tool_("mosquitto") {
        const auto dir = tool_.dir();
        for (std::size_t i = 0; i < users.size(); ++i) {
            const std::string cmd = std::string("mosquitto_passwd -b ") + (i == 0 ? "-c " : "") + "'" +
                                    (dir / "passwd").string() + "' '" + users[i].first + "' '" + users[i].second + "'";
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("mosquitto_passwd failed");
        }
        std::filesystem::permissions(dir / "passwd", std::filesystem::perms(0644));
        std::ofstream(dir / "acl") << "user cityguard\ntopic read cityguard/gateways/#\n\n"
                                   << "pattern write cityguard/gateways/%u/#\n";
        std::ofstream(dir / "mosquitto.conf") << "listener " << tool_.port() << " 127.0.0.1\n"
                                              << "allow_anonymous false\n"
                                              << "password_file " << (dir / "passwd").string() << "\n"
                                              << "acl_file " << (dir / "acl").string() << "\n"
                                              << "persistence false\n"
                                              << "max_queued_messages 100000\n"
                                              << "max_inflight_messages 100\n"
                                              << "log_dest stderr\nlog_type error\nlog_type warning\n";
        start();
    }
    void start() { tool_.start({kBinary, "-c", (tool_.dir() / "mosquitto.conf").string()}, ""); }
    void stop() { tool_.stop(); }
    std::uint16_t port() const { return tool_.port(); }

  private:
    loopback_tool tool_;
};

/// A gateway: connects with its user name and password and publishes at QoS 1, waiting for the
/// broker's acknowledgements.
class mqtt_publisher {
  public:
    mqtt_publisher(std::uint16_t port, const std::string& user, const std::string& password) {
        static const int initialised = mosquitto_lib_init();
        (void)initialised;
        m_ = mosquitto_new((user + "-" + std::to_string(::getpid())).c_str(), true, this);
        if (!m_) throw std::runtime_error("mosquitto_new failed");
        mosquitto_username_pw_set(m_, user.c_str(), password.c_str());
        mosquitto_max_inflight_messages_set(m_, 100);
        mosquitto_publish_callback_set(m_, [](mosquitto*, void* self, int) {
            auto* me = static_cast<mqtt_publisher*>(self);
            std::lock_guard lock(me->mutex_);
            ++me->acknowledged_;
            me->changed_.notify_all();
        });
        if (mosquitto_connect(m_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS)
            throw std::runtime_error("cannot connect to the broker");
        mosquitto_loop_start(m_);
    }
    ~mqtt_publisher() {
        mosquitto_disconnect(m_);
        mosquitto_loop_stop(m_, true);
        mosquitto_destroy(m_);
    }
    mqtt_publisher(const mqtt_publisher&) = delete;
    mqtt_publisher& operator=(const mqtt_publisher&) = delete;

    void publish(const std::string& topic, const std::string& payload) {
        const int rc =
            mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
        if (rc != MOSQ_ERR_SUCCESS) throw std::runtime_error(std::string("publish: ") + mosquitto_strerror(rc));
        std::lock_guard lock(mutex_);
        ++published_;
    }
    /// Waits until the broker acknowledged everything published (false after `timeout`).
    bool wait_acknowledged(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [this] { return acknowledged_ >= published_; });
    }

  private:
    mosquitto* m_ = nullptr;
    std::mutex mutex_;
    std::condition_variable changed_;
    long published_ = 0, acknowledged_ = 0;
};

}  // namespace cityguard::test
