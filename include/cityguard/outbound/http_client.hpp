#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

/// Requests this server makes to others (webhook receivers, Alertmanager): Beast over TCP or
/// TLS (OpenSSL, the system's CA certificates, host name checked). No Beast types here.
namespace cityguard::outbound {

struct http_request {
    std::string url;  ///< http://host[:port]/path or https://...
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string content_type = "application/json";
    int timeout_ms = 5000;  ///< the whole exchange: resolve, connect, TLS, write, read
};

struct http_result {
    int status = 0;
    std::string body;  ///< at most max_response_bytes of it
};

/// A failed exchange: what() says which step and why, without the request's body.
class http_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class http_client {
  public:
    explicit http_client(boost::asio::io_context& ioc, std::size_t max_response_bytes = 64 * 1024);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// POSTs `req`; throws http_error on a bad URL, a failed connection, a timeout or a response
    /// that is not HTTP. Any status is a result.
    boost::asio::awaitable<http_result> post(http_request req);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace cityguard::outbound
