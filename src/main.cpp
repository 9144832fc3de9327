#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cityguard/app/app.hpp"
#include "cityguard/config/config.hpp"

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    const std::string exe_dir = ec ? fs::path(argv[0]).parent_path().string() : exe.parent_path().string();

    cityguard::config::load_result loaded;
    try {
        loaded = cityguard::config::load({argv + 1, argv + argc}, cityguard::config::process_environment(), exe_dir);
    } catch (const cityguard::config::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
    if (loaded.action == cityguard::config::cli_action::help) {
        std::cout << cityguard::config::usage();
        return 0;
    }
    if (loaded.action == cityguard::config::cli_action::version) {
        std::cout << "cityguard " << CITYGUARD_VERSION << "\n";
        return 0;
    }
    spdlog::set_level(spdlog::level::from_str(loaded.cfg.log_level));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%t] %v");
    if (!loaded.config_path.empty()) spdlog::info("configuration from {}", loaded.config_path);

    cityguard::app::app server(std::move(loaded.cfg));
    try {
        server.start();
    } catch (const std::exception& e) {
        spdlog::critical("start-up failed: {}", e.what());
        return 1;
    }
    if (const auto& key = server.generated_admin_key()) spdlog::warn("first admin key (shown once): {}", *key);
    server.wait_for_signal();
    return 0;
}
