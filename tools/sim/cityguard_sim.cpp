// cityguard-sim: posts realistic readings for a registry through the public API, the way a
// sensor gateway would, with scripted incidents on a timeline (docs/demo.md).
//
// Only the public ways in are used (HTTP, and MQTT through a broker with --mqtt): what the
// simulator can do, a real gateway can do.

#include <modbus/modbus.h>
#include <mosquitto.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cityguard/util/time.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
using cityguard::util::micros;

volatile std::sig_atomic_t g_stop = 0;

struct options {
    std::string host = "127.0.0.1";
    std::string port = "8080";
    std::string key;
    std::string registry = "config/demo/registry.json";
    double speed = 1.0;       ///< readings per sensor interval (2 = twice as often)
    double time_scale = 1.0;  ///< the incident timeline runs this many times faster
    double duration_s = 0;    ///< 0 = until Ctrl-C
    double start_s = 5;       ///< first incident this long after start (before scaling)
    bool incidents = true;
    bool quiet = false;
    std::string mqtt;              ///< HOST:PORT of the broker; empty: everything over HTTP
    std::string mqtt_map;          ///< the server's MQTT mapping file: which sensors go over MQTT
    std::string mqtt_credentials;  ///< {"<gateway id>":"<password>", ...}
    std::string modbus_map;        ///< the server's Modbus connector file: the simulator is its devices
};

const char* kUsage =
    "usage: cityguard-sim [--url http://HOST:PORT] [--key KEY] [--registry FILE] [--speed F]\n"
    "                     [--time-scale F] [--duration S] [--start S] [--no-incidents] [--quiet]\n"
    "  --url         server (default http://127.0.0.1:8080)\n"
    "  --key         gateway (or admin) API key; default $CITYGUARD_SIM_KEY\n"
    "  --registry    sites and sensors to simulate (default config/demo/registry.json)\n"
    "  --speed       readings per sensor interval (default 1: each sensor at its interval_s)\n"
    "  --time-scale  run the incident timeline F times faster (default 1, about two minutes)\n"
    "  --duration    stop after S seconds (default: run until Ctrl-C)\n"
    "  --start       seconds before the first incident (default 5)\n"
    "  --no-incidents  readings with noise only\n"
    "  --mqtt HOST:PORT --mqtt-map FILE --mqtt-credentials FILE\n"
    "                the sensors the mapping file gives a gateway are published by that gateway\n"
    "                to the broker (QoS 1, with its password from the credentials file):\n"
    "                ThingsBoard telemetry for a device's fields, CityGuard's body otherwise\n"
    "  --modbus-map FILE  the simulator is the Modbus TCP devices of the server's connector file:\n"
    "                their points' sensors are read by the server from its registers, not posted\n";

struct sensor {
    std::string id, site, domain, kind;
    double interval_s = 60;
    json limits;
    double base = 0, noise = 0;    ///< normal value and its spread
    double next_due = 0;           ///< seconds since start
    std::optional<double> forced;  ///< an incident's value, replacing the normal one
    bool silent = false;           ///< an incident's "offline": nothing is sent
    bool frozen = false;           ///< an incident's stuck transmitter: `forced` exactly, every time
    std::optional<double> once;    ///< an incident's glitch: the next reading only, however late it comes
    double drift = 0;              ///< cumulative sensors creep by this per reading
};

double limit(const json& limits, const char* name, double fallback) {
    auto it = limits.find(name);
    return it != limits.end() && it->is_number() ? it->get<double>() : fallback;
}

/// A plausible normal value and noise for each kind, inside the sensor's own limits.
void normal_model(sensor& s) {
    const auto& k = s.kind;
    if (k == "gas_lel" || k == "tunnel_gas_lel")
        s.base = 0.6, s.noise = 0.3;
    else if (k == "gas_vol")
        s.base = 0.02, s.noise = 0.01;
    else if (k == "pressure") {
        const double lo = limit(s.limits, "low", 0.1), hi = limit(s.limits, "high", 0.4);
        s.base = (lo + hi) / 2, s.noise = (hi - lo) / 40;
    } else if (k == "tank_level") {
        const double lo = limit(s.limits, "low", 20), hi = limit(s.limits, "high", 85);
        s.base = (lo + hi) / 2, s.noise = 0.3;
    } else if (k == "temperature") {
        const double lo = limit(s.limits, "low", 10), hi = limit(s.limits, "high", 40);
        s.base = (lo + hi) / 2, s.noise = 0.4;
    } else if (k == "toxic_gas")
        s.base = 0.1 * limit(s.limits, "oel", 10), s.noise = 0.03 * limit(s.limits, "oel", 10);
    else if (k == "vibration_rms" || k == "deflection" || k == "strain" || k == "strut_force" || (k == "displacement" && s.domain == "bridge"))
        s.base = 0.3 * limit(s.limits, "design", 1), s.noise = 0.02 * limit(s.limits, "design", 1);
    else if (k == "settlement" || k == "displacement")
        s.base = 0, s.noise = 0.05;
    else if (k == "modal_frequency")
        s.base = limit(s.limits, "baseline_frequency_hz", 2), s.noise = 0.005;
    else if (k == "water_pressure")
        s.base = 0.35, s.noise = 0.004;
    else if (k == "flow")
        s.base = limit(s.limits, "normal_flow", 1000), s.noise = 0.02 * limit(s.limits, "normal_flow", 1000);
    else if (k == "residual_chlorine")
        s.base = 0.6, s.noise = 0.02;
    else if (k == "turbidity")
        s.base = 0.3, s.noise = 0.02;
    else if (k == "manhole_fill" || k == "pipe_fill" || k == "sump_level")
        s.base = 0.3, s.noise = 0.01;
    else if (k == "o2")
        s.base = 20.8, s.noise = 0.05;
    else if (k == "fan_running" || k == "drain_pump_running")
        s.base = 1, s.noise = 0;  // running
    else if (k == "h2s")
        s.base = 0.2, s.noise = 0.05;
    else
        s.base = 0, s.noise = 0;  // detections (video, leak, grounding, ESD): 0 = nothing seen
}

/// One scripted incident: at `at` (seconds on the timeline) `apply` changes sensors.
struct step {
    double at;
    std::string what;
    std::function<void(double now)> apply;
};

/// The gateways of the mapping file, each a libmosquitto client with its own broker account,
/// and which sensor each publishes, on which topic, under which field.
class mqtt_gateways {
  public:
    struct route {
        std::size_t gateway = 0;
        std::string topic;
        std::string field;  ///< empty: CityGuard's readings body
    };

    mqtt_gateways(const options& opt) {
        if (opt.mqtt.empty()) return;
        const auto colon = opt.mqtt.rfind(':');
        if (colon == std::string::npos) throw std::runtime_error("--mqtt needs HOST:PORT");
        const std::string host = opt.mqtt.substr(0, colon);
        const int port = std::stoi(opt.mqtt.substr(colon + 1));
        const json map = read_json(opt.mqtt_map), credentials = read_json(opt.mqtt_credentials);
        mosquitto_lib_init();
        for (const auto& g : map.at("gateways")) {
            const std::string id = g.at("id");
            const std::string prefix = "cityguard/gateways/" + id + "/";
            auto* client = mosquitto_new(("sim-" + id).c_str(), true, nullptr);
            if (!client) throw std::runtime_error("mosquitto_new failed");
            mosquitto_username_pw_set(client, id.c_str(), credentials.at(id).get<std::string>().c_str());
            mosquitto_reconnect_delay_set(client, 1, 30, true);
            if (mosquitto_connect_async(client, host.c_str(), port, 30) != MOSQ_ERR_SUCCESS ||
                mosquitto_loop_start(client) != MOSQ_ERR_SUCCESS)
                throw std::runtime_error("cannot reach the MQTT broker at " + opt.mqtt);
            clients_.push_back(client);
            for (const auto& site : g.value("sites", json::array()))
                sites_[site.get<std::string>()] = {clients_.size() - 1, prefix + "readings", ""};
            for (const auto& d : g.value("devices", json::array()))
                for (const auto& [field, sensor] : d.at("fields").items())
                    sensors_[sensor.get<std::string>()] = {clients_.size() - 1, d.at("topic"), field};
        }
    }
    ~mqtt_gateways() {
        for (auto* c : clients_) {
            mosquitto_disconnect(c);
            mosquitto_loop_stop(c, true);
            mosquitto_destroy(c);
        }
    }
    mqtt_gateways(const mqtt_gateways&) = delete;
    mqtt_gateways& operator=(const mqtt_gateways&) = delete;

    /// The route of a sensor: by its own mapping, else by its site's gateway. Video detections
    /// stay on HTTP, where their evidence goes.
    const route* route_of(const sensor& s) const {
        if (s.kind.starts_with("video.")) return nullptr;
        if (auto it = sensors_.find(s.id); it != sensors_.end()) return &it->second;
        if (auto it = sites_.find(s.site); it != sites_.end()) return &it->second;
        return nullptr;
    }
    /// Publishes at QoS 1; libmosquitto keeps it until the broker acknowledges.
    bool publish(std::size_t gateway, const std::string& topic, const std::string& payload) {
        return mosquitto_publish(
                   clients_[gateway], nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false
               ) == MOSQ_ERR_SUCCESS;
    }

  private:
    static json read_json(const std::string& path) {
        std::ifstream in(path);
        if (!in) throw std::runtime_error("cannot read " + path);
        std::stringstream text;
        text << in.rdbuf();
        return json::parse(text.str());
    }
    std::vector<mosquitto*> clients_;
    std::map<std::string, route> sensors_, sites_;
};

/// The Modbus TCP devices of the server's connector file, served with libmodbus on their ports:
/// the simulator writes each point's register, the server polls it.
class modbus_devices {
  public:
    explicit modbus_devices(const options& opt) {
        if (opt.modbus_map.empty()) return;
        std::ifstream in(opt.modbus_map);
        if (!in) throw std::runtime_error("cannot read " + opt.modbus_map);
        std::stringstream text;
        text << in.rdbuf();
        const json doc = json::parse(text.str());
        for (const auto& d : doc.at("devices")) {
            auto dev = std::make_unique<device>();
            dev->map = modbus_mapping_new(64, 64, 256, 256);
            dev->ctx = modbus_new_tcp(d.at("host").get<std::string>().c_str(), d.at("port").get<int>());
            dev->listener = modbus_tcp_listen(dev->ctx, 1);
            if (dev->listener < 0) throw std::runtime_error("cannot listen for Modbus on port " + d.at("port").dump());
            for (const auto& p : d.at("points"))
                points_[p.at("sensor")] = {
                    dev.get(),
                    p.value("table", std::string("holding")),
                    p.at("address").get<int>(),
                    p.value("type", std::string("uint16")),
                    p.value("scale", 1.0),
                    p.value("offset", 0.0)};
            auto* raw = dev.get();
            dev->thread = std::thread([raw] { serve(*raw); });
            devices_.push_back(std::move(dev));
        }
    }
    ~modbus_devices() {
        for (auto& d : devices_) {
            d->running = false;
            ::shutdown(d->listener, SHUT_RDWR);
            if (const int c = d->client.load(); c >= 0) ::shutdown(c, SHUT_RDWR);
            d->thread.join();
            ::close(d->listener);
            modbus_free(d->ctx);
            modbus_mapping_free(d->map);
        }
    }
    modbus_devices(const modbus_devices&) = delete;
    modbus_devices& operator=(const modbus_devices&) = delete;

    /// Sets the sensor's register if a device holds it; false: the sensor is not on Modbus.
    bool set(const std::string& sensor, double value) {
        const auto it = points_.find(sensor);
        if (it == points_.end()) return false;
        const auto& p = it->second;
        std::lock_guard lock(p.dev->mutex);
        std::uint16_t* regs = p.table == "input" ? p.dev->map->tab_input_registers : p.dev->map->tab_registers;
        const double raw = (value - p.offset) / p.scale;
        if (p.table == "coil" || p.table == "discrete") {
            (p.table == "coil" ? p.dev->map->tab_bits : p.dev->map->tab_input_bits)[p.address] = raw >= 0.5;
        } else if (p.type == "float32") {
            const float f = static_cast<float>(raw);
            std::uint32_t bits = 0;
            std::memcpy(&bits, &f, sizeof bits);
            regs[p.address] = static_cast<std::uint16_t>(bits >> 16);  // ABCD: the high word first
            regs[p.address + 1] = static_cast<std::uint16_t>(bits & 0xFFFF);
        } else {
            regs[p.address] = static_cast<std::uint16_t>(std::lround(std::clamp(raw, 0.0, 65535.0)));
        }
        return true;
    }

  private:
    struct device {
        modbus_t* ctx = nullptr;
        modbus_mapping_t* map = nullptr;
        int listener = -1;
        std::atomic<int> client{-1};
        std::atomic<bool> running{true};
        std::mutex mutex;
        std::thread thread;
    };
    struct point {
        device* dev = nullptr;
        std::string table;
        int address = 0;
        std::string type;
        double scale = 1, offset = 0;
    };
    static void serve(device& d) {
        while (d.running) {
            int listener = d.listener;
            const int s = modbus_tcp_accept(d.ctx, &listener);
            if (s < 0) return;
            d.client = s;
            std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
            while (d.running) {
                const int n = modbus_receive(d.ctx, query);
                if (n == -1) break;
                if (n == 0) continue;
                std::lock_guard lock(d.mutex);
                modbus_reply(d.ctx, query, n, d.map);
            }
            d.client = -1;
            modbus_close(d.ctx);
        }
    }
    std::vector<std::unique_ptr<device>> devices_;
    std::map<std::string, point> points_;
};

class simulator {
  public:
    simulator(options opt, std::vector<sensor> sensors)
        : opt_(std::move(opt)), sensors_(std::move(sensors)), mqtt_(opt_), modbus_(opt_) {}

    int run();

  private:
    sensor* find(const std::string& domain, const std::string& kind, std::size_t nth = 0);
    sensor* at_site(const std::string& site, const std::string& kind);
    std::vector<step> timeline();
    void backfill();
    bool post(const json& readings);
    double value_of(sensor& s);

    options opt_;
    std::vector<sensor> sensors_;
    std::mt19937 rng_{20261122};
    net::io_context ioc_;
    std::optional<beast::tcp_stream> stream_;
    std::size_t posted_ = 0, failed_posts_ = 0, published_ = 0, failed_publishes_ = 0;
    mqtt_gateways mqtt_;
    modbus_devices modbus_;
    std::size_t written_ = 0;  // register updates for the Modbus devices
};

sensor* simulator::find(const std::string& domain, const std::string& kind, std::size_t nth) {
    // The nth sensor of a kind, within the first site of the domain that has enough of them.
    std::map<std::string, std::vector<sensor*>> by_site;
    std::vector<std::string> order;
    for (auto& s : sensors_)
        if (s.domain == domain && s.kind == kind) {
            if (!by_site.count(s.site)) order.push_back(s.site);
            by_site[s.site].push_back(&s);
        }
    for (const auto& site : order)
        if (by_site[site].size() > nth) return by_site[site][nth];
    return nullptr;
}

sensor* simulator::at_site(const std::string& site, const std::string& kind) {
    for (auto& s : sensors_)
        if (s.site == site && s.kind == kind) return &s;
    return nullptr;
}

std::vector<step> simulator::timeline() {
    std::vector<step> steps;
    auto ramp = [&](sensor* s, double at, double from, double to, double over, int n, const std::string& what) {
        if (!s) return;
        for (int i = 0; i <= n; ++i) {
            const double v = from + (to - from) * i / n;
            steps.push_back({at + over * i / n, i == 0 ? what : "", [s, v](double) {
                                 s->forced = v;
                                 s->next_due = 0;  // report the change now, as a gateway does
                             }});
        }
    };
    auto set = [&](sensor* s, double at, std::optional<double> v, const std::string& what) {
        if (s)
            steps.push_back({at, what, [s, v](double) {
                                 s->forced = v;
                                 s->next_due = 0;  // report the change now, as a gateway does
                             }});
    };
    const double t0 = opt_.start_s;

    // A gas leak in a valve well: the detector in it climbs to red, the one in the next well
    // follows to orange a little later (the gas spreads along the pipe trench): two adjacent
    // wells at 20 %LEL confirm the leak (a red correlation alarm, when they are within 200 m).
    sensor* well = find("gas_pipeline", "gas_lel", 0);
    sensor* next_well = find("gas_pipeline", "gas_lel", 1);
    ramp(well, t0, 1, 58, 40, 8, "gas leak: " + (well ? well->id : "?") + " ramps to 58 %LEL");
    ramp(next_well, t0 + 15, 1, 25, 30, 5, "gas leak spreads: " + (next_well ? next_well->id : "?") + " to 25 %LEL");
    set(well, t0 + 100, std::nullopt, "gas leak isolated");
    set(next_well, t0 + 100, std::nullopt, "");

    // A bridge vibration burst: 0.9 x design for half a minute (heavy trucks, wind).
    sensor* vib = find("bridge", "vibration_rms");
    if (vib) {
        const double design = limit(vib->limits, "design", 1);
        set(vib, t0 + 10, 0.9 * design, "bridge vibration burst on " + vib->id);
        set(vib, t0 + 45, std::nullopt, "bridge vibration back to normal");
    }

    // Ground settlement creeping past 3 mm/day next to an excavation (its last day of hourly
    // readings was back-filled at start; this reading puts the daily rate over the limit).
    sensor* settle = find("ground", "settlement");
    if (settle) set(settle, t0 + 20, 3.6, "settlement " + settle->id + " creeps to 3.6 mm in a day");

    // A tanker unloads at a gas station with the grounding clamp off: video sees the unloading,
    // the grounding monitor reports its fault; together, for 30 s, a red compound alarm.
    sensor* ground_clamp = find("gas_station", "static_ground");
    const std::string station = ground_clamp ? ground_clamp->site : "";
    sensor* unloading = at_site(station, "video.unloading");
    sensor* video = at_site(station, "video.unloading_no_grounding");
    set(unloading, t0 + 22, 1, "video: a tanker starts unloading at " + station);
    set(ground_clamp, t0 + 25, 1, "tanker unloading without grounding at " + station);
    set(video, t0 + 27, 1, "video: unloading without grounding");
    // The camera repeats its state every few seconds, as video analysis gateways do.
    for (double at = t0 + 35; at < t0 + 80; at += 10) set(unloading, at, 1, "");
    set(ground_clamp, t0 + 80, 0, "grounding clamp attached");
    set(video, t0 + 80, 0, "");
    set(unloading, t0 + 100, 0, "unloading finished");

    // A pressure transmitter is frozen from the start (its last hour, back-filled, is one value):
    // a fault alarm, and the pipeline's pressure alarms cannot be judged by it.
    if (sensor* frozen = find("gas_pipeline", "pressure")) {
        frozen->forced = frozen->base;
        frozen->frozen = true;
        steps.push_back({0, "pressure transmitter " + frozen->id + " is frozen (stuck for an hour)", [](double) {}});
    }

    // A settlement gauge glitches: one reading 25 mm off, then plausible again (a spike).
    if (sensor* glitch = find("ground", "settlement", 1)) {
        // One reading only: a glitch repeated by the next reading would be a real shift.
        const double spike = glitch->base + 25;
        steps.push_back(
            {t0 + 40,
             "settlement gauge " + glitch->id + " spikes by 25 mm for one reading",
             [glitch, spike](double) {
                 glitch->once = spike;
                 glitch->next_due = 0;
             }}
        );
    }

    // A toxic-gas release at a chemical plant: 2.5 x the occupational exposure limit.
    sensor* tox = find("chemical_plant", "toxic_gas");
    if (tox) {
        const double oel = limit(tox->limits, "oel", 10);
        ramp(tox, t0 + 35, 0.1 * oel, 2.5 * oel, 15, 3, "toxic gas release at " + tox->site);
        set(tox, t0 + 95, std::nullopt, "toxic gas dispersed");
    }

    // The rainstorm (the city's 2023-09-07 reference event): rain rises at the gauges, ponding
    // climbs at two underpasses, a manhole nears overflow and its pumping station faults.
    for (std::size_t i = 0;; ++i) {
        sensor* rain = find("drainage", "rain_1h", i);
        if (!rain) break;
        ramp(rain, t0 + 30, 4, 56, 40, 8, i == 0 ? "rainstorm: rain rises to 56 mm in an hour" : "");
    }
    ramp(find("drainage", "rain_3h"), t0 + 30, 10, 68, 40, 6, "");
    ramp(find("drainage", "ponding_depth", 0), t0 + 40, 2, 34, 60, 10, "ponding climbs at the first underpass");
    ramp(find("drainage", "ponding_depth", 1), t0 + 50, 1, 22, 60, 8, "ponding climbs at the second underpass");
    ramp(find("drainage", "manhole_fill"), t0 + 45, 0.4, 0.97, 40, 6, "a manhole nears overflow");
    set(find("drainage", "pump_fault"), t0 + 60, 1, "a drainage pumping station faults");

    // A water main bursts: pressure collapses, the flow jumps.
    sensor* main_pressure = find("water_supply", "water_pressure");
    ramp(main_pressure, t0 + 70, 0.35, 0.09, 10, 4, "water main burst: pressure collapses");
    if (sensor* flow = find("water_supply", "flow"))
        set(flow, t0 + 70, 1.7 * limit(flow->limits, "normal_flow", 1000), "water main burst: the flow jumps");

    // Gas builds up in a utility-tunnel compartment.
    ramp(find("utility_tunnel", "gas_lel"), t0 + 55, 1, 26, 30, 6, "gas builds up in a utility-tunnel compartment");

    // A sensor goes offline (power cut) and comes back.
    sensor* esd = find("major_hazard", "emergency_stop");
    if (esd) {
        const double gap = std::max(4.5 * esd->interval_s / opt_.speed, 45.0 / opt_.time_scale);
        steps.push_back({t0 + 5, "sensor " + esd->id + " goes offline", [esd](double) { esd->silent = true; }});
        steps.push_back({t0 + 5 + gap * opt_.time_scale, "sensor " + esd->id + " is back", [esd](double) {
                             esd->silent = false;
                             esd->next_due = 0;
                         }});
    }
    std::stable_sort(steps.begin(), steps.end(), [](const step& a, const step& b) { return a.at < b.at; });
    return steps;
}

double simulator::value_of(sensor& s) {
    if (s.once) {
        const double v = *s.once;
        s.once.reset();
        return v;
    }
    if (s.frozen && s.forced) return *s.forced;
    if (s.forced) {
        std::normal_distribution<double> jitter(0, s.noise / 4);
        return *s.forced + (s.noise > 0 ? jitter(rng_) : 0);
    }
    std::normal_distribution<double> noise(0, s.noise > 0 ? s.noise : 1);
    const double v = s.noise > 0 ? s.base + noise(rng_) : s.base;
    // Concentrations and levels are never negative: detectors report 0 in clean air.
    const bool non_negative = s.kind.find("gas") != std::string::npos || s.kind == "tank_level";
    return non_negative ? std::max(v, 0.0) : v;
}

void simulator::backfill() {
    // Cumulative rules (settlement, wall displacement) judge a daily rate: give them the last
    // day of hourly readings, as a gateway uploading its buffer after a restart would.
    const micros now = cityguard::util::now_micros();
    const micros hour = 3'600'000'000LL;
    const micros top = now / hour * hour;
    json readings = json::array();
    for (auto& s : sensors_) {
        if (s.domain != "ground" || (s.kind != "settlement" && s.kind != "displacement")) continue;
        for (int h = 24; h >= 1; --h) {
            const double creep = s.kind == "settlement" ? 0.05 * (24 - h) : 0.02 * (24 - h);  // ~1 mm/day
            readings.push_back(
                {{"sensor", s.id},
                 {"ts", cityguard::util::format_rfc3339(top - h * hour)},
                 {"value", std::round((s.base + creep) * 100) / 100}}
            );
        }
    }
    // Water-main pressure and underpass ponding: the last ten minutes, one reading a minute, so
    // the burst's pressure drop and the ponding's rise are judged against a covered window from
    // the first minute of a run (a rate rule says nothing over a window it has not seen).
    for (auto& s : sensors_) {
        if (s.kind != "water_pressure" && s.kind != "ponding_depth") continue;
        for (int m = 10; m >= 1; --m)
            readings.push_back(
                {{"sensor", s.id}, {"ts", cityguard::util::format_rfc3339(now - m * 60'000'000LL)}, {"value", s.base}}
            );
    }
    // The transmitter the timeline freezes: its last hour, one identical reading a minute (a
    // stuck-sensor rule needs that much history to say "stuck").
    if (sensor* frozen = opt_.incidents ? find("gas_pipeline", "pressure") : nullptr) {
        const micros minute = 60'000'000LL;
        for (int m = 61; m >= 1; --m)
            readings.push_back(
                {{"sensor", frozen->id},
                 {"ts", cityguard::util::format_rfc3339(now - m * minute)},
                 {"value", frozen->base}}
            );
    }
    // A girder creeping 0.03 mm a day (11 mm a year, over 10 % of its 80 mm design value): the
    // last 60 days, four readings a day. A trend rule needs weeks of daily means to see it.
    if (sensor* girder = opt_.incidents ? find("bridge", "deflection") : nullptr) {
        const micros six_hours = 6 * hour;
        for (int q = 60 * 4; q >= 1; --q) {
            const double days_ago = q / 4.0;
            const double wiggle = (q % 4 < 2 ? 0.15 : -0.15) + 0.01 * (q % 7);  // traffic and temperature
            readings.push_back(
                {{"sensor", girder->id},
                 {"ts", cityguard::util::format_rfc3339(top - q * six_hours)},
                 {"value", std::round((girder->base - 0.03 * days_ago + wiggle) * 100) / 100}}
            );
        }
    }
    if (!readings.empty() && post(readings) && !opt_.quiet)
        std::cout << "back-filled " << readings.size()
                  << " readings (ground sensors' last day, a frozen transmitter's last hour, a creeping girder's "
                     "last 60 days)\n";
}

bool simulator::post(const json& readings) {
    const std::string body = json{{"readings", readings}}.dump();
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            if (!stream_) {
                stream_.emplace(ioc_);
                net::ip::tcp::resolver resolver(ioc_);
                stream_->connect(resolver.resolve(opt_.host, opt_.port));
            }
            http::request<http::string_body> req{http::verb::post, "/api/v1/readings", 11};
            req.set(http::field::host, opt_.host);
            req.set(http::field::authorization, "Bearer " + opt_.key);
            req.set(http::field::content_type, "application/json");
            req.set(http::field::user_agent, "cityguard-sim");
            req.keep_alive(true);
            req.body() = body;
            req.prepare_payload();
            stream_->expires_after(std::chrono::seconds(30));
            http::write(*stream_, req);
            beast::flat_buffer buffer;
            http::response<http::string_body> res;
            http::read(*stream_, buffer, res);
            if (!res.keep_alive()) stream_.reset();
            if (res.result_int() == 200) {
                posted_ += readings.size();
                return true;
            }
            ++failed_posts_;
            std::cerr << "POST /api/v1/readings: " << res.result_int() << " " << res.body() << "\n";
            if (res.result_int() == 401 || res.result_int() == 403) g_stop = 1;
            return false;
        } catch (const std::exception& e) {
            stream_.reset();
            if (attempt == 1) {
                ++failed_posts_;
                std::cerr << "POST /api/v1/readings failed: " << e.what() << "\n";
            }
        }
    }
    return false;
}

int simulator::run() {
    std::uniform_real_distribution<double> spread(0, 1);
    for (auto& s : sensors_) s.next_due = spread(rng_) * std::min(s.interval_s / opt_.speed, 5.0);
    backfill();
    auto steps = opt_.incidents ? timeline() : std::vector<step>{};
    std::size_t next_step = 0;
    const auto started = clock_type::now();
    auto last_report = started;
    if (!opt_.quiet)
        std::cout << "simulating " << sensors_.size() << " sensors against http://" << opt_.host << ":" << opt_.port
                  << (opt_.incidents ? ", incidents on" : ", incidents off") << std::endl;
    while (!g_stop) {
        const double now = std::chrono::duration<double>(clock_type::now() - started).count();
        if (opt_.duration_s > 0 && now >= opt_.duration_s) break;
        const double timeline_now = now * opt_.time_scale;
        while (next_step < steps.size() && steps[next_step].at <= timeline_now) {
            auto& st = steps[next_step++];
            st.apply(now);
            if (!st.what.empty() && !opt_.quiet)
                std::cout << "[" << static_cast<int>(now) << " s] " << st.what << std::endl;
        }
        json readings = json::array();
        const auto now_us = cityguard::util::now_micros();
        const auto ts = cityguard::util::format_rfc3339(now_us);
        std::map<std::pair<std::size_t, std::string>, json> by_topic;  // MQTT: one message per gateway topic
        for (auto& s : sensors_) {
            if (s.silent || now < s.next_due) continue;
            // Sensors in an incident report every few seconds, as gateways do on a change.
            const double every = s.forced ? std::min(s.interval_s / opt_.speed, 5.0) : s.interval_s / opt_.speed;
            s.next_due = now + every;
            const double value = std::round(value_of(s) * 1000) / 1000;
            if (modbus_.set(s.id, value)) {
                ++written_;
                continue;
            }
            if (const auto* route = mqtt_.route_of(s)) {
                json& message = by_topic[{route->gateway, route->topic}];
                if (route->field.empty())
                    message["readings"].push_back({{"sensor", s.id}, {"ts", now_us / 1000}, {"value", value}});
                else {
                    message["ts"] = now_us / 1000;
                    message["values"][route->field] = value;
                }
                continue;
            }
            json reading{{"sensor", s.id}, {"ts", ts}, {"value", value}};
            // A video detection comes with what the camera saw (docs/evidence.md): its channel id
            // and a snapshot, here the dashboard's stand-in picture.
            if (value >= 0.5 && s.kind.starts_with("video.")) {
                char camera[24];
                std::snprintf(
                    camera, sizeof camera, "4403040000132%07zu", static_cast<std::size_t>(&s - sensors_.data())
                );
                reading["evidence"] = {
                    {"camera", camera},
                    {"snapshot", "http://" + opt_.host + ":" + opt_.port + "/demo/snapshot.svg"},
                    {"label", s.kind.substr(6)}};
            }
            readings.push_back(std::move(reading));
        }
        if (!readings.empty()) post(readings);
        for (const auto& [where, message] : by_topic) {
            const auto n = message.contains("readings") ? message["readings"].size() : message["values"].size();
            (mqtt_.publish(where.first, where.second, message.dump()) ? published_ : failed_publishes_) += n;
        }
        if (!opt_.quiet && clock_type::now() - last_report > std::chrono::seconds(30)) {
            last_report = clock_type::now();
            std::cout << "[" << static_cast<int>(now) << " s] " << posted_ << " readings posted, " << failed_posts_
                      << " failed posts, " << published_ << " published over MQTT (" << failed_publishes_ << " not), "
                      << written_ << " written to Modbus registers" << std::endl;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!opt_.quiet) std::cout << posted_ << " readings posted, " << failed_posts_ << " failed posts" << std::endl;
    return 0;
}

std::vector<sensor> load_registry(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    const json doc = json::parse(text.str());
    std::map<std::string, std::string> domain_of;
    for (const auto& site : doc.at("sites")) domain_of[site.at("id")] = site.at("domain");
    std::vector<sensor> out;
    for (const auto& j : doc.at("sensors")) {
        sensor s;
        s.id = j.at("id");
        s.site = j.at("site");
        s.domain = domain_of[s.site];
        s.kind = j.at("kind");
        s.interval_s = j.value("interval_s", 60);
        s.limits = j.value("limits", json::object());
        normal_model(s);
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    if (const char* k = std::getenv("CITYGUARD_SIM_KEY")) opt.key = k;
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        for (std::size_t i = 0; i < args.size(); ++i) {
            const auto& a = args[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= args.size()) throw std::runtime_error(a + " needs a value");
                return args[++i];
            };
            if (a == "--url") {
                auto url = value();
                if (url.rfind("http://", 0) == 0) url = url.substr(7);
                while (!url.empty() && url.back() == '/') url.pop_back();
                const auto colon = url.rfind(':');
                if (colon == std::string::npos) throw std::runtime_error("--url needs http://HOST:PORT");
                opt.host = url.substr(0, colon);
                opt.port = url.substr(colon + 1);
            } else if (a == "--key")
                opt.key = value();
            else if (a == "--registry")
                opt.registry = value();
            else if (a == "--speed")
                opt.speed = std::stod(value());
            else if (a == "--time-scale")
                opt.time_scale = std::stod(value());
            else if (a == "--duration")
                opt.duration_s = std::stod(value());
            else if (a == "--start")
                opt.start_s = std::stod(value());
            else if (a == "--no-incidents")
                opt.incidents = false;
            else if (a == "--quiet")
                opt.quiet = true;
            else if (a == "--mqtt")
                opt.mqtt = value();
            else if (a == "--mqtt-map")
                opt.mqtt_map = value();
            else if (a == "--mqtt-credentials")
                opt.mqtt_credentials = value();
            else if (a == "--modbus-map")
                opt.modbus_map = value();
            else if (a == "--help" || a == "-h") {
                std::cout << kUsage;
                return 0;
            } else
                throw std::runtime_error("unknown argument " + a);
        }
        if (opt.key.empty()) throw std::runtime_error("no key: pass --key or set CITYGUARD_SIM_KEY");
        if (opt.speed <= 0 || opt.time_scale <= 0) throw std::runtime_error("--speed and --time-scale must be > 0");
        std::signal(SIGINT, [](int) { g_stop = 1; });
        std::signal(SIGTERM, [](int) { g_stop = 1; });
        simulator sim(opt, load_registry(opt.registry));
        return sim.run();
    } catch (const std::exception& e) {
        std::cerr << "cityguard-sim: " << e.what() << "\n" << kUsage;
        return 2;
    }
}
