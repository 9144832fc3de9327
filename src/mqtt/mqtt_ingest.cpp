#include "cityguard/mqtt/mqtt_ingest.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "cityguard/mqtt/packets.hpp"
#include "cityguard/util/error.hpp"
#include "cityguard/util/time.hpp"

namespace cityguard::mqtt {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kNoAck = ~std::uint64_t{0};
constexpr std::uint16_t kSubscribeId = 1;
constexpr std::size_t kReadChunk = 64 * 1024;

/// Bytes received and not yet taken, read from the socket as packets need them.
class receive_buffer {
  public:
    /// Waits until at least `n` bytes are held.
    net::awaitable<void> fill(tcp::socket& socket, std::size_t n) {
        if (pos_ > 0 && (pos_ == data_.size() || pos_ > kReadChunk)) {
            data_.erase(0, pos_);
            pos_ = 0;
        }
        while (data_.size() - pos_ < n) {
            const std::size_t held = data_.size();
            data_.resize(held + std::max(kReadChunk, pos_ + n - held));
            std::size_t got = 0;
            try {
                got = co_await socket.async_read_some(
                    net::buffer(data_.data() + held, data_.size() - held), net::use_awaitable
                );
            } catch (...) {
                data_.resize(held);
                throw;
            }
            data_.resize(held + got);
        }
    }
    std::string_view view() const { return std::string_view(data_).substr(pos_); }
    void consume(std::size_t n) { pos_ += n; }

  private:
    std::string data_;
    std::size_t pos_ = 0;
};

}  // namespace

/// One connection to the broker and what is in flight on it. Everything runs on the strand.
struct mqtt_ingest::session {
    explicit session(const net::strand<net::io_context::executor_type>& ex)
        : socket(ex), wake_writer(ex), slot_freed(ex), watch(ex) {}

    struct pending {
        std::uint64_t seq = 0;
        std::uint16_t packet_id = 0;
        bool done = false;
    };

    tcp::socket socket;
    net::steady_timer wake_writer;  // cancelled when outbox gains a packet
    net::steady_timer slot_freed;   // cancelled when an acknowledgement leaves the window
    net::steady_timer watch;
    std::deque<std::string> outbox;
    std::deque<pending> acks;  // in the order the PUBLISHes came: PUBACKs must leave in that order (4.6)
    std::uint64_t next_seq = 0;
    bool established = false;
    bool closed = false;
    std::string why_closed;  // set when the watch ends it
    clock::time_point started = clock::now(), last_heard = clock::now(), last_sent = clock::now();

    void send(std::string bytes) {
        if (closed) return;
        outbox.push_back(std::move(bytes));
        wake_writer.cancel();
    }
    void close(std::string why = {}) {
        if (closed) return;
        closed = true;
        why_closed = std::move(why);
        boost::system::error_code ec;
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        wake_writer.cancel();
        slot_freed.cancel();
        watch.cancel();
    }
};

mqtt_ingest::mqtt_ingest(
    net::io_context& ioc,
    readings::ingest_service& ingest,
    readings::gateway_map map,
    const config::mqtt_config& cfg,
    const config::ingest_config& ingest_cfg,
    std::size_t json_max_depth
)
    : strand_(net::make_strand(ioc)),
      ingest_(ingest),
      map_(std::move(map)),
      cfg_(cfg),
      limits_{ingest_cfg.max_readings_per_request, json_max_depth, ingest_cfg.max_evidence_url_bytes},
      pause_(strand_) {
    state_since_ = static_cast<double>(util::now_micros()) / 1e6;
    last_error_ = "not connected yet";
}

mqtt_ingest::~mqtt_ingest() = default;

void mqtt_ingest::start(std::function<bool()> may_run) {
    may_run_ = std::move(may_run);
    net::co_spawn(strand_, run(), net::detached);
}

void mqtt_ingest::stop() {
    stopping_ = true;
    net::post(strand_, [this] {
        pause_.cancel();
        if (current_) current_->close();
    });
}

nlohmann::json mqtt_ingest::status() const {
    std::lock_guard lock(state_mutex_);
    nlohmann::json out{
        {"broker", cfg_.host + ":" + std::to_string(cfg_.port)},
        {"connected", connected()},
        {"since", util::format_rfc3339(static_cast<util::micros>(state_since_ * 1e6))}};
    if (!last_error_.empty()) out["last_error"] = last_error_;
    return out;
}

void mqtt_ingest::note_state(bool up, std::string error) {
    std::lock_guard lock(state_mutex_);
    if (connected_.exchange(up) != up) state_since_ = static_cast<double>(util::now_micros()) / 1e6;
    last_error_ = std::move(error);
}

void mqtt_ingest::log_refusal(const std::string& what) {
    const auto now = clock::now();
    if (now - last_log_ < std::chrono::milliseconds(cfg_.log_interval_ms)) return;
    last_log_ = now;
    spdlog::warn("mqtt: {} (at most one such line per {} ms; /metrics counts them all)", what, cfg_.log_interval_ms);
}

net::awaitable<void> mqtt_ingest::run() {
    std::mt19937 jitter(std::random_device{}());
    auto backoff = std::chrono::milliseconds(cfg_.reconnect_min_ms);
    while (!stopping_) {
        if (may_run_ && !may_run_()) {
            pause_.expires_after(std::chrono::seconds(1));
            boost::system::error_code ec;
            co_await pause_.async_wait(net::redirect_error(net::use_awaitable, ec));
            continue;
        }
        std::string why;
        try {
            co_await run_session();
        } catch (const boost::system::system_error& e) {
            why = e.code().message();  // without the source location what() carries
        } catch (const std::exception& e) {
            why = e.what();
        }
        const bool established = current_ && current_->established;
        if (current_) {
            if (!current_->why_closed.empty()) why = current_->why_closed;
            // What was not acknowledged stays the broker's to send again.
            in_flight_.fetch_sub(current_->acks.size(), std::memory_order_relaxed);
            current_->acks.clear();
        }
        current_.reset();
        if (stopping_) {
            note_state(false, "stopped");
            break;
        }
        if (established) {
            counts_.disconnects.add();
            spdlog::warn("mqtt: connection to {}:{} lost: {}", cfg_.host, cfg_.port, why);
        } else {
            log_refusal("cannot connect to " + cfg_.host + ":" + std::to_string(cfg_.port) + ": " + why);
        }
        note_state(false, why);
        if (established) backoff = std::chrono::milliseconds(cfg_.reconnect_min_ms);
        // Full jitter: many instances of a restarted city do not reconnect in step.
        std::uniform_int_distribution<long> spread(backoff.count() / 2, backoff.count());
        pause_.expires_after(std::chrono::milliseconds(spread(jitter)));
        boost::system::error_code ec;
        co_await pause_.async_wait(net::redirect_error(net::use_awaitable, ec));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(cfg_.reconnect_max_ms));
    }
}

net::awaitable<void> mqtt_ingest::run_session() {
    auto s = std::make_shared<session>(strand_);
    current_ = s;
    struct closer {
        session& s;
        ~closer() { s.close(); }
    } close_on_exit{*s};

    // The watch: the connect timeout, then keep-alive (PINGREQ at half the interval, the
    // connection dropped after one and a half intervals of silence), and losing the lead.
    net::co_spawn(
        strand_,
        [](std::shared_ptr<session> s, const config::mqtt_config& cfg, std::function<bool()> may_run
        ) -> net::awaitable<void> {
            const auto keep_alive = std::chrono::seconds(cfg.keep_alive_s);
            while (!s->closed) {
                s->watch.expires_after(std::chrono::milliseconds(250));
                boost::system::error_code ec;
                co_await s->watch.async_wait(net::redirect_error(net::use_awaitable, ec));
                if (s->closed) break;
                const auto now = clock::now();
                if (!s->established) {
                    if (now - s->started > std::chrono::milliseconds(cfg.connect_timeout_ms))
                        s->close("no CONNACK within mqtt.connect_timeout_ms");
                } else if (now - s->last_heard > keep_alive * 3 / 2) {
                    s->close("the broker was silent for one and a half keep-alive intervals");
                } else if (may_run && !may_run()) {
                    s->close("this instance no longer leads");
                } else if (now - s->last_sent >= keep_alive / 2) {
                    s->send(encode_pingreq());
                }
            }
        }(s, cfg_, may_run_),
        net::detached
    );

    tcp::resolver resolver(strand_);
    auto endpoints = co_await resolver.async_resolve(cfg_.host, std::to_string(cfg_.port), net::use_awaitable);
    co_await net::async_connect(s->socket, endpoints, net::use_awaitable);
    s->socket.set_option(tcp::no_delay(true));

    // The writer: one packet at a time, in the order queued.
    net::co_spawn(
        strand_,
        [](std::shared_ptr<session> s) -> net::awaitable<void> {
            while (!s->closed) {
                while (!s->outbox.empty() && !s->closed) {
                    boost::system::error_code ec;
                    co_await net::async_write(
                        s->socket, net::buffer(s->outbox.front()), net::redirect_error(net::use_awaitable, ec)
                    );
                    if (ec) {
                        s->close();
                        co_return;
                    }
                    s->outbox.pop_front();
                    s->last_sent = clock::now();
                }
                if (s->closed) break;
                s->wake_writer.expires_at(clock::time_point::max());
                boost::system::error_code ec;
                co_await s->wake_writer.async_wait(net::redirect_error(net::use_awaitable, ec));
            }
        }(s),
        net::detached
    );

    connect_options hello;
    hello.client_id = cfg_.client_id;
    hello.username = cfg_.username;
    hello.password = cfg_.password;
    hello.keep_alive_s = static_cast<std::uint16_t>(cfg_.keep_alive_s);
    hello.clean_session = false;
    s->send(encode_connect(hello));

    const std::vector<std::string> filters = map_.subscriptions();
    receive_buffer in;
    while (!s->closed) {
        // Backpressure: no more is read while the window of unacknowledged messages is full,
        // so the broker holds what we cannot take yet.
        while (s->acks.size() >= cfg_.max_inflight_messages && !s->closed) {
            s->slot_freed.expires_at(clock::time_point::max());
            boost::system::error_code ec;
            co_await s->slot_freed.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
        if (s->closed) break;
        co_await in.fill(s->socket, 2);
        std::optional<fixed_header> header;
        while (!(header = parse_fixed_header(in.view()))) co_await in.fill(s->socket, in.view().size() + 1);
        in.consume(header->header_bytes);
        s->last_heard = clock::now();

        if (header->type == packet_type::publish && header->remaining > cfg_.max_payload_bytes + 2 + 65'535 + 2) {
            // Too large to hold: take the topic and packet id, skip the payload, acknowledge.
            co_await in.fill(s->socket, 2);
            const auto head = in.view();
            const std::size_t topic_len =
                (static_cast<std::uint8_t>(head[0]) << 8) | static_cast<std::uint8_t>(head[1]);
            const std::uint8_t qos = (header->flags >> 1) & 3;
            const std::size_t id_bytes = qos > 0 ? 2 : 0;
            if (2 + topic_len + id_bytes > header->remaining) throw protocol_error("PUBLISH shorter than its topic");
            co_await in.fill(s->socket, 2 + topic_len + id_bytes);
            const auto p = parse_publish(header->flags, in.view().substr(0, 2 + topic_len + id_bytes));
            const std::uint16_t id = p.packet_id;
            const std::string topic(p.topic.substr(0, 128));
            in.consume(2 + topic_len + id_bytes);
            std::size_t left = header->remaining - (2 + topic_len + id_bytes);
            while (left > 0) {
                co_await in.fill(s->socket, 1);
                const std::size_t n = std::min(left, in.view().size());
                in.consume(n);
                left -= n;
            }
            counts_.too_large.add();
            log_refusal(
                "message on '" + topic + "' dropped: " + std::to_string(header->remaining) +
                " bytes, over mqtt.max_payload_bytes"
            );
            if (qos == 1) {
                s->acks.push_back({s->next_seq, id, false});
                in_flight_.fetch_add(1, std::memory_order_relaxed);
                acknowledge(*s, s->next_seq++);
            }
            continue;
        }

        co_await in.fill(s->socket, header->remaining);
        const std::string_view body = in.view().substr(0, header->remaining);
        switch (header->type) {
            case packet_type::connack: {
                const auto ack = parse_connack(body);
                if (ack.return_code != 0)
                    throw std::runtime_error(
                        "broker refused the connection: " + std::string(connack_reason(ack.return_code))
                    );
                s->established = true;
                counts_.connects.add();
                note_state(true, {});
                spdlog::info(
                    "mqtt: connected to {}:{} as '{}' ({} session), subscribing to {} filter(s)",
                    cfg_.host,
                    cfg_.port,
                    cfg_.client_id,
                    ack.session_present ? "resumed" : "new",
                    filters.size()
                );
                s->send(encode_subscribe(kSubscribeId, filters, 1));
                break;
            }
            case packet_type::suback: {
                const auto granted = parse_suback(body);
                for (std::size_t i = 0; i < granted.granted.size() && i < filters.size(); ++i)
                    if (granted.granted[i] == 0x80) {
                        spdlog::error("mqtt: the broker refused the subscription to '{}' (its ACL?)", filters[i]);
                        std::lock_guard lock(state_mutex_);
                        last_error_ = "subscription to '" + filters[i] + "' refused";
                    }
                break;
            }
            case packet_type::publish: {
                if (!s->established) throw protocol_error("PUBLISH before CONNACK");
                const auto p = parse_publish(header->flags, body);
                if (p.qos == 2) throw protocol_error("PUBLISH with QoS 2 on a QoS 1 subscription");
                std::uint64_t seq = kNoAck;
                if (p.qos == 1) {
                    seq = s->next_seq++;
                    s->acks.push_back({seq, p.packet_id, false});
                    in_flight_.fetch_add(1, std::memory_order_relaxed);
                }
                if (p.payload.size() > cfg_.max_payload_bytes) {
                    counts_.too_large.add();
                    log_refusal(
                        "message on '" + std::string(p.topic.substr(0, 128)) +
                        "' dropped: " + std::to_string(p.payload.size()) + " bytes, over mqtt.max_payload_bytes"
                    );
                    if (seq != kNoAck) acknowledge(*s, seq);
                    break;
                }
                net::co_spawn(strand_, handle(s, seq, std::string(p.topic), std::string(p.payload)), net::detached);
                break;
            }
            case packet_type::pingresp:
                break;
            default:
                throw protocol_error("unexpected packet type " + std::to_string(static_cast<int>(header->type)));
        }
        in.consume(header->remaining);
    }
    if (!stopping_) throw std::runtime_error("connection closed");
}

net::awaitable<void> mqtt_ingest::handle(
    std::shared_ptr<session> s, std::uint64_t seq, std::string topic, std::string payload
) {
    const readings::mqtt_gateway* gateway = map_.gateway_for(topic);
    if (!gateway) {
        counts_.unmapped_topic.add();
        log_refusal("message on '" + topic.substr(0, 128) + "' ignored: no gateway of the mapping owns this topic");
    } else {
        std::optional<net::steady_timer> retry;  // only a message the writer refused waits
        for (bool first = true;; first = false) {
            readings::parsed_readings parsed;
            try {
                parsed = map_.map_payload(*gateway, topic, payload, limits_, util::now_micros());
            } catch (const api_error& e) {
                counts_.invalid_payload.add();
                log_refusal(
                    "message of gateway '" + gateway->id + "' on '" + topic.substr(0, 128) + "' refused: " + e.what()
                );
                break;
            }
            try {
                auto result =
                    co_await ingest_.ingest(std::move(parsed), [gateway](const registry::sensor_entry& sensor) {
                        return gateway->may_report_for(sensor.site);
                    });
                counts_.stored.add();
                counts_.readings.add(result.accepted);
                counts_.duplicates.add(result.duplicates);
                if (!result.rejected.empty()) {
                    counts_.rejected.add(result.rejected.size());
                    const auto& x = result.rejected.front();
                    log_refusal(
                        "gateway '" + gateway->id + "': " + std::to_string(result.rejected.size()) +
                        " reading(s) refused, the first (#" + std::to_string(x.index) + ") " + x.error + ": " +
                        x.message
                    );
                }
                break;
            } catch (const api_error& e) {
                if (e.code() != errc::overloaded && e.code() != errc::unavailable) {
                    counts_.invalid_payload.add();
                    log_refusal("message of gateway '" + gateway->id + "' refused: " + e.what());
                    break;
                }
                // Not stored: not acknowledged. Try again while the session lasts; after it, the
                // broker sends the message again.
                counts_.retried.add();
                if (first) log_refusal(std::string("readings not stored yet, retrying: ") + e.what());
            }
            if (s->closed) co_return;
            if (!retry) retry.emplace(strand_);
            retry->expires_after(std::chrono::milliseconds(cfg_.retry_ms));
            boost::system::error_code ec;
            co_await retry->async_wait(net::redirect_error(net::use_awaitable, ec));
            if (s->closed) co_return;
        }
    }
    if (seq != kNoAck && !s->closed) acknowledge(*s, seq);
}

void mqtt_ingest::acknowledge(session& s, std::uint64_t seq) {
    if (s.acks.empty() || seq < s.acks.front().seq) return;
    const std::size_t at = static_cast<std::size_t>(seq - s.acks.front().seq);
    if (at < s.acks.size()) s.acks[at].done = true;
    while (!s.acks.empty() && s.acks.front().done) {
        s.send(encode_puback(s.acks.front().packet_id));
        s.acks.pop_front();
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
    s.slot_freed.cancel();
}

readings::gateway_map load_gateway_map(const std::string& path) {
    std::ifstream file(path);
    if (!file) throw std::runtime_error("cannot read the MQTT mapping file " + path);
    std::stringstream text;
    text << file.rdbuf();
    const auto doc = nlohmann::json::parse(text.str(), nullptr, false, true);
    if (doc.is_discarded()) throw std::runtime_error("MQTT mapping file " + path + " is not valid JSON");
    try {
        return readings::gateway_map::parse(doc);
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error("MQTT mapping file " + path + ": " + e.what());
    }
}

}  // namespace cityguard::mqtt
