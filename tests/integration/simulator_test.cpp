#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "../support/test_env.hpp"

extern char** environ;

using namespace cityguard::test;
using nlohmann::json;

namespace {

/// One site per domain with just the sensors the scripted incidents use, every sensor
/// reporting every 2 s so that the offline incident fits a short run.
json compact_registry() {
    auto site = [](const std::string& id, const std::string& domain) {
        return json{
            {"id", id}, {"name", id}, {"domain", domain}, {"district", "福田区"}, {"lat", 22.54}, {"lon", 114.05}};
    };
    auto sensor = [](const std::string& id, const std::string& site_id, const std::string& kind, json limits) {
        return json{
            {"id", id}, {"site", site_id}, {"kind", kind}, {"unit", "u"}, {"interval_s", 2}, {"limits", limits}};
    };
    json two_wells = json::array(
        {sensor("GP-1-LEL-01", "GP-1", "gas_lel", json::object()),
         sensor("GP-1-LEL-02", "GP-1", "gas_lel", json::object())}
    );
    two_wells[0]["lat"] = 22.5433, two_wells[0]["lon"] = 114.0555;  // about 130 m apart
    two_wells[1]["lat"] = 22.5424, two_wells[1]["lon"] = 114.0563;
    return {
        {"sites",
         {site("GP-1", "gas_pipeline"),
          site("BR-1", "bridge"),
          site("GD-1", "ground"),
          site("GS-1", "gas_station"),
          site("CP-1", "chemical_plant"),
          site("MH-1", "major_hazard"),
          site("DR-1", "drainage"),
          site("WS-1", "water_supply"),
          site("UT-1", "utility_tunnel")}},
        {"sensors",
         {two_wells[0],
          two_wells[1],
          sensor("BR-1-VIB-01", "BR-1", "vibration_rms", {{"design", 0.5}}),
          sensor("DR-1-R1H-01", "DR-1", "rain_1h", json::object()),
          sensor("DR-1-PUMP-01", "DR-1", "pump_fault", json::object()),
          sensor("WS-1-P-01", "WS-1", "water_pressure", json::object()),
          sensor("UT-1-CH4-01", "UT-1", "gas_lel", json::object()),
          sensor("BR-1-DEF-01", "BR-1", "deflection", {{"design", 80}}),
          sensor("GD-1-SET-01", "GD-1", "settlement", {{"cumulative", 30}, {"rate_per_day", 3}}),
          sensor("GD-1-SET-02", "GD-1", "settlement", {{"cumulative", 30}, {"rate_per_day", 3}}),
          sensor("GP-1-PRS-01", "GP-1", "pressure", {{"high", 0.4}, {"low", 0.1}}),
          sensor("GS-1-V-UNL", "GS-1", "video.unloading", json::object()),
          sensor("GS-1-GND-01", "GS-1", "static_ground", json::object()),
          sensor("GS-1-V-NOGND", "GS-1", "video.unloading_no_grounding", json::object()),
          sensor("CP-1-TOX-01", "CP-1", "toxic_gas", {{"oel", 10}}),
          sensor("MH-1-ESD-01", "MH-1", "emergency_stop", json::object())}}};
}

int run_simulator(const std::vector<std::string>& args) {
    std::vector<std::string> all{CITYGUARD_SIM_BINARY};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, CITYGUARD_SIM_BINARY, nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(Simulator, AShortRunRaisesAnAlarmForEachScriptedIncident) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    const auto registry = compact_registry();
    auto c = srv.client();
    ASSERT_EQ(c.call("POST", "/api/v1/registry", kAdminKey, registry.dump()).status, 200);
    const auto file =
        std::filesystem::temp_directory_path() / ("cg-sim-registry-" + std::to_string(::getpid()) + ".json");
    std::ofstream(file) << registry.dump();
    const auto key = srv.make_key("simulator", "gateway");

    // The two-minute timeline ten times faster: about 13 s.
    const int rc = run_simulator(
        {"--url",
         "http://127.0.0.1:" + std::to_string(srv.port()),
         "--key",
         key,
         "--registry",
         file.string(),
         "--time-scale",
         "10",
         "--start",
         "1",
         "--duration",
         "13",
         "--quiet"}
    );
    std::filesystem::remove(file);
    ASSERT_EQ(rc, 0);

    auto r = c.call("GET", "/api/v1/alarms?limit=1000", kAdminKey);
    ASSERT_EQ(r.status, 200) << r.body;
    std::set<std::string> seen;
    const auto body = r.json();
    for (const auto& a : body["alarms"])
        seen.insert(
            a["rule"].get<std::string>() + " " + a["sensor"].get<std::string>() + " " +
            a["peak_level"].get<std::string>()
        );
    std::string all;
    for (const auto& s : seen) all += s + "; ";
    for (const char* expected : {
             "gas_pipeline.manhole_lel GP-1-LEL-01 red",         // the leak
             "gas_pipeline.manhole_lel GP-1-LEL-02 orange",      // spreading to the next well
             "gas_pipeline.confirmed_leak  red",                 // two adjacent wells: a site alarm
             "bridge.vibration_rms BR-1-VIB-01 orange",          // the vibration burst
             "ground.settlement GD-1-SET-01 orange",             // creeping past 3 mm/day
             "gas_station.static_ground GS-1-GND-01 orange",     // unloading without grounding
             "gas_station.video_unloading GS-1-V-NOGND orange",  // ... seen on video
             "chemical_plant.toxic CP-1-TOX-01 orange",          // the release
             "major_hazard.offline MH-1-ESD-01 blue",            // offline, then back
             "gas_pipeline.pressure_fault GP-1-PRS-01 yellow",   // a frozen transmitter
             "ground.survey_fault GD-1-SET-02 blue",             // a spike
             "bridge.deflection_creep BR-1-DEF-01 orange",       // 11 mm a year, back-filled
             "drainage.rain_1h DR-1-R1H-01 orange",              // the rainstorm
             "drainage.pump_fault DR-1-PUMP-01 orange",          // a pumping station faults
             "water_supply.pressure_drop WS-1-P-01 orange",      // the water main bursts
             "utility_tunnel.gas UT-1-CH4-01 orange",            // gas in the tunnel
         })
        EXPECT_TRUE(seen.count(expected)) << expected << " not among: " << all;
}

TEST(Simulator, RefusesBadArgumentsWithUsage) {
    EXPECT_EQ(run_simulator({"--speed"}), 2);
    EXPECT_EQ(run_simulator({"--key", "x", "--speed", "0"}), 2);
    EXPECT_EQ(run_simulator({"--bogus"}), 2);
    EXPECT_EQ(run_simulator({"--help"}), 0);
}
