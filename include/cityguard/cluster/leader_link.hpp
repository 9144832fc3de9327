#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

/// A follower's connections to the leader (docs/scaling.md): a bounded pool of persistent
/// HTTP/1.1 connections over which writes are forwarded. Plain TCP: instances talk on the
/// cluster's own network; requests carry the cluster token. No Beast types here.
namespace cityguard::cluster {

struct forwarded_request {
    std::string method;
    std::string target;  ///< as the client sent it: path and query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct forwarded_response {
    int status = 0;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< end-to-end headers worth passing on
};

/// No answer from the leader: not known, not reachable, too slow, or the pool is full.
class link_error : public std::runtime_error {
  public:
    enum class kind {
        busy,         ///< every connection in use and cluster.max_queued_forwards waiting already
        unreachable,  ///< no leader known, or no connection to it: nothing was sent
        no_answer,    ///< sent, but no (whole) answer in time: the leader may have done it
    };
    link_error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
    kind why() const noexcept { return kind_; }
    bool busy() const noexcept { return kind_ == kind::busy; }

  private:
    kind kind_;
};

class leader_link {
  public:
    struct limits {
        std::size_t connections = 16;    ///< persistent connections at most
        std::size_t max_waiting = 1024;  ///< requests waiting for a connection; beyond: busy
        int timeout_ms = 10'000;         ///< one forwarded exchange, waiting for a connection included
        std::size_t max_response_bytes = 64 * 1024 * 1024;
    };

    leader_link(boost::asio::io_context& ioc, limits lim);
    ~leader_link();
    leader_link(const leader_link&) = delete;
    leader_link& operator=(const leader_link&) = delete;

    /// Where the leader listens ("http://host:port"), or "" when no instance leads. A new
    /// address drops the pooled connections to the old one. Any thread.
    void set_leader(const std::string& url);
    std::string leader() const;

    /// Sends `req` to the leader and returns its answer, whatever the status. A pooled
    /// connection the leader had closed is replaced once, before anything was read from it.
    /// Throws link_error.
    boost::asio::awaitable<forwarded_response> send(const forwarded_request& req);

    /// Connections open now (idle and in use), for /metrics.
    std::size_t connections() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace cityguard::cluster
