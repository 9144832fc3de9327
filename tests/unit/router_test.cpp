#include "cityguard/api/router.hpp"

#include <gtest/gtest.h>

using namespace cityguard::api;
namespace net = boost::asio;

namespace {
router sample() {
    router r;
    auto h = [](request&) -> net::awaitable<response> { co_return response{}; };
    r.add({"GET", "/api/v1/sites", access::read, false, h});
    r.add({"GET", "/api/v1/sites/{id}", access::read, false, h});
    r.add({"PUT", "/api/v1/sites/{id}", access::admin, true, h});
    r.add({"GET", "/api/v1/sensors/{id}/readings", access::read, false, h});
    return r;
}
}  // namespace

TEST(Router, MatchesWithParameters) {
    auto r = sample();
    auto m = r.find("GET", "/api/v1/sensors/GS-1/readings");
    ASSERT_TRUE(m.found);
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0], "GS-1");
}

TEST(Router, TellsNotFoundFromMethodNotAllowed) {
    auto r = sample();
    auto missing = r.find("GET", "/api/v1/nothing");
    EXPECT_FALSE(missing.found);
    EXPECT_TRUE(missing.allowed.empty());
    auto wrong = r.find("DELETE", "/api/v1/sites/X");
    EXPECT_FALSE(wrong.found);
    EXPECT_EQ(wrong.allowed, (std::vector<std::string>{"GET", "PUT"}));
    EXPECT_FALSE(r.find("GET", "/api/v1/sites/").found);
    EXPECT_FALSE(r.find("GET", "/api/v1/sites/a/b").found);
}

TEST(Access, RolesMapToRoutes) {
    using cityguard::auth::role;
    EXPECT_TRUE(allows(access::ingest, role::gateway));
    EXPECT_TRUE(allows(access::ingest, role::admin));
    EXPECT_FALSE(allows(access::ingest, role::operator_));
    EXPECT_TRUE(allows(access::read, role::operator_));
    EXPECT_FALSE(allows(access::read, role::gateway));
    EXPECT_FALSE(allows(access::admin, role::operator_));
    EXPECT_TRUE(allows(access::anyone, role::gateway));
}

TEST(Target, DecodesPathAndQuery) {
    std::string path;
    std::unordered_map<std::string, std::string> q;
    ASSERT_TRUE(parse_target("/api/v1/sites/%E7%A6%8F%E7%94%B0?district=%E7%A6%8F+%E7%94%B0&x=1&flag", path, q));
    EXPECT_EQ(path, "/api/v1/sites/福田");
    EXPECT_EQ(q["district"], "福 田");
    EXPECT_EQ(q["x"], "1");
    EXPECT_TRUE(q.count("flag"));
}

TEST(Target, RefusesMalformed) {
    std::string path;
    std::unordered_map<std::string, std::string> q;
    EXPECT_FALSE(parse_target("relative", path, q));
    EXPECT_FALSE(parse_target("/a/%zz", path, q));
    EXPECT_FALSE(parse_target("/a/%4", path, q));
    EXPECT_FALSE(parse_target("/a/../etc/passwd", path, q));
    EXPECT_FALSE(parse_target("/a/%2e%2e/b", path, q));
    EXPECT_FALSE(parse_target("/a%00b", path, q));
}
