#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "../support/test_env.hpp"
#include "cityguard/util/time.hpp"

using namespace cityguard::test;
using cityguard::util::format_rfc3339;
using cityguard::util::now_micros;
using nlohmann::json;
namespace net = boost::asio;

namespace {
/// Sends raw bytes and returns whatever the server answers before closing.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
    net::io_context ioc;
    net::ip::tcp::socket s(ioc);
    s.connect({net::ip::make_address("127.0.0.1"), port});
    net::write(s, net::buffer(bytes));
    std::string out;
    boost::system::error_code ec;
    s.shutdown(net::ip::tcp::socket::shutdown_send, ec);  // the server may have answered and closed already
    net::read(s, net::dynamic_buffer(out), ec);
    return out;
}
}  // namespace

TEST(Robustness, GarbageOnTheWireGetsA400AndHurtsNobody) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto steady = srv.client();
    ASSERT_EQ(steady.request("GET", "/healthz").status, 200);
    EXPECT_NE(raw_exchange(srv.port(), "GARBAGE GARBAGE\r\n\r\n").find("400"), std::string::npos);
    EXPECT_NE(
        raw_exchange(srv.port(), "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n").find("400"),
        std::string::npos
    );
    EXPECT_NE(
        raw_exchange(srv.port(), "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n").find("400"), std::string::npos
    );
    raw_exchange(srv.port(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));          // a TLS hello
    raw_exchange(srv.port(), "POST /api/v1/readings HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"readi");  // cut short
    // The connection opened before all that still works, and so does ingest.
    auto r = steady.call("POST", "/api/v1/readings", kAdminKey, one_reading("S1", now_micros() - 1000));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json()["accepted"], 1);
}

TEST(Robustness, DatabaseOutageAnswers503AndRecovers) {
    CITYGUARD_REQUIRE_DB();
    test_server srv;
    srv.register_sensors("GP-1", {"S1"});
    auto c = srv.client();
    ASSERT_EQ(c.request("GET", "/readyz").status, 200);
    srv.db().cut_connections(/*refuse_new=*/true);

    auto ready = c.request("GET", "/readyz");
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(ready.json()["error"]["code"], "unavailable");
    const auto t = now_micros() - 1000;
    // 30 %LEL in a manhole raises an alarm: refused now, it must raise it once, on the retry.
    auto r = c.call("POST", "/api/v1/readings", kAdminKey, one_reading("S1", t, 30));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "unavailable");
    EXPECT_EQ(c.call("GET", "/api/v1/sites", kAdminKey).status, 503);

    srv.db().allow_connections();
    EXPECT_EQ(c.request("GET", "/readyz").status, 200);
    r = c.call("POST", "/api/v1/readings", kAdminKey, one_reading("S1", t, 30));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 1) << "the refused reading was not stored, so the retry stores it";
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarms"), "1");
    EXPECT_EQ(srv.db().query_value("SELECT count(*) FROM alarm_events WHERE type = 'raised'"), "1")
        << "the failed batch left nothing in the engine's memory: the retry raises, once";
}
