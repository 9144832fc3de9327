// bench/mqtt's gateways: CONNECTIONS libmosquitto clients publish CityGuard readings bodies of
// BATCH readings at QoS 1 until TOTAL readings are out, each keeping at most kWindow messages
// unacknowledged by the broker. Sensors B-0 .. B-(SENSORS-1); every reading has its own (sensor, ts).
// Prints "published_messages=N published_readings=R seconds=S".
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

struct gateway {
    mosquitto* client = nullptr;
    std::atomic<long> acknowledged{0};
    long published = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 11) {
        std::fprintf(
            stderr, "usage: %s HOST PORT USER PASSWORD TOPIC TOTAL CONNECTIONS BATCH SENSORS BASE_MS\n", argv[0]
        );
        return 2;
    }
    const std::string host = argv[1], user = argv[3], password = argv[4], topic = argv[5];
    const int port = std::atoi(argv[2]), connections = std::atoi(argv[7]);
    const long long total = std::atoll(argv[6]);
    const int batch = std::atoi(argv[8]), sensors = std::atoi(argv[9]);
    const long long base_ms = std::atoll(argv[10]);
    constexpr long kWindow = 200;
    mosquitto_lib_init();
    std::vector<gateway> gateways(static_cast<std::size_t>(connections));
    for (int i = 0; i < connections; ++i) {
        auto& g = gateways[static_cast<std::size_t>(i)];
        g.client = mosquitto_new(("bench-" + std::to_string(i)).c_str(), true, &g);
        mosquitto_username_pw_set(g.client, user.c_str(), password.c_str());
        mosquitto_max_inflight_messages_set(g.client, 100);
        mosquitto_publish_callback_set(g.client, [](mosquitto*, void* self, int) {
            static_cast<gateway*>(self)->acknowledged.fetch_add(1, std::memory_order_relaxed);
        });
        if (mosquitto_connect(g.client, host.c_str(), port, 60) != MOSQ_ERR_SUCCESS || mosquitto_loop_start(g.client)) {
            std::fprintf(stderr, "cannot connect to %s:%d\n", host.c_str(), port);
            return 1;
        }
    }
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<long> readings{0};
    for (int i = 0; i < connections; ++i)
        threads.emplace_back([&, i] {
            auto& g = gateways[static_cast<std::size_t>(i)];
            std::string body;
            long long n = i;  // reading counter: connection i takes n = i, i + connections, ...
            while (readings.fetch_add(batch, std::memory_order_relaxed) + batch <= total) {
                while (g.published - g.acknowledged.load(std::memory_order_relaxed) >= kWindow)
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                body.assign("{\"readings\":[");
                for (int k = 0; k < batch; ++k, n += connections) {
                    char item[128];
                    std::snprintf(
                        item,
                        sizeof item,
                        "%s{\"sensor\":\"B-%lld\",\"ts\":%lld,\"value\":%lld.%lld}",
                        k ? "," : "",
                        n % sensors,
                        base_ms + n / sensors,
                        n % 4,
                        n % 10
                    );
                    body += item;
                }
                body += "]}";
                if (mosquitto_publish(
                        g.client, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(), 1, false
                    ))
                    break;
                ++g.published;
            }
        });
    for (auto& t : threads) t.join();
    long messages = 0;
    for (auto& g : gateways) {
        while (g.acknowledged.load() < g.published) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        messages += g.published;
        mosquitto_disconnect(g.client);
        mosquitto_loop_stop(g.client, true);
        mosquitto_destroy(g.client);
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("published_messages=%ld published_readings=%ld seconds=%.3f\n", messages, messages * batch, secs);
    return 0;
}
