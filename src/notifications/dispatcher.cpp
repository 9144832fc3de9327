#include "cityguard/notifications/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <ctime>

#include "cityguard/notification_model/message.hpp"
#include "cityguard/notification_model/sms.hpp"
#include "cityguard/util/crypto.hpp"

namespace cityguard::notifications {

namespace net = boost::asio;

namespace {

/// A vendor's answer as it may be recorded: printable ASCII only (the error column is text).
std::string printable(std::string text) {
    for (auto& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    return text;
}

// The message is rendered from the alarm as it is at delivery, not as it was when the notice
// was written: a notice that waited for a retry says what is true now.
notification_model::message_facts facts_of(const store::delivery_job& job) {
    const auto& n = job.notification;
    notification_model::message_facts f;
    f.notification = n.id;
    f.kind = notification_model::parse_notice_kind(n.kind).value_or(notification_model::notice_kind::raised);
    f.to = notification_model::parse_tier(n.tier).value_or(notification_model::tier::enterprise);
    f.lvl = n.lvl;
    f.alarm = job.alarm;
    f.site_name = job.site_name;
    f.district = job.district;
    f.contact_id = n.contact;
    f.contact_name = n.contact_name;
    f.phone = job.phone;
    return f;
}

// Alertmanager's URL is configured as its base; a trailing slash would make "//api/v2/alerts".
/// "2026-12-07T09:30:00Z": the timestamp Alibaba Cloud's RPC requests carry (ISO 8601, UTC, seconds).
std::string utc_second(util::micros at) {
    const std::time_t seconds = static_cast<std::time_t>(at / 1'000'000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char out[24];
    std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return out;
}

std::string trim_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

dispatcher::dispatcher(
    net::io_context& ioc,
    store::notifications_repo& repo,
    const notification_model::policy& policy,
    const config::notifications_config& cfg
)
    : repo_(repo), policy_(policy), cfg_(cfg), client_(ioc), strand_(net::make_strand(ioc)), timer_(strand_) {}

// Everything of the dispatcher runs on one strand: in_flight_ and channel_load_ need no lock,
// and the database calls it awaits run on the pool, never on that strand.
void dispatcher::start() { net::co_spawn(strand_, loop(), net::detached); }

void dispatcher::stop() {
    stopping_ = true;
    net::post(strand_, [this] { timer_.cancel(); });
}

// Called from the writer thread after a commit that added outbox rows: cancelling the poll timer
// makes a new notice go out at once instead of up to notifications.poll_ms later.
void dispatcher::wake() {
    net::post(strand_, [this] {
        woken_ = true;
        timer_.cancel();
    });
}

// Exponential, capped: a receiver that is down for an hour gets a try every retry.max_ms, not a
// flood when it comes back.
util::micros dispatcher::backoff(int attempts_before) const {
    std::int64_t ms = policy_.retry.initial_ms;
    for (int i = 0; i < attempts_before && ms < policy_.retry.max_ms; ++i) ms *= 2;
    return std::min(ms, policy_.retry.max_ms) * 1000;
}

// One pass takes what is due, except rows being delivered now (a slow receiver must not get a
// second copy while the first is still in flight), and starts a delivery for each while its
// channel has a free slot. A follower reads nothing: only the leader delivers (allowed_).
net::awaitable<void> dispatcher::loop() {
    while (!stopping_) {
        woken_ = false;
        try {
            std::vector<std::int64_t> busy(in_flight_.begin(), in_flight_.end());
            std::vector<store::delivery_job> jobs;
            if (!allowed_ || allowed_()) jobs = co_await repo_.due(busy, cfg_.batch);
            for (auto& job : jobs) {
                const auto& name = job.notification.channel;
                auto ch = policy_.channels.find(name);
                const int limit = ch == policy_.channels.end() ? 1 : ch->second.max_in_flight;
                if (channel_load_[name] >= limit) continue;  // stays due; taken when a slot frees
                ++channel_load_[name];
                in_flight_.insert(job.notification.id);
                ++in_flight_count_;
                net::co_spawn(strand_, deliver(std::move(job)), net::detached);
            }
        } catch (const std::exception& e) {
            spdlog::warn("notification dispatcher: cannot read the outbox, will retry: {}", e.what());
        }
        if (stopping_) break;
        if (woken_) continue;
        timer_.expires_after(std::chrono::milliseconds(cfg_.poll_ms));
        co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
    }
}

net::awaitable<int> dispatcher::send(const notification_model::channel& ch, const store::delivery_job& job) {
    const auto facts = facts_of(job);
    const auto msg = notification_model::render(facts, ch.language, policy_.dashboard_url);
    switch (ch.type) {
        case notification_model::channel_type::log:
            // The phone number never reaches the log: contact by id and name only.
            spdlog::info(
                "notification {} ({}, {}) to {} {} via {}: {}",
                job.notification.id,
                job.notification.kind,
                job.notification.tier,
                job.notification.contact,
                job.notification.contact_name,
                ch.name,
                msg.title
            );
            co_return 0;
        case notification_model::channel_type::webhook: {
            outbound::http_request req;
            req.url = ch.url;
            req.timeout_ms = ch.timeout_ms;
            req.body = notification_model::webhook_body(facts, msg, ch.language).dump();
            const auto timestamp = std::to_string(util::now_micros() / 1'000'000);
            // The receiver recomputes HMAC-SHA256(secret, timestamp + "." + body) and compares.
            req.headers = {
                {"X-CityGuard-Timestamp", timestamp},
                {"X-CityGuard-Signature",
                 "sha256=" + util::to_hex(util::hmac_sha256(ch.secret, timestamp + "." + req.body))},
                {"Idempotency-Key", notification_model::idempotency_key(job.notification.id)}};
            const auto res = co_await client_.post(std::move(req));
            co_return res.status;
        }
        case notification_model::channel_type::alertmanager: {
            outbound::http_request req;
            req.url = trim_slash(ch.url) + "/api/v2/alerts";
            req.timeout_ms = ch.timeout_ms;
            req.body = nlohmann::json::array(
                           {notification_model::alertmanager_alert(facts, msg, util::now_micros(), cfg_.alert_firing_s)}
            )
                           .dump();
            const auto res = co_await client_.post(std::move(req));
            co_return res.status;
        }
        case notification_model::channel_type::wecom:
        case notification_model::channel_type::dingtalk: {
            // The robots' own wire formats (docs/notifications.md): the key or access token is in
            // the configured URL; DingTalk's 加签 adds a timestamp and an HMAC of it to the query.
            const bool ding = ch.type == notification_model::channel_type::dingtalk;
            outbound::http_request req;
            req.url = ch.url;
            if (ding && !ch.secret.empty()) {
                const std::int64_t ms = util::now_micros() / 1000;
                const auto mac = util::hmac_sha256(ch.secret, std::to_string(ms) + "\n" + ch.secret);
                auto query = notification_model::dingtalk_sign_query(ms, util::base64_encode(mac));
                if (req.url.find('?') == std::string::npos) query[0] = '?';
                req.url += query;
            }
            req.timeout_ms = ch.timeout_ms;
            req.body =
                (ding ? notification_model::dingtalk_body(facts, msg) : notification_model::wecom_body(facts, msg))
                    .dump();
            const auto res = co_await client_.post(std::move(req));
            // Both answer 200 with {"errcode":0,"errmsg":"ok"}; any other errcode (a bad sign, a
            // rate limit, a removed robot) means the group did not get it.
            if (res.status >= 200 && res.status < 300) {
                const auto answer = nlohmann::json::parse(res.body, nullptr, false);
                const bool ok = answer.is_object() && answer.contains("errcode") && answer["errcode"] == 0;
                if (!ok)
                    throw std::runtime_error(
                        std::string(ding ? "dingtalk" : "wecom") + " refused it: " + printable(res.body.substr(0, 200))
                    );
            }
            co_return res.status;
        }
        case notification_model::channel_type::sms:
            co_return co_await send_sms(ch, facts, msg);
    }
    co_return 0;
}

// The city's SMS platform (docs/notifications.md, "SMS"): the text within the channel's segments,
// the request from its template, signed as its platform checks.
net::awaitable<int> dispatcher::send_sms(
    const notification_model::channel& ch,
    const notification_model::message_facts& facts,
    const notification_model::message& msg
) {
    if (!facts.phone || facts.phone->empty()) throw std::runtime_error("the contact has no phone number to text");
    auto params = notification_model::sms_params(ch.params, notification_model::sms_values_of(facts, ch, msg.link));
    outbound::http_request req;
    req.url = ch.url;
    req.timeout_ms = ch.timeout_ms;
    const bool aliyun = ch.signing == notification_model::sms_signing::aliyun;
    if (aliyun) {
        params["AccessKeyId"] = ch.access_key_id;
        params["Format"] = "JSON";
        params["SignatureMethod"] = "HMAC-SHA1";
        params["SignatureVersion"] = "1.0";
        params["SignatureNonce"] = util::to_hex(util::random_bytes(16));
        params["Timestamp"] = utc_second(util::now_micros());
        const auto query = notification_model::aliyun_canonical_query(params);
        const auto signature = util::base64_encode(
            util::hmac_sha1(ch.secret + "&", notification_model::aliyun_string_to_sign("POST", query))
        );
        req.body = query + "&Signature=" + notification_model::aliyun_encode(signature);
        req.content_type = "application/x-www-form-urlencoded";
    } else {
        req.body = nlohmann::json(params).dump();
        const auto timestamp = std::to_string(util::now_micros() / 1'000'000);
        const auto nonce = util::to_hex(util::random_bytes(16));
        req.headers = {
            {"X-CityGuard-Timestamp", timestamp},
            {"X-CityGuard-Nonce", nonce},
            {"X-CityGuard-Signature",
             "sha256=" + util::to_hex(util::hmac_sha256(ch.secret, timestamp + "." + nonce + "." + req.body))},
            {"Idempotency-Key", notification_model::idempotency_key(facts.notification)}};
    }
    const auto res = co_await client_.post(std::move(req));
    // Alibaba Cloud answers 200 with {"Code":"OK",...}; any other Code (a bad signature, a rate
    // limit, an unapproved template) means the text was not sent.
    if (aliyun && res.status >= 200 && res.status < 300) {
        const auto answer = nlohmann::json::parse(res.body, nullptr, false);
        if (!answer.is_object() || answer.value("Code", std::string()) != "OK")
            throw std::runtime_error("the SMS platform refused it: " + printable(res.body.substr(0, 200)));
    }
    co_return res.status;
}

// One attempt: its outcome is recorded whatever happened, so a crash between the send and the
// record leads to a second send with the same Idempotency-Key, never to a lost notice.
net::awaitable<void> dispatcher::deliver(store::delivery_job job) {
    const auto& n = job.notification;
    store::delivery_attempt attempt;
    attempt.notification = n.id;
    const auto started = std::chrono::steady_clock::now();
    auto ch = policy_.channels.find(n.channel);
    try {
        if (ch == policy_.channels.end())
            throw std::runtime_error("no channel named '" + n.channel + "' is configured");
        const int status = co_await send(ch->second, job);
        attempt.http_status =
            ch->second.type == notification_model::channel_type::log ? std::nullopt : std::optional(status);
        if ((status >= 200 && status < 300) || ch->second.type == notification_model::channel_type::log)
            attempt.status = "delivered";
        else
            attempt.error = "HTTP " + std::to_string(status);
    } catch (const std::exception& e) {
        attempt.error = e.what();
    }
    attempt.duration_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
    );
    if (attempt.status != "delivered") {
        // A channel that is not configured any more can never succeed: give up at once.
        const bool last = n.attempts + 1 >= policy_.retry.max_attempts || ch == policy_.channels.end();
        attempt.status = last ? "failed" : "pending";
        attempt.next_attempt_at = util::now_micros() + backoff(n.attempts);
        spdlog::warn(
            "notification {} via {} attempt {} failed{}: {}",
            n.id,
            n.channel,
            n.attempts + 1,
            last ? " (giving up)" : "",
            *attempt.error
        );
    } else {
        attempt.next_attempt_at = util::now_micros();
    }
    attempts_.add({n.channel, attempt.status == "pending" ? "retrying" : attempt.status});
    try {
        co_await repo_.record(attempt);
    } catch (const std::exception& e) {
        // Not recorded: the row stays pending and is sent again, with the same idempotency key.
        spdlog::warn("notification {}: attempt not recorded, it will be retried: {}", n.id, e.what());
    }
    in_flight_.erase(n.id);
    --channel_load_[n.channel];
    --in_flight_count_;
    if (!stopping_) {  // a slot is free: look for more now
        woken_ = true;
        timer_.cancel();
    }
}

}  // namespace cityguard::notifications
