#include "webhook_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>

#include "cityguard/util/crypto.hpp"

namespace cityguard::test {

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

/// Reads one HTTP/1.1 request with a Content-Length body (all the dispatcher sends).
bool read_request(const std::function<long(char*, std::size_t)>& receive, webhook_receiver::request& out) {
    std::string data;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t length = 0;
    for (;;) {
        if (header_end == std::string::npos) {
            header_end = data.find("\r\n\r\n");
            if (header_end != std::string::npos) {
                std::size_t line_end = data.find("\r\n");
                const auto first = data.substr(0, line_end);
                const auto sp1 = first.find(' ');
                const auto sp2 = first.find(' ', sp1 + 1);
                out.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
                std::size_t pos = line_end + 2;
                while (pos < header_end) {
                    const auto eol = data.find("\r\n", pos);
                    const auto line = data.substr(pos, eol - pos);
                    const auto colon = line.find(':');
                    if (colon != std::string::npos) {
                        auto value = line.substr(colon + 1);
                        value.erase(0, value.find_first_not_of(' '));
                        out.headers[lower(line.substr(0, colon))] = value;
                    }
                    pos = eol + 2;
                }
                if (auto it = out.headers.find("content-length"); it != out.headers.end())
                    length = std::stoul(it->second);
            }
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + length) {
            out.body = data.substr(header_end + 4, length);
            return true;
        }
        const auto n = receive(buf, sizeof buf);
        if (n <= 0) return false;
        data.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

webhook_receiver::webhook_receiver(std::vector<int> statuses, std::uint16_t port, std::optional<tls_files> tls)
    : statuses_(std::move(statuses)) {
    if (tls) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx || SSL_CTX_use_certificate_file(ctx, tls->certificate.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, tls->key.c_str(), SSL_FILETYPE_PEM) != 1)
            throw std::runtime_error("webhook_receiver: cannot load the TLS certificate");
        tls_ = ctx;
    }
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0)
        throw std::runtime_error("webhook_receiver: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

webhook_receiver::~webhook_receiver() {
    {
        std::lock_guard lock(mutex_);  // so a held request sees it: no wake-up lost
        stopping_ = true;
    }
    released_.notify_all();
    thread_.join();
    ::close(listener_);
    if (tls_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
}

void webhook_receiver::serve() {
    while (!stopping_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) continue;
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        SSL* ssl = nullptr;
        if (tls_) {
            ssl = SSL_new(static_cast<SSL_CTX*>(tls_));
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) != 1) {  // a client that refused our certificate, say
                SSL_free(ssl);
                ::close(fd);
                continue;
            }
        }
        const auto receive = [&](char* buf, std::size_t n) -> long {
            return ssl ? SSL_read(ssl, buf, static_cast<int>(n)) : ::recv(fd, buf, n, 0);
        };
        request req;
        if (read_request(receive, req)) {
            int status = 200;
            const std::string body = vendor_ ? vendor_(req) : std::string("ok");
            {
                std::lock_guard lock(mutex_);
                if (received_.size() < statuses_.size()) status = statuses_[received_.size()];
                received_.push_back(std::move(req));
            }
            {
                std::unique_lock lock(mutex_);
                released_.wait(lock, [&] { return !holding_ || stopping_; });
            }
            const std::string answer = "HTTP/1.1 " + std::to_string(status) +
                                       " X\r\nContent-Length: " + std::to_string(body.size()) +
                                       "\r\nContent-Type: " + (vendor_ ? "application/json" : "text/plain") +
                                       "\r\nConnection: close\r\n\r\n" + body;
            if (ssl)
                SSL_write(ssl, answer.data(), static_cast<int>(answer.size()));
            else
                ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        if (ssl) {
            SSL_shutdown(ssl);
            SSL_free(ssl);
        }
        ::close(fd);
    }
}

void webhook_receiver::hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
}

void webhook_receiver::release() {
    {
        std::lock_guard lock(mutex_);
        holding_ = false;
    }
    released_.notify_all();
}

std::vector<webhook_receiver::request> webhook_receiver::requests() const {
    std::lock_guard lock(mutex_);
    return received_;
}

bool webhook_receiver::wait_for(std::size_t n, int timeout_ms) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mutex_);
            if (received_.size() >= n) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

webhook_receiver::tls_files make_loopback_certificate(const std::string& dir) {
    webhook_receiver::tls_files files{dir + "/receiver.crt", dir + "/receiver.key"};
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        files.key + " -out " + files.certificate + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl could not make a test certificate");
    return files;
}

bool valid_signature(
    const std::string& secret, const std::string& timestamp, const std::string& body, const std::string& signature
) {
    return signature == "sha256=" + util::to_hex(util::hmac_sha256(secret, timestamp + "." + body));
}

}  // namespace cityguard::test
