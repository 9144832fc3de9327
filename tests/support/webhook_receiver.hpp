#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace cityguard::test {

/// A webhook receiver on loopback, as an SMS gateway or a city's message bus would run one:
/// records every request (headers and body) and answers with `statuses` in turn (then 200).
class webhook_receiver {
  public:
    struct request {
        std::string target;
        std::map<std::string, std::string> headers;  ///< lower-case names
        std::string body;
    };

    /// Port 0: any free port. With `tls` (a certificate and key, PEM), it speaks HTTPS.
    struct tls_files {
        std::string certificate;
        std::string key;
    };
    explicit webhook_receiver(
        std::vector<int> statuses = {}, std::uint16_t port = 0, std::optional<tls_files> tls = std::nullopt
    );
    ~webhook_receiver();
    std::uint16_t port() const { return port_; }
    std::string url(const std::string& path = "/notify") const {
        return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::vector<request> requests() const;
    /// Waits until at least `n` requests came (bounded: false after `timeout_ms`).
    bool wait_for(std::size_t n, int timeout_ms = 20'000) const;
    /// While held, a request is recorded and then left unanswered (its connection open) until
    /// release(): a receiver that hangs, to show who waits for it.
    void hold();
    void release();
    /// A vendor's own check: called with each request (before it is recorded), returns the body
    /// to answer with (200, application/json), as a WeChat Work or DingTalk robot answers
    /// {"errcode":0,...} or its error. Set before the first request.
    void answer_with(std::function<std::string(const request&)> vendor) { vendor_ = std::move(vendor); }

  private:
    void serve();

    int listener_ = -1;
    void* tls_ = nullptr;  ///< SSL_CTX*, when serving HTTPS
    std::uint16_t port_ = 0;
    std::vector<int> statuses_;
    mutable std::mutex mutex_;
    std::vector<request> received_;
    std::atomic<bool> stopping_{false};
    bool holding_ = false;  // guarded by mutex_
    mutable std::condition_variable released_;
    std::function<std::string(const request&)> vendor_;
    std::thread thread_;
};

/// A self-signed certificate for 127.0.0.1 made with the openssl command in `dir`
/// (certificate and key), for an HTTPS receiver the server is told to trust via SSL_CERT_FILE.
webhook_receiver::tls_files make_loopback_certificate(const std::string& dir);

/// True when `signature` ("sha256=HEX") is HMAC-SHA256(secret, timestamp + "." + body).
bool valid_signature(
    const std::string& secret, const std::string& timestamp, const std::string& body, const std::string& signature
);

}  // namespace cityguard::test
