#pragma once

#include <charconv>
#include <string>
#include <string_view>

#include "cityguard/outbound/http_client.hpp"

namespace cityguard::outbound {

/// An http:// or https:// URL split for a connection. Throws http_error naming what is wrong.
struct parsed_url {
    bool tls = false;
    std::string host;
    std::string port;
    std::string target;
};

inline parsed_url parse_url(const std::string& url) {
    parsed_url u;
    std::string_view rest(url);
    if (rest.rfind("https://", 0) == 0) {
        u.tls = true;
        rest.remove_prefix(8);
    } else if (rest.rfind("http://", 0) == 0) {
        rest.remove_prefix(7);
    } else {
        throw http_error("URL must start with http:// or https://");
    }
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (authority.empty() || authority.find('@') != std::string_view::npos) throw http_error("URL has no usable host");
    std::string_view port;
    if (authority.front() == '[') {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos) throw http_error("URL has a malformed IPv6 host");
        u.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
    } else {
        const auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (port.empty()) {
        u.port = u.tls ? "443" : "80";
    } else {
        int n = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
        if (ec != std::errc{} || p != port.data() + port.size() || n < 1 || n > 65535)
            throw http_error("URL has a bad port");
        u.port = std::string(port);
    }
    return u;
}

}  // namespace cityguard::outbound
