#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// The server's own measurements, in the Prometheus text format (docs/operations.md lists them).
/// Counting is a relaxed atomic add: no lock on any hot path. Components own their instruments;
/// the composition root hands a `registry` the collectors that read them at scrape time.
namespace cityguard::metrics {

/// A monotonically increasing count. Any thread.
class counter {
  public:
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

/// Counts observations into fixed buckets (upper bounds, ascending) and keeps their sum. Any
/// thread; a scrape may see an observation's bucket before its sum, which Prometheus tolerates.
class histogram {
  public:
    explicit histogram(std::span<const double> bounds);
    void observe(double value) noexcept;

    struct snapshot {
        std::span<const double> bounds;
        std::vector<std::uint64_t> cumulative;  ///< per bound, then +Inf (= count)
        double sum = 0;
    };
    snapshot read() const;

  private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bound, then +Inf
    std::atomic<double> sum_{0};
};

/// Bucket bounds in seconds for request and commit latencies: 0.5 ms to 10 s.
std::span<const double> latency_buckets() noexcept;
/// Bucket bounds for batch sizes (rows): 1 to 10,000.
std::span<const double> size_buckets() noexcept;

/// Counters keyed by label values that are few and known only at run time (alarm levels and
/// domains, notification channels, close codes). A mutex, so only for paths that are not hot.
class labeled_counter {
  public:
    void add(const std::vector<std::string>& values, std::uint64_t n = 1);
    std::map<std::vector<std::string>, std::uint64_t> read() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::uint64_t> values_;
};

using labels = std::vector<std::pair<std::string, std::string>>;

/// Writes the text exposition format, version 0.0.4: one family (HELP, TYPE) at a time, then
/// its samples. Label values are escaped; numbers are written shortest-exact.
class exposition {
  public:
    enum class type { counter, gauge, histogram };

    void family(std::string_view name, std::string_view help, type t);
    void sample(std::string_view name, const labels& label_values, double value);
    /// The _bucket, _sum and _count samples of one histogram under `labels`.
    void histogram_samples(std::string_view name, const labels& label_values, const histogram::snapshot& s);

    /// Shorthands for a family with one unlabelled sample.
    void single(std::string_view name, std::string_view help, type t, double value);

    const std::string& text() const noexcept { return out_; }
    std::string take() noexcept { return std::move(out_); }

  private:
    void write_labels(const labels& label_values, std::string_view extra_name = {}, std::string_view extra_value = {});
    void write_value(double v);
    std::string out_;
};

/// What a scrape renders: collectors, each writing whole families, in the order added. Set up
/// by the composition root before serving; render() is then safe from any thread.
class registry {
  public:
    using collector = std::function<void(exposition&)>;
    void add(collector c) { collectors_.push_back(std::move(c)); }
    void render(exposition& out) const {
        for (const auto& c : collectors_) c(out);
    }

  private:
    std::vector<collector> collectors_;
};

/// This process: resident and virtual memory, CPU seconds, open and maximum file descriptors,
/// start time and uptime (from /proc/self; families omitted where the system does not tell).
void write_process_metrics(exposition& out, double start_time_seconds, double uptime_seconds);

}  // namespace cityguard::metrics
