#include "cityguard/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include "cityguard/metrics/http_metrics.hpp"

namespace m = cityguard::metrics;

TEST(MetricsExposition, WritesFamiliesEscapedLabelsAndShortestNumbers) {
    m::exposition out;
    out.family("x_total", "Things.", m::exposition::type::counter);
    out.sample("x_total", {{"name", "a\"b\\c\nd"}}, 3);
    out.sample("x_total", {}, 0.25);
    EXPECT_EQ(
        out.text(),
        "# HELP x_total Things.\n# TYPE x_total counter\nx_total{name=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.25\n"
    );
}

TEST(MetricsHistogram, BucketsAreCumulativeAndEndWithInfinity) {
    const double bounds[] = {1, 5};
    m::histogram h(bounds);
    h.observe(0.5);
    h.observe(1);  // on the bound: le="1" includes it
    h.observe(3);
    h.observe(100);
    m::exposition out;
    out.histogram_samples("h", {{"k", "v"}}, h.read());
    EXPECT_EQ(
        out.text(),
        "h_bucket{k=\"v\",le=\"1\"} 2\nh_bucket{k=\"v\",le=\"5\"} 3\nh_bucket{k=\"v\",le=\"+Inf\"} 4\n"
        "h_sum{k=\"v\"} 104.5\nh_count{k=\"v\"} 4\n"
    );
}

TEST(HttpMetrics, CountsByRouteSlotAndKnownStatusOnly) {
    const std::vector<m::http_metrics::route_label> routes{{"GET", "/api/v1/sites/{id}"}};
    m::http_metrics metrics(routes);
    metrics.observe(0, 200, 0.001);
    metrics.observe(0, 200, 0.002);
    metrics.observe(metrics.unrouted_slot(), 404, 0.0001);
    metrics.observe(metrics.unrouted_slot(), 799, 0.0001);  // not a status we send: "other"
    metrics.count(9999, 400);                               // past the last slot: the unrouted one
    m::exposition out;
    metrics.render(out);
    const auto& t = out.text();
    EXPECT_NE(
        t.find("cityguard_http_requests_total{route=\"/api/v1/sites/{id}\",method=\"GET\",code=\"200\"} 2\n"),
        std::string::npos
    ) << t;
    EXPECT_NE(t.find("{route=\"(unrouted)\",method=\"\",code=\"404\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("{route=\"(unrouted)\",method=\"\",code=\"other\"} 1\n"), std::string::npos);
    EXPECT_NE(t.find("{route=\"(unrouted)\",method=\"\",code=\"400\"} 1\n"), std::string::npos);
    EXPECT_EQ(t.find("799"), std::string::npos);
}
