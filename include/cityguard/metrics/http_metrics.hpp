#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cityguard/metrics/metrics.hpp"

namespace cityguard::metrics {

/// Requests by route, method and status, and their latency, with every series allocated up
/// front: a route is a slot chosen when the request is admitted, a status one of a fixed list,
/// so counting is two relaxed atomic adds and a client cannot create series (its path and
/// method never become label values).
class http_metrics {
  public:
    struct route_label {
        std::string method;
        std::string pattern;  ///< "/api/v1/sites/{id}"
    };
    /// `routes` in the router's order: the slot of the i-th route is i.
    explicit http_metrics(const std::vector<route_label>& routes);
    ~http_metrics();

    /// Slots that are not API routes.
    std::size_t static_files_slot() const noexcept { return routes_; }
    std::size_t feed_slot() const noexcept { return routes_ + 1; }
    /// No route: 404, 405, a malformed request or target, a header over the limit.
    std::size_t unrouted_slot() const noexcept { return routes_ + 2; }

    void observe(std::size_t slot, int status, double seconds) noexcept;
    /// A refusal written before a request was taken whole (no latency worth recording).
    void count(std::size_t slot, int status) noexcept;

    /// Connections refused at accept (per-address or global limit), and unauthenticated ones
    /// closed to make room.
    counter& connections_refused() noexcept { return refused_; }
    counter& connections_evicted() noexcept { return evicted_; }

    void render(exposition& out) const;

  private:
    struct slot;
    std::size_t routes_;
    std::vector<std::unique_ptr<slot>> slots_;
    counter refused_;
    counter evicted_;
};

}  // namespace cityguard::metrics
