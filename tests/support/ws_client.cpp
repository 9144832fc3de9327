#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

namespace cityguard::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

// One thread runs the stream: reads and writes are async operations on it. (A blocking read on
// one thread and a blocking write on another race inside Beast when the server fails the
// connection: the read frees the write buffer in use. ASan caught it.)
struct ws_client::impl {
    net::io_context ioc;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    websocket::stream<net::ip::tcp::socket> ws{ioc};
    std::thread runner;
    beast::flat_buffer buffer;
    bool reading = false;  // runner thread only
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::string> inbox;
    bool closed = false;
    int close_code = 0;

    void read_next() {
        ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
            std::lock_guard lock(mutex);
            if (ec) {
                closed = true;
                close_code = ws.reason().code;
                cv.notify_all();
                return;
            }
            inbox.push_back(beast::buffers_to_string(buffer.data()));
            buffer.consume(buffer.size());
            cv.notify_all();
            read_next();
        });
    }
    void start_reading() {
        net::post(ioc, [this] {
            if (reading) return;
            reading = true;
            read_next();
        });
    }
};

ws_client::ws_client(
    std::uint16_t port, const std::string& key, bool reading, const std::map<std::string, std::string>& headers
)
    : impl_(std::make_unique<impl>()) {
    net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    impl_->ws.next_layer().open(ep.protocol());
    if (!reading) impl_->ws.next_layer().set_option(net::socket_base::receive_buffer_size(4096));
    impl_->ws.next_layer().connect(ep);
    impl_->ws.set_option(websocket::stream_base::decorator([key, headers](websocket::request_type& req) {
        if (!key.empty()) req.set(beast::http::field::authorization, "Bearer " + key);
        for (const auto& [name, value] : headers) req.set(name, value);
    }));
    impl_->ws.handshake("127.0.0.1:" + std::to_string(port), "/api/v1/feed");
    impl_->ws.text(true);
    impl_->runner = std::thread([this] { impl_->ioc.run(); });
    if (reading) impl_->start_reading();
}

ws_client::~ws_client() {
    net::post(impl_->ioc, [this] {
        beast::error_code ec;
        impl_->ws.next_layer().shutdown(net::ip::tcp::socket::shutdown_both, ec);
        impl_->ws.next_layer().close(ec);
    });
    impl_->work.reset();
    if (impl_->runner.joinable()) impl_->runner.join();
}

void ws_client::start_reading() { impl_->start_reading(); }

void ws_client::send(const nlohmann::json& message) { send_text(message.dump()); }

void ws_client::send_text(const std::string& text) {
    // A closed connection shows up in next()/wait_closed(); the write just fails.
    auto message = std::make_shared<std::string>(text);
    auto written = std::make_shared<std::promise<void>>();
    auto done = written->get_future();
    net::post(impl_->ioc, [this, message, written] {
        impl_->ws.async_write(net::buffer(*message), [message, written](beast::error_code, std::size_t) {
            written->set_value();
        });
    });
    done.wait();
}

std::optional<nlohmann::json> ws_client::next(std::chrono::milliseconds wait) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->cv.wait_for(lock, wait, [&] { return !impl_->inbox.empty() || impl_->closed; })) return std::nullopt;
    if (impl_->inbox.empty()) return std::nullopt;
    auto text = std::move(impl_->inbox.front());
    impl_->inbox.pop_front();
    return nlohmann::json::parse(text);
}

std::optional<nlohmann::json> ws_client::next_of(const std::string& type, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto m = next(left);
        if (!m) return std::nullopt;
        if ((*m)["type"] == type) return m;
    }
}

int ws_client::wait_closed(std::chrono::milliseconds wait) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->cv.wait_for(lock, wait, [&] { return impl_->closed; })) return -1;
    return impl_->close_code;
}

}  // namespace cityguard::test
