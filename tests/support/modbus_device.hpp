#pragma once
// A Modbus TCP device made with libmodbus, the library CityGuard polls with (as PLC simulators
// are): holding and input registers, coils and discrete inputs the test sets, served on loopback
// from a thread until stop().

#include <modbus/modbus.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "child_server.hpp"

namespace cityguard::test {

class modbus_device {
  public:
    modbus_device() : port_(free_port()), map_(modbus_mapping_new(16, 16, 16, 16)) {
        if (!map_) throw std::runtime_error("modbus_mapping_new failed");
        start();
    }
    ~modbus_device() {
        stop();
        modbus_mapping_free(map_);
    }
    modbus_device(const modbus_device&) = delete;
    modbus_device& operator=(const modbus_device&) = delete;

    std::uint16_t port() const { return port_; }
    void set_holding(int address, std::uint16_t value) {
        std::lock_guard lock(mutex_);
        map_->tab_registers[address] = value;
    }
    /// IEEE 754 in two input registers, the high word first (ABCD), as most PLCs send it. Written
    /// here by hand: libmodbus 3.1.6's modbus_set_float_abcd swaps the bytes of each word on a
    /// little-endian machine.
    void set_input_float(int address, float value) {
        std::uint32_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        std::lock_guard lock(mutex_);
        map_->tab_input_registers[address] = static_cast<std::uint16_t>(bits >> 16);
        map_->tab_input_registers[address + 1] = static_cast<std::uint16_t>(bits & 0xFFFF);
    }
    void set_coil(int address, bool on) {
        std::lock_guard lock(mutex_);
        map_->tab_bits[address] = on ? 1 : 0;
    }
    /// Requests answered so far.
    int answered() const { return answered_; }

    void start() {
        running_ = true;
        ctx_ = modbus_new_tcp("127.0.0.1", port_);
        listener_ = modbus_tcp_listen(ctx_, 1);
        if (listener_ < 0) throw std::runtime_error("modbus_tcp_listen failed");
        thread_ = std::thread([this] { serve(); });
    }
    /// Closes the listener and the connection: the device no longer answers.
    void stop() {
        if (!running_) return;
        running_ = false;
        ::shutdown(listener_, SHUT_RDWR);
        if (const int s = client_.load(); s >= 0) ::shutdown(s, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
        modbus_free(ctx_);
    }

  private:
    void serve() {
        while (running_) {
            int listener = listener_;
            const int s = modbus_tcp_accept(ctx_, &listener);
            if (s < 0) return;
            client_ = s;
            std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
            while (running_) {
                const int n = modbus_receive(ctx_, query);
                if (n == -1) break;
                if (n == 0) continue;
                std::lock_guard lock(mutex_);
                modbus_reply(ctx_, query, n, map_);
                ++answered_;
            }
            client_ = -1;
            modbus_close(ctx_);
        }
    }

    std::uint16_t port_;
    modbus_mapping_t* map_;
    modbus_t* ctx_ = nullptr;
    int listener_ = -1;
    std::atomic<int> client_{-1};
    std::atomic<bool> running_{false};
    std::atomic<int> answered_{0};
    std::mutex mutex_;
    std::thread thread_;
};

}  // namespace cityguard::test
