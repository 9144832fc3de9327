// Load generator and meter for bench/feed (run that script, not this directly).
//
//   latency:  a subscriber on the feed; probe readings that each cause exactly one alarm event
//             (a grounding monitor toggling 1/0), posted one at a time (bench/feed runs the
//             background ingest load beside it); the time from just before the POST is written
//             to the moment its event arrives on the subscriber's socket.
//   fanout:   N subscribers; bursts of events; deliveries per second until every subscriber has
//             every event.
//   memory:   the server's resident memory before and after N idle subscribed connections.
//   watch:    N subscribers (a city's dashboards and its cockpit, bench/city-day) for --seconds:
//             every delivery of an event a reading caused (raised, cleared) timed from that
//             reading's ts, which the load generator stamps as it posts it, to its arrival.
//
// Prints RESULT lines of key=value pairs for the script.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/util/time.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

struct options {
    std::string host = "127.0.0.1", port;
    std::string key;
    std::string mode;
    int subscribers = 1000;
    int probes = 200;
    int probe_sensors = 20;   // G-0 .. G-19: static_ground at the bench gas station
    int bursts = 20, burst_size = 100;
    int server_pid = 0;
    int seconds = 60;
};

long rss_kb(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

/// A blocking keep-alive HTTP client for the probes and bursts.
class poster {
  public:
    poster(const options& o) : o_(o), stream_(ioc_) {
        tcp::resolver r(ioc_);
        stream_.connect(r.resolve(o.host, o.port));
        stream_.socket().set_option(tcp::no_delay(true));
    }
    int post(const json& readings) {
        http::request<http::string_body> req{http::verb::post, "/api/v1/readings", 11};
        req.set(http::field::host, o_.host);
        req.set(http::field::authorization, "Bearer " + o_.key);
        req.set(http::field::content_type, "application/json");
        req.body() = json{{"readings", readings}}.dump();
        req.prepare_payload();
        http::write(stream_, req);
        beast::flat_buffer b;
        http::response<http::string_body> res;
        http::read(stream_, b, res);
        return res.result_int();
    }

  private:
    const options& o_;
    net::io_context ioc_;
    beast::tcp_stream stream_;
};

json reading(const std::string& sensor, double value) {
    return {
        {"sensor", sensor}, {"ts", cityguard::util::format_rfc3339(cityguard::util::now_micros())}, {"value", value}};
}

/// One feed subscriber: counts alarm events, records the arrival time of each.
struct subscriber : std::enable_shared_from_this<subscriber> {
    explicit subscriber(net::io_context& ioc) : ws(net::make_strand(ioc)) {}
    websocket::stream<beast::tcp_stream> ws;
    std::atomic<int> events{0};
    std::atomic<long> event_bytes{0};
    std::atomic<bool> ready{false}, closed{false};
    std::atomic<int> close_code{0};  // the server's close code; -1: the connection failed
    std::mutex mutex;
    std::vector<std::pair<steady::time_point, std::string>> arrivals;  // only when recording
    bool record = false;
    bool time_from_reading = false;  // watch: reading_ts -> arrival, in ms, of reading-caused events
    std::vector<double> delays_ms;

    net::awaitable<void> run(const options& o) {
        auto self = shared_from_this();
        tcp::resolver r(ws.get_executor());
        auto [rec, eps] = co_await r.async_resolve(o.host, o.port, kTuple);
        if (rec) {
            closed = true;
            co_return;
        }
        auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(eps, kTuple);
        if (cec) {
            closed = true;
            co_return;
        }
        beast::get_lowest_layer(ws).expires_never();
        const std::string auth = "Bearer " + o.key;
        ws.set_option(websocket::stream_base::decorator([auth](websocket::request_type& req) {
            req.set(http::field::authorization, auth);
        }));
        const std::string host = o.host + ":" + o.port;
        auto [hec] = co_await ws.async_handshake(host, "/api/v1/feed", kTuple);
        if (hec) {
            closed = true;
            co_return;
        }
        const std::string sub = R"({"type":"subscribe"})";
        auto [wec, wn] = co_await ws.async_write(net::buffer(sub), kTuple);
        if (wec) {
            closed = true;
            co_return;
        }
        beast::flat_buffer buffer;
        for (;;) {
            auto [ec, n] = co_await ws.async_read(buffer, kTuple);
            if (ec) {
                close_code = ec == websocket::error::closed ? static_cast<int>(ws.reason().code) : -1;
                break;
            }
            const auto now = steady::now();
            const std::string_view text(static_cast<const char*>(buffer.data().data()), buffer.size());
            if (text.find("\"type\":\"snapshot\"") != std::string_view::npos) ready = true;
            // The server starts at most feed.max_concurrent_loads subscriptions at once and
            // refuses the rest with "overloaded; retry in a moment": a dashboard retries.
            if (!ready && text.find("\"code\":\"overloaded\"") != std::string_view::npos) {
                buffer.consume(buffer.size());
                net::steady_timer pause(ws.get_executor());
                pause.expires_after(std::chrono::milliseconds(50 + std::rand() % 200));
                co_await pause.async_wait(kTuple);
                auto [rec2, rn2] = co_await ws.async_write(net::buffer(sub), kTuple);
                if (rec2) break;
                continue;
            }
            if (text.find("\"type\":\"alarm_event\"") != std::string_view::npos) {
                ++events;
                event_bytes += text.size();
                if (record) {
                    std::lock_guard lock(mutex);
                    arrivals.emplace_back(now, std::string(text));
                }
                if (time_from_reading) note_delay(text);
            }
            buffer.consume(buffer.size());
        }
        closed = true;
    }

    void note_delay(std::string_view text) {
        if (text.find("\"event\":\"raised\"") == std::string_view::npos &&
            text.find("\"event\":\"cleared\"") == std::string_view::npos)
            return;
        constexpr std::string_view field = "\"reading_ts\":\"";
        const auto at = text.find(field);
        if (at == std::string_view::npos) return;
        const auto from = at + field.size(), to = text.find('"', from);
        const auto ts = cityguard::util::parse_rfc3339(text.substr(from, to - from));
        if (!ts) return;
        const double ms = static_cast<double>(cityguard::util::now_micros() - *ts) / 1000.0;
        std::lock_guard lock(mutex);
        delays_ms.push_back(ms);
    }
};

struct client_pool {
    net::io_context ioc;
    std::vector<std::shared_ptr<subscriber>> subs;
    std::vector<std::thread> threads;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work{net::make_work_guard(ioc)};

    void start(const options& o, int n, bool record, bool time_from_reading = false) {
        for (int i = 0; i < n; ++i) {
            auto s = std::make_shared<subscriber>(ioc);
            s->record = record;
            s->time_from_reading = time_from_reading;
            subs.push_back(s);
            net::co_spawn(s->ws.get_executor(), s->run(o), net::detached);
        }
        for (int t = 0; t < 2; ++t) threads.emplace_back([this] { ioc.run(); });
    }
    bool wait_ready(std::chrono::seconds limit) {
        const auto until = steady::now() + limit;
        while (steady::now() < until) {
            if (std::all_of(subs.begin(), subs.end(), [](auto& s) { return s->ready.load() || s->closed.load(); }))
                return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }
    int closed() const {
        return static_cast<int>(std::count_if(subs.begin(), subs.end(), [](auto& s) { return s->closed.load(); }));
    }
    ~client_pool() {
        for (auto& s : subs) net::post(s->ws.get_executor(), [s] { beast::get_lowest_layer(s->ws).close(); });
        work.reset();
        for (auto& t : threads) t.join();
    }
};

/// User + system CPU seconds of a process so far.
double cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; fields >> f; ++i)
        if (i == 14 || i == 15) ticks += std::stod(f);
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(std::min<double>(v.size() - 1, std::ceil(p * v.size()) - 1));
    return v[i];
}

int latency(const options& o) {
    client_pool pool;
    pool.start(o, 1, true);
    if (!pool.wait_ready(std::chrono::seconds(30))) return std::cerr << "subscriber not ready\n", 1;
    auto& sub = *pool.subs[0];
    poster p(o);
    std::vector<double> ms, ack_ms;
    std::vector<int> state(o.probe_sensors, 0);
    int lost = 0, refused = 0;
    for (int i = 0; i < o.probes; ++i) {
        const int s = i % o.probe_sensors;
        state[s] ^= 1;
        const int before = sub.events.load();
        auto sent = steady::now();
        const auto batch = json::array({reading("G-" + std::to_string(s), state[s])});
        int status = 0;
        // Like a gateway: a 503 (bench/overload) is tried again shortly; the latency counts from
        // the attempt that was taken.
        while ((status = p.post(batch)) == 503) {
            ++refused;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            sent = steady::now();
        }
        if (status != 200) return 1;
        ack_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - sent).count());
        const auto deadline = sent + std::chrono::seconds(5);
        while (sub.events.load() == before && steady::now() < deadline)
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        if (sub.events.load() == before) {
            ++lost;
            continue;
        }
        std::lock_guard lock(sub.mutex);
        ms.push_back(std::chrono::duration<double, std::milli>(sub.arrivals.back().first - sent).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf(
        "RESULT latency probes=%zu lost=%d refused=%d p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f "
        "ack_p50_ms=%.2f ack_p99_ms=%.2f\n",
        ms.size(),
        lost,
        refused,
        percentile(ms, 0.5),
        percentile(ms, 0.95),
        percentile(ms, 0.99),
        percentile(ms, 1.0),
        percentile(ack_ms, 0.5),
        percentile(ack_ms, 0.99)
    );
    return 0;
}

int fanout(const options& o) {
    client_pool pool;
    const long rss_before = o.server_pid ? rss_kb(o.server_pid) : -1;
    pool.start(o, o.subscribers, false);
    if (!pool.wait_ready(std::chrono::seconds(120))) return std::cerr << "subscribers not ready\n", 1;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const long rss_idle = o.server_pid ? rss_kb(o.server_pid) : -1;
    const int connected = o.subscribers - pool.closed();
    std::printf(
        "RESULT memory connections=%d rss_before_kb=%ld rss_idle_kb=%ld per_connection_kb=%.1f\n",
        connected,
        rss_before,
        rss_idle,
        connected > 0 ? static_cast<double>(rss_idle - rss_before) / connected : 0.0
    );
    std::fflush(stdout);

    poster p(o);
    std::vector<int> state(o.burst_size, 0);
    const double cpu_before = o.server_pid ? cpu_seconds(o.server_pid) : 0;
    const auto start = steady::now();
    int expected = 0;
    for (int b = 0; b < o.bursts; ++b) {
        json batch = json::array();
        for (int i = 0; i < o.burst_size; ++i) {
            state[i] ^= 1;
            batch.push_back(reading("F-" + std::to_string(i), state[i]));
        }
        if (p.post(batch) != 200) return 1;
        expected += o.burst_size;
    }
    const auto deadline = steady::now() + std::chrono::seconds(120);
    auto done = [&] {
        for (auto& s : pool.subs)
            if (!s->closed && s->events.load() < expected) return false;
        return true;
    };
    while (!done() && steady::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const double secs = std::chrono::duration<double>(steady::now() - start).count();
    const double cpu = o.server_pid ? cpu_seconds(o.server_pid) - cpu_before : 0;
    long delivered = 0;
    for (auto& s : pool.subs) delivered += s->events.load();
    std::printf(
        "RESULT fanout subscribers=%d events=%d deliveries=%ld seconds=%.3f deliveries_per_s=%.0f closed=%d "
        "rss_after_kb=%ld server_cpu_s_per_million=%.2f event_bytes=%.0f\n",
        connected,
        expected,
        delivered,
        secs,
        delivered / secs,
        pool.closed(),
        o.server_pid ? rss_kb(o.server_pid) : -1,
        delivered > 0 ? cpu / static_cast<double>(delivered) * 1e6 : 0.0,
        delivered > 0 ? static_cast<double>(std::accumulate(
                            pool.subs.begin(), pool.subs.end(), 0L, [](long n, auto& s) { return n + s->event_bytes.load(); }
                        )) / static_cast<double>(delivered)
                      : 0.0
    );
    return 0;
}

int watch(const options& o) {
    client_pool pool;
    pool.start(o, o.subscribers, false, true);
    if (!pool.wait_ready(std::chrono::seconds(120))) return std::cerr << "subscribers not ready\n", 1;
    std::printf("RESULT watching subscribers=%d\n", o.subscribers - pool.closed());
    std::fflush(stdout);
    const auto start = steady::now();
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
    const double secs = std::chrono::duration<double>(steady::now() - start).count();
    std::vector<double> all;
    long delivered = 0;
    int fewest = -1, most = 0;
    std::map<int, int> closed_with;
    for (auto& s : pool.subs)
        if (s->closed) ++closed_with[s->close_code.load()];
    std::string codes;
    for (const auto& [code, n] : closed_with) codes += (codes.empty() ? "" : ",") + std::to_string(code) + "x" + std::to_string(n);
    for (auto& s : pool.subs) {
        std::lock_guard lock(s->mutex);
        all.insert(all.end(), s->delays_ms.begin(), s->delays_ms.end());
        const int n = s->events.load();
        delivered += n;
        fewest = fewest < 0 ? n : std::min(fewest, n);
        most = std::max(most, n);
    }
    std::printf(
        "RESULT watch subscribers=%zu closed=%d deliveries=%ld deliveries_per_s=%.0f events_fewest=%d events_most=%d "
        "timed=%zu p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f close_codes=%s\n",
        pool.subs.size(),
        pool.closed(),
        delivered,
        delivered / secs,
        fewest,
        most,
        all.size(),
        percentile(all, 0.5),
        percentile(all, 0.95),
        percentile(all, 0.99),
        percentile(all, 1.0),
        codes.empty() ? "none" : codes.c_str()
    );
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--port")
            o.port = v;
        else if (a == "--key")
            o.key = v;
        else if (a == "--mode")
            o.mode = v;
        else if (a == "--subscribers")
            o.subscribers = std::stoi(v);
        else if (a == "--probes")
            o.probes = std::stoi(v);
        else if (a == "--bursts")
            o.bursts = std::stoi(v);
        else if (a == "--burst-size")
            o.burst_size = std::stoi(v);
        else if (a == "--server-pid")
            o.server_pid = std::stoi(v);
        else if (a == "--seconds")
            o.seconds = std::stoi(v);
        else
            return std::cerr << "unknown flag " << a << "\n", 2;
    }
    if (o.port.empty() || o.key.empty()) return std::cerr << "need --port and --key\n", 2;
    if (o.mode == "latency") return latency(o);
    if (o.mode == "fanout") return fanout(o);
    if (o.mode == "watch") return watch(o);
    std::cerr << "--mode latency|fanout|watch\n";
    return 2;
}
