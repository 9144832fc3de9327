#include <spdlog/spdlog.h>

#include <cstdlib>
#include <optional>

#include "cityguard/rules/rule.hpp"
#include "parts.hpp"

namespace cityguard::app {

namespace net = boost::asio;

namespace {

void write_open_alarms(
    metrics::exposition& out, const std::optional<std::vector<store::alarms_repo::open_count>>& open
) {
    using t = metrics::exposition::type;
    out.single(
        "cityguard_scrape_database_ok",
        "1 when this scrape could count the open alarms in the database.",
        t::gauge,
        open ? 1 : 0
    );
    if (!open) return;
    out.family("cityguard_alarms_open", "Alarms not closed, by status, level and category.", t::gauge);
    for (const auto& c : *open) {
        const int level = std::atoi(c.level.c_str());
        const std::string level_name =
            level >= 1 && level <= 4 ? std::string(rules::to_string(static_cast<rules::level>(level))) : c.level;
        out.sample(
            "cityguard_alarms_open",
            {{"status", c.status}, {"level", level_name}, {"category", c.category}},
            static_cast<double>(c.count)
        );
    }
}

}  // namespace

/// GET /metrics: what the components count, and the open alarms from the database (left out,
/// with cityguard_scrape_database_ok 0, when it does not answer).
net::awaitable<std::string> app::parts::scrape() {
    metrics::exposition out;
    std::optional<std::vector<store::alarms_repo::open_count>> open;
    try {
        open = co_await c.alarms_repo.open_counts();
    } catch (const std::exception& e) {
        spdlog::debug("metrics: open alarm counts unavailable: {}", e.what());
    }
    std::int64_t upward_backlog = 0;
    if (c.upward) upward_backlog = co_await c.upward->backlog();
    measurements.render(out);
    write_open_alarms(out, open);
    if (c.upward) {
        using t = metrics::exposition::type;
        if (upward_backlog >= 0)
            out.single(
                "cityguard_upward_backlog_events",
                "Alarm events of the types reported upward that the superior platform has not acknowledged yet.",
                t::gauge,
                static_cast<double>(upward_backlog)
            );
        out.single(
            "cityguard_upward_sent_total",
            "Alarm events the superior platform acknowledged (since start).",
            t::counter,
            static_cast<double>(c.upward->sent().value())
        );
        out.single(
            "cityguard_upward_failed_attempts_total",
            "Attempts to report an event upward that were not acknowledged (retried).",
            t::counter,
            static_cast<double>(c.upward->failed_attempts().value())
        );
    }
    co_return out.take();
}

/// What every component counts, read at each scrape. Called once, before serving.
void app::parts::register_metrics() {
    using t = metrics::exposition::type;
    measurements.add([this](metrics::exposition& out) {
        out.family("cityguard_build_info", "The running version (always 1).", t::gauge);
        out.sample("cityguard_build_info", {{"version", CITYGUARD_VERSION}}, 1);
        metrics::write_process_metrics(
            out, started_at_unix, std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count()
        );
    });
    measurements.add([this](metrics::exposition& out) {
        c.http_metrics.render(out);
        out.single(
            "cityguard_http_connections",
            "HTTP and feed connections open now.",
            t::gauge,
            static_cast<double>(c.server.connections())
        );
        out.single(
            "cityguard_http_body_bytes_in_flight",
            "Bytes of request bodies being read now (bounded by http.max_body_bytes_in_flight).",
            t::gauge,
            static_cast<double>(c.server.body_bytes_in_flight())
        );
    });
    measurements.add([this](metrics::exposition& out) { write_ingest_metrics(out); });
    measurements.add([this](metrics::exposition& out) { write_queue_metrics(out); });
    if (c.mqtt) measurements.add([this](metrics::exposition& out) { write_mqtt_metrics(out); });
    if (c.modbus)
        measurements.add([this](metrics::exposition& out) {
            using t = metrics::exposition::type;
            const auto& m = *c.modbus;
            const auto state = m.status();
            out.single(
                "cityguard_modbus_devices_answering",
                "Modbus devices that answered their last poll.",
                t::gauge,
                state["answering"].get<double>()
            );
            out.single(
                "cityguard_modbus_devices",
                "Modbus devices in the connector file.",
                t::gauge,
                state["devices"].get<double>()
            );
            out.single(
                "cityguard_modbus_points_polled_total",
                "Modbus points read.",
                t::counter,
                static_cast<double>(m.polled().value())
            );
            out.single(
                "cityguard_modbus_failed_polls_total",
                "Modbus connections or reads that failed (the device's sensors give no readings until it answers).",
                t::counter,
                static_cast<double>(m.failed_polls().value())
            );
            out.single(
                "cityguard_modbus_dropped_readings_total",
                "Polled readings dropped because modbus.max_pending_batches batches were waiting for their commit.",
                t::counter,
                static_cast<double>(m.dropped().value())
            );
        });
    measurements.add([this](metrics::exposition& out) { write_alarm_and_feed_metrics(out); });
}

void app::parts::write_mqtt_metrics(metrics::exposition& out) const {
    using t = metrics::exposition::type;
    const auto& m = *c.mqtt;
    const auto& n = m.counts();
    out.single(
        "cityguard_mqtt_connected", "1 while the session with the MQTT broker is up.", t::gauge, m.connected() ? 1 : 0
    );
    out.single(
        "cityguard_mqtt_in_flight_messages",
        "MQTT messages received and not yet acknowledged (bounded by mqtt.max_inflight_messages).",
        t::gauge,
        static_cast<double>(m.in_flight())
    );
    out.family("cityguard_mqtt_messages_total", "MQTT messages received, by what became of them.", t::counter);
    const std::pair<const char*, const metrics::counter*> outcomes[] = {
        {"stored", &n.stored},
        {"invalid_payload", &n.invalid_payload},
        {"unmapped_topic", &n.unmapped_topic},
        {"too_large", &n.too_large}};
    for (const auto& [outcome, count] : outcomes)
        out.sample("cityguard_mqtt_messages_total", {{"outcome", outcome}}, static_cast<double>(count->value()));
    out.family("cityguard_mqtt_readings_total", "Readings that came over MQTT, by what became of them.", t::counter);
    out.sample("cityguard_mqtt_readings_total", {{"outcome", "stored"}}, static_cast<double>(n.readings.value()));
    out.sample("cityguard_mqtt_readings_total", {{"outcome", "duplicate"}}, static_cast<double>(n.duplicates.value()));
    out.sample("cityguard_mqtt_readings_total", {{"outcome", "rejected"}}, static_cast<double>(n.rejected.value()));
    out.single(
        "cityguard_mqtt_commit_retries_total",
        "MQTT messages whose readings the writer could not take at once (busy, no lead), tried again.",
        t::counter,
        static_cast<double>(n.retried.value())
    );
    out.single(
        "cityguard_mqtt_connects_total",
        "Sessions established with the MQTT broker.",
        t::counter,
        static_cast<double>(n.connects.value())
    );
    out.single(
        "cityguard_mqtt_disconnects_total",
        "Established MQTT sessions lost.",
        t::counter,
        static_cast<double>(n.disconnects.value())
    );
}

void app::parts::write_ingest_metrics(metrics::exposition& out) const {
    using t = metrics::exposition::type;
    const auto& w = c.writer.measured();
    out.single(
        "cityguard_readings_stored_total",
        "Readings committed as new rows.",
        t::counter,
        static_cast<double>(w.readings_stored.value())
    );
    out.single(
        "cityguard_readings_duplicate_total",
        "Readings accepted that were already stored (a gateway's retry) or repeated within a batch.",
        t::counter,
        static_cast<double>(w.readings_duplicate.value())
    );
    out.family("cityguard_readings_rejected_total", "Readings refused one by one, by error code.", t::counter);
    for (const auto& [labels, n] : c.ingest.rejected().read())
        out.sample("cityguard_readings_rejected_total", {{"code", labels.at(0)}}, static_cast<double>(n));
    out.single(
        "cityguard_readings_refused_total",
        "Readings of requests answered 503 because the writer could not take or commit them.",
        t::counter,
        static_cast<double>(c.ingest.refused().value())
    );
    out.single(
        "cityguard_readings_requests_refused_unread_total",
        "Readings requests answered 503 from their header, unread, because the writer was full or too far behind.",
        t::counter,
        static_cast<double>(c.ingest.refused_unread().value())
    );
    out.family("cityguard_writer_batch_rows", "Readings per group commit.", t::histogram);
    out.histogram_samples("cityguard_writer_batch_rows", {}, w.batch_rows.read());
    out.family(
        "cityguard_writer_commit_duration_seconds",
        "Time of one group commit: COPY, rule engine, alarm writes and COMMIT.",
        t::histogram
    );
    out.histogram_samples("cityguard_writer_commit_duration_seconds", {}, w.commit_seconds.read());
    out.single(
        "cityguard_writer_batches_failed_total",
        "Readings batches rolled back (every request in them got 503).",
        t::counter,
        static_cast<double>(w.batches_failed.value())
    );
    out.single(
        "cityguard_writer_tasks_total",
        "Alarm timer steps and operator actions run on the writer thread.",
        t::counter,
        static_cast<double>(w.tasks_run.value())
    );
}

void app::parts::write_queue_metrics(metrics::exposition& out) const {
    using t = metrics::exposition::type;
    const auto pool = c.db.stats();
    struct queue {
        const char* name;
        std::size_t length, limit;
    };
    const queue queues[] = {
        {"db_pool", pool.queued, pool.max_queued},
        {"writer_rows", c.writer.pending_rows(), cfg.ingest.max_pending_rows},
        {"writer_tasks", c.writer.queued_tasks(), cfg.writer.max_queued_tasks},
        {"parsing", c.parsing.queued(), c.parsing.max_queued()},
        {"password_hashes", c.passwords.queued(), c.passwords.max_queued()},
    };
    out.family("cityguard_queue_length", "Work waiting or running in a bounded queue.", t::gauge);
    for (const auto& q : queues)
        out.sample("cityguard_queue_length", {{"queue", q.name}}, static_cast<double>(q.length));
    out.family("cityguard_queue_limit", "The bound of each queue; past it, requests get 503.", t::gauge);
    for (const auto& q : queues) out.sample("cityguard_queue_limit", {{"queue", q.name}}, static_cast<double>(q.limit));
    out.single(
        "cityguard_db_pool_connections",
        "Connections (and threads) of the query pool: db.pool_size.",
        t::gauge,
        static_cast<double>(pool.size)
    );
    out.single(
        "cityguard_db_pool_in_use", "Pool connections running a query now.", t::gauge, static_cast<double>(pool.in_use)
    );
    out.single(
        "cityguard_audit_write_failures_total",
        "Audit trail rows that could not be written (the change they record was committed).",
        t::counter,
        static_cast<double>(c.audit.failures())
    );
    out.family("cityguard_db_errors_total", "Failed pool tasks, by kind.", t::counter);
    out.sample("cityguard_db_errors_total", {{"kind", "unavailable"}}, static_cast<double>(pool.unavailable));
    out.sample("cityguard_db_errors_total", {{"kind", "overloaded"}}, static_cast<double>(pool.overloaded));
    out.sample("cityguard_db_errors_total", {{"kind", "conflict"}}, static_cast<double>(pool.conflicts));
    out.sample("cityguard_db_errors_total", {{"kind", "other"}}, static_cast<double>(pool.other_errors));
}

void app::parts::write_alarm_and_feed_metrics(metrics::exposition& out) {
    using t = metrics::exposition::type;
    out.family("cityguard_alarms_raised_total", "Alarms raised (committed), by level and domain.", t::counter);
    for (const auto& [labels, n] : c.alarms.raised().read())
        out.sample(
            "cityguard_alarms_raised_total", {{"level", labels.at(0)}, {"domain", labels.at(1)}}, static_cast<double>(n)
        );
    out.family("cityguard_rule_evaluation_duration_seconds", "Rule engine time per readings batch.", t::histogram);
    out.histogram_samples("cityguard_rule_evaluation_duration_seconds", {}, c.alarms.evaluation_seconds().read());
    auto& f = c.feed.measured();
    const auto opened = f.opened.value(), ended = f.ended.value();
    out.single(
        "cityguard_feed_connections",
        "Live feed (WebSocket) connections open now.",
        t::gauge,
        static_cast<double>(opened >= ended ? opened - ended : 0)
    );
    out.single(
        "cityguard_feed_messages_sent_total",
        "Feed messages written whole to clients.",
        t::counter,
        static_cast<double>(f.messages_sent.value())
    );
    out.single(
        "cityguard_feed_slow_consumer_closes_total",
        "Feed connections closed with 4008: past feed.max_queued_messages or feed.max_queued_bytes.",
        t::counter,
        static_cast<double>(f.slow_consumer_closes.value())
    );
    out.family("cityguard_feed_closes_total", "Feed connections the server closed, by close code.", t::counter);
    for (const auto& [labels, n] : f.closes.read())
        out.sample("cityguard_feed_closes_total", {{"code", labels.at(0)}}, static_cast<double>(n));
    out.family(
        "cityguard_notification_attempts_total",
        "Notification delivery attempts by channel and outcome (delivered, retrying, failed: gave up).",
        t::counter
    );
    for (const auto& [labels, n] : notifier.attempts().read())
        out.sample(
            "cityguard_notification_attempts_total",
            {{"channel", labels.at(0)}, {"outcome", labels.at(1)}},
            static_cast<double>(n)
        );
    out.single(
        "cityguard_notifications_in_flight",
        "Notifications being delivered now.",
        t::gauge,
        static_cast<double>(notifier.in_flight())
    );
}

}  // namespace cityguard::app
