#include "cityguard/api/request.hpp"

namespace cityguard::api {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%') {
            if (i + 2 >= in.size()) return false;
            const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (plus_is_space && in[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(in[i]);
        }
    }
    return true;
}

}  // namespace

std::optional<std::string> request::query_param(std::string_view name) const {
    auto it = query.find(std::string(name));
    if (it == query.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

response json_response(int status, const nlohmann::json& body) {
    return {status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
}

bool parse_target(std::string_view target, std::string& path, std::unordered_map<std::string, std::string>& query) {
    if (target.empty() || target.front() != '/') return false;
    const auto qpos = target.find('?');
    if (!decode(target.substr(0, qpos), path, false)) return false;
    if (path.find('\0') != std::string::npos) return false;
    // Reject dot-dot segments outright: nothing legitimate needs them, and later static file
    // serving must never see one.
    for (std::size_t pos = 0; pos < path.size();) {
        auto next = path.find('/', pos + 1);
        auto seg =
            std::string_view(path).substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        if (seg == "..") return false;
        if (next == std::string::npos) break;
        pos = next;
    }
    query.clear();
    if (qpos == std::string_view::npos) return true;
    std::string_view q = target.substr(qpos + 1);
    while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        auto eq = part.find('=');
        std::string key, value;
        if (!decode(part.substr(0, eq), key, true)) return false;
        if (eq != std::string_view::npos && !decode(part.substr(eq + 1), value, true)) return false;
        if (!key.empty()) query[std::move(key)] = std::move(value);
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return true;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        std::string_view pair = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
        std::string_view value = pair.substr(eq + 1);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        return std::string(value);
    }
    return std::nullopt;
}

}  // namespace cityguard::api
