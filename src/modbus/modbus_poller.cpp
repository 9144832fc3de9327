#include "cityguard/modbus/modbus_poller.hpp"

#include <modbus/modbus.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::modbus {

namespace net = boost::asio;

namespace {

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct modbus_poller::device_state {
    explicit device_state(readings::modbus_device s) : spec(std::move(s)), due_ms(spec.points.size(), 0) {}
    ~device_state() { disconnect(); }
    void disconnect() {
        if (ctx) {
            modbus_close(ctx);
            modbus_free(ctx);
            ctx = nullptr;
        }
    }

    readings::modbus_device spec;
    modbus_t* ctx = nullptr;
    std::atomic<bool> answering{false};
    std::int64_t retry_at_ms = 0;      // after a failure, no new connection before this
    std::vector<std::int64_t> due_ms;  // per point
    bool logged_down = false;
};

modbus_poller::modbus_poller(
    net::io_context& ioc,
    readings::ingest_service& ingest,
    const registry::sensor_directory& directory,
    std::vector<readings::modbus_device> devices,
    const config::modbus_config& cfg
)
    : ioc_(ioc), ingest_(ingest), directory_(directory), cfg_(cfg) {
    for (auto& d : devices) devices_.push_back(std::make_unique<device_state>(std::move(d)));
}

modbus_poller::~modbus_poller() { stop(); }

void modbus_poller::start(std::function<bool()> may_run) {
    may_run_ = std::move(may_run);
    thread_ = std::thread([this] { run(); });
}

void modbus_poller::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

nlohmann::json modbus_poller::status() const {
    nlohmann::json down = nlohmann::json::array();
    std::size_t answering = 0;
    for (const auto& d : devices_) {
        if (d->answering)
            ++answering;
        else
            down.push_back(d->spec.id);
    }
    return {{"devices", devices_.size()}, {"answering", answering}, {"down", std::move(down)}};
}

void modbus_poller::run() {
    while (true) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(cfg_.tick_ms), [this] { return stopping_; });
            if (stopping_) break;
        }
        if (may_run_ && !may_run_()) {
            for (auto& d : devices_) {
                d->disconnect();
                d->answering = false;
            }
            continue;
        }
        const std::int64_t now = steady_ms();
        readings::parsed_readings batch;
        for (auto& d : devices_) poll_device(*d, now, batch.readings);
        if (batch.readings.empty()) continue;
        for (std::size_t i = 0; i < batch.readings.size(); ++i) batch.readings[i].index = i;
        // Polled values are not acknowledged to anyone: when the writer is this far behind, the
        // next poll brings fresher ones, so these are dropped and counted rather than queued.
        if (pending_batches_.load() >= static_cast<int>(cfg_.max_pending_batches)) {
            dropped_.add(batch.readings.size());
            continue;
        }
        ++pending_batches_;
        net::co_spawn(
            ioc_,
            [this, batch = std::move(batch)]() mutable -> net::awaitable<void> {
                try {
                    auto result = co_await ingest_.ingest(std::move(batch));
                    if (!result.rejected.empty())
                        spdlog::warn(
                            "modbus: {} polled reading(s) refused, the first: {} {}",
                            result.rejected.size(),
                            result.rejected.front().error,
                            result.rejected.front().message
                        );
                } catch (const std::exception& e) {
                    spdlog::warn("modbus: polled readings not stored: {}", e.what());
                }
                --pending_batches_;
            },
            net::detached
        );
    }
    for (auto& d : devices_) d->disconnect();
}

void modbus_poller::poll_device(device_state& d, std::int64_t now, std::vector<readings::posted_reading>& out) {
    bool any_due = false;
    for (auto due : d.due_ms) any_due = any_due || due <= now;
    if (!any_due) return;
    auto fail = [&](const char* what) {
        failed_.add();
        d.answering = false;
        d.disconnect();
        d.retry_at_ms = now + cfg_.reconnect_ms;
        if (!d.logged_down)
            spdlog::warn(
                "modbus: device {} at {}:{} {}: {} (its sensors go offline; retrying every {} ms)",
                d.spec.id,
                d.spec.host,
                d.spec.port,
                what,
                modbus_strerror(errno),
                cfg_.reconnect_ms
            );
        d.logged_down = true;
    };
    if (!d.ctx) {
        if (now < d.retry_at_ms) return;
        d.ctx = modbus_new_tcp(d.spec.host.c_str(), d.spec.port);
        if (!d.ctx) return fail("cannot be addressed");
        modbus_set_slave(d.ctx, d.spec.unit);
        modbus_set_response_timeout(
            d.ctx,
            static_cast<std::uint32_t>(d.spec.timeout_ms / 1000),
            static_cast<std::uint32_t>(d.spec.timeout_ms % 1000) * 1000
        );
        if (modbus_connect(d.ctx) == -1) return fail("does not take a connection");
    }
    const auto sensors = directory_.snapshot();
    const util::micros ts = util::now_micros();
    for (std::size_t i = 0; i < d.spec.points.size(); ++i) {
        if (d.due_ms[i] > now) continue;
        const auto& p = d.spec.points[i];
        int interval_s = p.interval_s;
        if (interval_s == 0) {
            const auto* sensor = sensors->find(std::string_view(p.sensor));
            interval_s = sensor && sensor->interval_s > 0 ? sensor->interval_s : cfg_.default_interval_s;
        }
        d.due_ms[i] = now + static_cast<std::int64_t>(interval_s) * 1000;
        std::uint16_t words[2] = {0, 0};
        std::uint8_t bits[1] = {0};
        const int width = readings::modbus_width(p.type);
        int got = -1;
        switch (p.table) {
            case readings::modbus_table::holding:
                got = modbus_read_registers(d.ctx, p.address, width, words);
                break;
            case readings::modbus_table::input:
                got = modbus_read_input_registers(d.ctx, p.address, width, words);
                break;
            case readings::modbus_table::coil:
                got = modbus_read_bits(d.ctx, p.address, 1, bits);
                break;
            case readings::modbus_table::discrete:
                got = modbus_read_input_bits(d.ctx, p.address, 1, bits);
                break;
        }
        if (got == -1) return fail("did not answer");
        if (p.type == readings::modbus_type::boolean) words[0] = bits[0];
        polled_.add();
        const auto value = readings::modbus_value(p, words);
        if (!value) continue;
        readings::posted_reading r;
        r.sensor = p.sensor;
        r.ts = ts;
        r.value = *value;
        out.push_back(std::move(r));
    }
    if (!d.answering && d.logged_down) spdlog::info("modbus: device {} answers again", d.spec.id);
    d.answering = true;
    d.logged_down = false;
}

std::vector<readings::modbus_device> load_modbus_map(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read the Modbus connector file " + path);
    std::stringstream text;
    text << file.rdbuf();
    const auto doc = nlohmann::json::parse(text.str(), nullptr, false, true);
    if (doc.is_discarded()) throw std::runtime_error("Modbus connector file " + path + " is not valid JSON");
    try {
        return readings::parse_modbus_map(doc);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error("Modbus connector file " + path + ": " + e.what());
    }
}

}  // namespace cityguard::modbus
