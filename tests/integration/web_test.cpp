#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/test_env.hpp"

using namespace cityguard::test;
namespace fs = std::filesystem;

namespace {

/// A web root with a page, a script, a nested image and a hidden file, beside a secret.
struct web_root {
    fs::path base = fs::temp_directory_path() / ("cg-web-" + std::to_string(::getpid()));
    web_root() {
        fs::create_directories(base / "web" / "img");
        write(base / "web" / "index.html", "<!doctype html><p>hello</p>");
        write(base / "web" / "app.js", "console.log(1)");
        write(base / "web" / "img" / "logo.svg", "<svg/>");
        write(base / "web" / ".env", "secret");
        write(base / "secret.txt", "secret");
    }
    ~web_root() { fs::remove_all(base); }
    static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
};

}  // namespace

TEST(Web, ServesTheDashboardFilesWithTypesAndRevalidation) {
    CITYGUARD_REQUIRE_DB();
    web_root root;
    auto cfg = test_config("");
    cfg.web.root = (root.base / "web").string();
    cfg.web.tile_url = "http://tiles.example/{z}/{x}/{y}.png";
    cfg.web.boundaries_file = CITYGUARD_SOURCE_DIR "/config/demo/shenzhen-districts.geojson";
    test_server srv(cfg);
    auto c = srv.client();

    auto page = c.request("GET", "/");
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(page.headers["Content-Type"], "text/html; charset=utf-8");
    EXPECT_EQ(page.headers["Cache-Control"], "no-cache");
    EXPECT_EQ(page.headers["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(page.body, "<!doctype html><p>hello</p>");
    const auto etag = page.headers["ETag"];
    ASSERT_FALSE(etag.empty());
    EXPECT_EQ(c.request("GET", "/index.html").body, page.body);
    auto again = c.request("GET", "/", "", {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());

    EXPECT_EQ(c.request("GET", "/app.js").headers["Content-Type"], "text/javascript; charset=utf-8");
    EXPECT_EQ(c.request("GET", "/img/logo.svg").headers["Content-Type"], "image/svg+xml");
    auto settings = c.request("GET", "/settings.json");
    ASSERT_EQ(settings.status, 200);
    EXPECT_EQ(settings.json()["tile_url"], "http://tiles.example/{z}/{x}/{y}.png");
    // The map's district boundaries, from outside the web root.
    EXPECT_EQ(settings.json()["boundaries"], "boundaries.geojson");
    auto boundaries = c.request("GET", "/boundaries.geojson");
    ASSERT_EQ(boundaries.status, 200);
    EXPECT_EQ(boundaries.headers["Content-Type"], "application/geo+json");
    EXPECT_GE(boundaries.json()["features"].size(), 8u);
}

TEST(Web, NothingOutsideTheFileTableIsReachable) {
    CITYGUARD_REQUIRE_DB();
    web_root root;
    auto cfg = test_config("");
    cfg.web.root = (root.base / "web").string();
    test_server srv(cfg);
    auto c = srv.client();
    for (const char* target :
         {"/../secret.txt",
          "/%2e%2e/secret.txt",
          "/img/../../secret.txt",
          "/.env",
          "//etc/passwd",
          "/img/",
          "/missing.js"}) {
        auto r = c.request("GET", target);
        EXPECT_TRUE(r.status == 404 || r.status == 400) << target << " -> " << r.status;
        EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
        EXPECT_TRUE(r.json().contains("error")) << target;
    }
    // The API is untouched by the file table.
    EXPECT_EQ(c.request("GET", "/api/v1/nope").json()["error"]["code"], "not_found");
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
}
