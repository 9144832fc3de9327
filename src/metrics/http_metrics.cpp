#include "cityguard/metrics/http_metrics.hpp"

#include <algorithm>
#include <array>

namespace cityguard::metrics {

namespace {

// Every status the server sends; anything else counts as "other" (never a client's number).
constexpr std::array<int, 27> kStatuses{101, 200, 201, 202, 204, 206, 304, 400, 401, 403, 404, 405, 406, 408,
                                        409, 410, 411, 413, 414, 415, 422, 426, 429, 431, 500, 501, 503};
constexpr std::size_t kOtherStatus = kStatuses.size();

std::size_t status_index(int status) noexcept {
    const auto it = std::lower_bound(kStatuses.begin(), kStatuses.end(), status);
    return (it != kStatuses.end() && *it == status) ? static_cast<std::size_t>(it - kStatuses.begin()) : kOtherStatus;
}

}  // namespace

struct http_metrics::slot {
    explicit slot(route_label l) : label(std::move(l)), latency(latency_buckets()) {}
    route_label label;
    std::array<counter, kStatuses.size() + 1> by_status;
    histogram latency;
};

http_metrics::http_metrics(const std::vector<route_label>& routes) : routes_(routes.size()) {
    for (const auto& r : routes) slots_.push_back(std::make_unique<slot>(r));
    slots_.push_back(std::make_unique<slot>(route_label{"GET", "(static)"}));
    slots_.push_back(std::make_unique<slot>(route_label{"GET", "/api/v1/feed"}));
    slots_.push_back(std::make_unique<slot>(route_label{"", "(unrouted)"}));
}

http_metrics::~http_metrics() = default;

void http_metrics::observe(std::size_t slot_index, int status, double seconds) noexcept {
    auto& s = *slots_[std::min(slot_index, slots_.size() - 1)];
    s.by_status[status_index(status)].add();
    s.latency.observe(seconds);
}

void http_metrics::count(std::size_t slot_index, int status) noexcept {
    slots_[std::min(slot_index, slots_.size() - 1)]->by_status[status_index(status)].add();
}

void http_metrics::render(exposition& out) const {
    using t = exposition::type;
    out.family(
        "cityguard_http_requests_total", "HTTP requests answered, by route pattern, method and status.", t::counter
    );
    for (const auto& s : slots_)
        for (std::size_t i = 0; i < s->by_status.size(); ++i)
            if (const auto n = s->by_status[i].value())
                out.sample(
                    "cityguard_http_requests_total",
                    {{"route", s->label.pattern},
                     {"method", s->label.method},
                     {"code", i < kStatuses.size() ? std::to_string(kStatuses[i]) : "other"}},
                    static_cast<double>(n)
                );
    out.family(
        "cityguard_http_request_duration_seconds",
        "Time from a request's header to its answer written, by route pattern and method.",
        t::histogram
    );
    for (const auto& s : slots_) {
        auto snap = s->latency.read();
        if (snap.cumulative.back() == 0) continue;
        out.histogram_samples(
            "cityguard_http_request_duration_seconds", {{"route", s->label.pattern}, {"method", s->label.method}}, snap
        );
    }
    out.single(
        "cityguard_http_connections_refused_total",
        "Connections refused at accept (http.max_connections, http.max_connections_per_client).",
        t::counter,
        static_cast<double>(refused_.value())
    );
    out.single(
        "cityguard_http_connections_evicted_total",
        "Unauthenticated connections closed to make room for another client.",
        t::counter,
        static_cast<double>(evicted_.value())
    );
}

}  // namespace cityguard::metrics
