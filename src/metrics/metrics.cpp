#include "cityguard/metrics/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace cityguard::metrics {

namespace {

constexpr std::array<double, 14> kLatencyBounds{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr std::array<double, 13> kSizeBounds{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};

std::string_view type_name(exposition::type t) {
    switch (t) {
        case exposition::type::counter:
            return "counter";
        case exposition::type::gauge:
            return "gauge";
        case exposition::type::histogram:
            return "histogram";
    }
    return "untyped";
}

}  // namespace

std::span<const double> latency_buckets() noexcept { return kLatencyBounds; }
std::span<const double> size_buckets() noexcept { return kSizeBounds; }

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double value) noexcept {
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
    counts_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    if (std::isfinite(value)) sum_.fetch_add(value, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
    snapshot s{bounds_, {}, sum_.load(std::memory_order_relaxed)};
    s.cumulative.resize(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = running;
    }
    return s;
}

void labeled_counter::add(const std::vector<std::string>& values, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    values_[values] += n;
}

std::map<std::vector<std::string>, std::uint64_t> labeled_counter::read() const {
    std::lock_guard lock(mutex_);
    return values_;
}

void exposition::family(std::string_view name, std::string_view help, type t) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type_name(t)).append("\n");
}

void exposition::write_labels(const labels& label_values, std::string_view extra_name, std::string_view extra_value) {
    if (label_values.empty() && extra_name.empty()) return;
    out_ += '{';
    bool first = true;
    auto one = [&](std::string_view name, std::string_view value) {
        if (!first) out_ += ',';
        first = false;
        out_.append(name).append("=\"");
        for (char c : value) {
            if (c == '\\')
                out_ += "\\\\";
            else if (c == '"')
                out_ += "\\\"";
            else if (c == '\n')
                out_ += "\\n";
            else
                out_ += c;
        }
        out_ += '"';
    };
    for (const auto& [name, value] : label_values) one(name, value);
    if (!extra_name.empty()) one(extra_name, extra_value);
    out_ += '}';
}

void exposition::write_value(double v) {
    if (std::isnan(v)) {
        out_ += "NaN";
    } else if (std::isinf(v)) {
        out_ += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, ec == std::errc{} ? end : buf);
    }
}

void exposition::sample(std::string_view name, const labels& label_values, double value) {
    out_.append(name);
    write_labels(label_values);
    out_ += ' ';
    write_value(value);
    out_ += '\n';
}

void exposition::histogram_samples(std::string_view name, const labels& label_values, const histogram::snapshot& s) {
    const std::string bucket = std::string(name) + "_bucket";
    for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        out_.append(bucket);
        if (i < s.bounds.size()) {
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, s.bounds[i]);
            write_labels(label_values, "le", std::string_view(buf, ec == std::errc{} ? end : buf));
        } else {
            write_labels(label_values, "le", "+Inf");
        }
        out_ += ' ';
        write_value(static_cast<double>(s.cumulative[i]));
        out_ += '\n';
    }
    sample(std::string(name) + "_sum", label_values, s.sum);
    sample(std::string(name) + "_count", label_values, static_cast<double>(s.cumulative.back()));
}

void exposition::single(std::string_view name, std::string_view help, type t, double value) {
    family(name, help, t);
    sample(name, {}, value);
}

namespace {

/// Fields of /proc/self/stat after the command name (which may hold spaces and parentheses).
std::vector<std::string> proc_stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(line.substr(close + 1));
    for (std::string f; rest >> f;) fields.push_back(f);
    return fields;
}

std::size_t count_open_fds() {
    std::size_t n = 0;
    if (auto* dir = ::opendir("/proc/self/fd")) {
        while (auto* e = ::readdir(dir))
            if (e->d_name[0] != '.') ++n;
        ::closedir(dir);
        if (n > 0) --n;  // the directory stream's own descriptor
    }
    return n;
}

}  // namespace

void write_process_metrics(exposition& out, double start_time_seconds, double uptime_seconds) {
    using t = exposition::type;
    const auto fields = proc_stat_fields();
    // After the name: state is field 0, utime 11, stime 12, vsize 20, rss 21 (pages).
    if (fields.size() > 21) {
        const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
        const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
        out.single("process_cpu_seconds_total", "User and system CPU time spent in seconds.", t::counter, cpu);
        out.single("process_virtual_memory_bytes", "Virtual memory size in bytes.", t::gauge, std::stod(fields[20]));
        out.single(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            t::gauge,
            std::stod(fields[21]) * static_cast<double>(::sysconf(_SC_PAGESIZE))
        );
    }
    out.single("process_open_fds", "Number of open file descriptors.", t::gauge, static_cast<double>(count_open_fds()));
    if (const long max_fds = ::sysconf(_SC_OPEN_MAX); max_fds > 0)
        out.single(
            "process_max_fds", "Maximum number of open file descriptors.", t::gauge, static_cast<double>(max_fds)
        );
    out.single(
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        t::gauge,
        start_time_seconds
    );
    out.single("cityguard_uptime_seconds", "Seconds since this server started.", t::gauge, uptime_seconds);
}

}  // namespace cityguard::metrics
