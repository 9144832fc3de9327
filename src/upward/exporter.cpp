#include "cityguard/upward/exporter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <sstream>

#include "cityguard/upward/report.hpp"
#include "cityguard/util/crypto.hpp"

namespace cityguard::upward {

namespace net = boost::asio;
using json = nlohmann::json;

namespace {

json load_fields(const std::string& path) {
    if (path.empty()) return json::object();
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("cannot read upward.fields_file " + path);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = json::parse(text.str(), nullptr, false, true);
    if (doc.is_discarded()) throw std::invalid_argument("upward.fields_file " + path + " is not valid JSON");
    if (auto problem = fields_problem(doc); !problem.empty())
        throw std::invalid_argument("upward.fields_file " + path + ": " + problem);
    return doc;
}

/// A vendor's answer as it may be logged: printable ASCII, at most 200 bytes.
std::string printable(const std::string& text) {
    std::string out;
    for (char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

}  // namespace

exporter::exporter(
    net::io_context& ioc,
    store::event_log& events,
    store::upward_repo& repo,
    const registry::sensor_directory& directory,
    const config::upward_config& cfg
)
    : cfg_(cfg),
      events_(events),
      repo_(repo),
      directory_(directory),
      client_(ioc),
      strand_(net::make_strand(ioc)),
      timer_(strand_),
      fields_(load_fields(cfg.fields_file)) {
    auto key = util::from_hex(cfg.sm4_key);
    if (!key || key->size() != 16) throw std::invalid_argument("upward: the SM4 key must be 32 hex digits");
    key_ = std::move(*key);
}

void exporter::start(std::function<bool()> may_run) {
    may_run_ = std::move(may_run);
    net::co_spawn(strand_, run(), net::detached);
}

void exporter::stop() {
    stopping_ = true;
    net::post(strand_, [this] { timer_.cancel(); });
}

void exporter::note(bool ok, std::string error) {
    std::lock_guard lock(state_mutex_);
    if (ok) last_success_ = util::now_micros();
    last_error_ = std::move(error);
}

net::awaitable<std::int64_t> exporter::backlog() {
    try {
        co_return (co_await repo_.waiting()).events;
    } catch (const std::exception&) {
        co_return -1;
    }
}

net::awaitable<json> exporter::status() {
    const auto position = co_await repo_.load();
    const auto waiting = co_await repo_.waiting();
    json out{
        {"enabled", true},
        {"position", position.seq},
        {"sent", position.sent},
        {"backlog", waiting.events},
        {"oldest_waiting_at", waiting.oldest_at ? json(util::format_rfc3339(*waiting.oldest_at)) : json(nullptr)}};
    std::lock_guard lock(state_mutex_);
    out["last_success_at"] = last_success_ ? json(util::format_rfc3339(*last_success_)) : json(nullptr);
    out["last_error"] = last_error_.empty() ? json(nullptr) : json(last_error_);
    co_return out;
}

net::awaitable<void> exporter::run() {
    while (!stopping_) {
        bool more = false;
        if (!may_run_ || may_run_()) {
            try {
                const auto position = co_await repo_.load();
                auto batch = co_await events_.replay(position.seq, 100);
                std::int64_t passed = position.seq;  // events read and not reported: skipped
                for (const auto& e : batch.events) {
                    if (!reported(e.event.type)) {
                        passed = e.event.seq;
                        continue;
                    }
                    if (passed > position.seq) co_await repo_.advance(passed, 0);
                    const bool acknowledged = co_await deliver(e);
                    if (!acknowledged) break;  // stopping, or the lead moved: the position stays
                    co_await repo_.advance(e.event.seq, 1);
                    sent_.add();
                    passed = e.event.seq;
                }
                if (passed > position.seq) co_await repo_.advance(passed, 0);
                more = batch.events.size() == 100 && !stopping_;
            } catch (const std::exception& e) {
                spdlog::warn("upward: cannot read the event log or store the position, will retry: {}", e.what());
            }
        }
        if (more || stopping_) continue;
        timer_.expires_after(std::chrono::milliseconds(cfg_.poll_ms));
        boost::system::error_code ec;
        co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
}

net::awaitable<bool> exporter::deliver(const store::logged_event& e) {
    place where;
    const auto places = directory_.snapshot();
    if (const auto* site = places->site(e.alarm.site)) where.district = site->district;
    if (const auto* sensor = places->find(std::string_view(e.alarm.sensor))) {
        where.lat = sensor->lat;
        where.lon = sensor->lon;
    }
    const std::string plain = report(e.event, e.alarm, where, cfg_.platform_code, fields_).dump();
    const std::string id = event_id(cfg_.platform_code, e.event.seq);
    auto backoff = std::chrono::milliseconds(cfg_.retry_initial_ms);
    while (!stopping_ && (!may_run_ || may_run_())) {
        // A fresh IV, nonce and timestamp on each attempt; the event id stays the same.
        const std::string iv = util::random_bytes(16);
        const std::string data = util::base64_encode(util::sm4_cbc_encrypt(key_, iv, plain));
        const std::int64_t timestamp = util::now_micros() / 1000;
        const std::string nonce = util::to_hex(util::random_bytes(16));
        const std::string sign =
            util::to_hex(util::hmac_sha256(cfg_.app_secret, string_to_sign(cfg_.app_id, timestamp, nonce, data)));
        outbound::http_request req;
        req.url = cfg_.url;
        req.timeout_ms = cfg_.timeout_ms;
        req.headers = {{"Idempotency-Key", id}};
        req.body = json{
            {"appId", cfg_.app_id},
            {"timestamp", timestamp},
            {"nonce", nonce},
            {"eventId", id},
            {"iv", util::base64_encode(iv)},
            {"data", data},
            {"sign",
             sign}}.dump();
        std::string error;
        try {
            const auto res = co_await client_.post(std::move(req));
            // Acknowledged: 2xx with {"code":0}. A platform that already has this event id
            // answers the same (it is how a repeat after a crash is told apart).
            const auto answer = json::parse(res.body, nullptr, false);
            if (res.status >= 200 && res.status < 300 && answer.is_object() && answer.value("code", -1) == 0) {
                note(true, {});
                co_return true;
            }
            error = "HTTP " + std::to_string(res.status) + ": " + printable(res.body);
        } catch (const std::exception& x) {
            error = x.what();
        }
        failed_.add();
        note(false, "event " + id + ": " + error);
        spdlog::warn("upward: event {} not acknowledged ({}); again in {} ms", id, error, backoff.count());
        timer_.expires_after(backoff);
        boost::system::error_code ec;
        co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(cfg_.retry_max_ms));
    }
    co_return false;
}

}  // namespace cityguard::upward
