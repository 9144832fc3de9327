#include "cityguard/app/components.hpp"

#include <functional>

namespace cityguard::app {

namespace {

config::db_config replica_config(const config::db_config& primary) {
    auto replica = primary;
    replica.url = primary.read_url;
    return replica;
}

bool has_boundaries(const config::config& cfg) {
    return !cfg.web.boundaries_file.empty() && cfg.web.boundaries_file != "-";
}

std::unique_ptr<mqtt::mqtt_ingest> make_mqtt(
    const config::config& cfg, boost::asio::io_context& ioc, readings::ingest_service& ingest
) {
    if (cfg.mqtt.host.empty()) return nullptr;
    return std::make_unique<mqtt::mqtt_ingest>(
        ioc, ingest, mqtt::load_gateway_map(cfg.mqtt.mapping_file), cfg.mqtt, cfg.ingest, cfg.http.json_max_depth
    );
}

std::vector<metrics::http_metrics::route_label> route_labels(const api::dispatcher& d) {
    std::vector<metrics::http_metrics::route_label> out;
    for (const auto& r : d.routes()) out.push_back({r.method, r.pattern});
    return out;
}

}  // namespace

components::components(const config::config& cfg, boost::asio::io_context& ioc, wiring w)
    : cfg(cfg),
      policy(std::move(w.policy)),
      ioc(ioc),
      db(cfg.db),
      read_db(cfg.db.read_url.empty() ? nullptr : std::make_unique<store::database>(replica_config(cfg.db))),
      keys_repo(db),
      people_repo(db),
      audit_repo(db),
      registry_repo(db),
      resources_repo(db),
      stats_repo(db),
      stats_tables(read_db ? *read_db : db),
      readings_repo(db),
      history_readings(read_db ? *read_db : db),
      alarms_repo(db),
      notifications_repo(db),
      silences_repo(db),
      cluster_repo(db),
      event_log(db),
      upward_repo(db),
      writer_connection(cfg.db.url, cfg.db.statement_timeout_ms),
      keys(keys_repo, cfg.auth),
      passwords(cfg.auth),
      people(people_repo, passwords, cfg.auth),
      audit(audit_repo, cfg.audit),
      domains(std::move(w.domains)),
      registry(
          registry_repo,
          resources_repo,
          directory,
          domains,
          [this](std::string_view name) { return this->policy.has_channel(name); },
          cfg.registry
      ),
      writer(
          writer_connection,
          [this] {
              // One snapshot per batch: its sensors counted where the registry had them then.
              return [snapshot = directory.snapshot()](std::int32_t key, std::string& domain, std::string& district) {
                  const auto* sensor = snapshot->find(key);
                  if (!sensor) return false;
                  domain = sensor->domain;
                  district = sensor->district;
                  return true;
              };
          },
          cfg.ingest,
          cfg.writer
      ),
      cluster(ioc, cluster_repo, writer, cfg.cluster, std::move(w.member_id)),
      ingest(directory, writer, cfg.ingest, cfg.http.json_max_depth),
      mqtt(make_mqtt(cfg, ioc, ingest)),
      modbus(
          cfg.modbus.connector_file.empty()
              ? nullptr
              : std::make_unique<modbus::modbus_poller>(
                    ioc, ingest, directory, modbus::load_modbus_map(cfg.modbus.connector_file), cfg.modbus
                )
      ),
      history(history_readings, directory, cfg.query),
      alarms(ioc, std::move(w.rules), directory, domains, writer, alarms_repo, cfg.alarms, this->policy),
      nearby(resources_repo, cfg.resources, [this](std::string_view rule) { return alarms.responders_of(rule); }),
      stats(stats_repo, stats_tables, cfg.stats, domains),
      retention(ioc, readings_repo, cfg.storage, [this] { return writer.leading(); }),
      parsing(static_cast<std::size_t>(cfg.http.parse_threads), cfg.http.max_queued_parses),
      outbox(notifications_repo, this->policy),
      silences(silences_repo, alarms, this->policy, domains),
      services{
          keys,
          people,
          audit,
          cfg.auth,
          registry,
          ingest,
          history,
          alarms,
          w.database_ready ? std::move(w.database_ready)
                           : std::function<boost::asio::awaitable<bool>()>([this] { return db.ping(); }),
          parsing,
          cfg.http,
          outbox,
          silences,
          nearby,
          stats,
          retention,
          std::move(w.metrics_text),
          cfg.metrics,
          cluster,
          cfg.cluster,
          [this] {
              auto ways = nlohmann::json::object();
              if (mqtt) ways["mqtt"] = mqtt->status();
              if (modbus) ways["modbus"] = modbus->status();
              return ways;
          },
          [this]() -> boost::asio::awaitable<nlohmann::json> {
              if (!upward) co_return nlohmann::json{{"enabled", false}};
              co_return co_await upward->status();
          }},
      dispatcher(api::make_router(services), keys),
      http_metrics(route_labels(dispatcher)),
      feed(event_log, keys, directory, cfg.feed, cfg.http.json_max_depth),
      files(
          cfg.web.root,
          nlohmann::json{
              {"tile_url", cfg.web.tile_url},
              {"boundaries", has_boundaries(cfg) ? nlohmann::json("boundaries.geojson") : nlohmann::json(nullptr)}}
              .dump(),
          {{"/boundaries.geojson", cfg.web.boundaries_file}}
      ),
      upward(
          cfg.upward.url.empty()
              ? nullptr
              : std::make_unique<upward::exporter>(ioc, event_log, upward_repo, directory, cfg.upward)
      ),
      server(ioc, cfg, dispatcher, feed, files, http_metrics) {}

}  // namespace cityguard::app
