#include "cityguard/mqtt/packets.hpp"

#include "cityguard/util/input.hpp"

namespace cityguard::mqtt {

namespace {

constexpr std::size_t kMaxRemaining = 268'435'455;  // four bytes of variable length (2.2.3)

void put_u16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xFF);
}

void put_string(std::string& out, std::string_view s) {
    if (s.size() > 0xFFFF) throw std::invalid_argument("MQTT string longer than 65535 bytes");
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    out.append(s);
}

/// The first byte and the remaining length, then the rest.
std::string with_fixed_header(std::uint8_t first, const std::string& rest) {
    if (rest.size() > kMaxRemaining) throw std::invalid_argument("MQTT packet too large");
    std::string out;
    out += static_cast<char>(first);
    std::size_t n = rest.size();
    do {
        auto byte = static_cast<std::uint8_t>(n % 128);
        n /= 128;
        if (n > 0) byte |= 0x80;
        out += static_cast<char>(byte);
    } while (n > 0);
    out += rest;
    return out;
}

/// Reads from a packet body, refusing to run past its end.
class body_reader {
  public:
    explicit body_reader(std::string_view body) : body_(body) {}
    std::uint8_t u8() {
        need(1);
        return static_cast<std::uint8_t>(body_[pos_++]);
    }
    std::uint16_t u16() {
        need(2);
        const auto v = static_cast<std::uint16_t>(
            (static_cast<std::uint8_t>(body_[pos_]) << 8) | static_cast<std::uint8_t>(body_[pos_ + 1])
        );
        pos_ += 2;
        return v;
    }
    std::string_view str() {
        const std::size_t n = u16();
        need(n);
        auto s = body_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    std::string_view rest() {
        auto s = body_.substr(pos_);
        pos_ = body_.size();
        return s;
    }
    std::size_t left() const { return body_.size() - pos_; }

  private:
    void need(std::size_t n) const {
        if (body_.size() - pos_ < n) throw protocol_error("packet shorter than its fields");
    }
    std::string_view body_;
    std::size_t pos_ = 0;
};

}  // namespace

std::optional<fixed_header> parse_fixed_header(std::string_view bytes) {
    if (bytes.size() < 2) return std::nullopt;
    const auto first = static_cast<std::uint8_t>(bytes[0]);
    const auto type = static_cast<std::uint8_t>(first >> 4);
    if (type == 0 || type == 15) throw protocol_error("reserved packet type " + std::to_string(type));
    fixed_header h;
    h.type = static_cast<packet_type>(type);
    h.flags = first & 0x0F;
    std::size_t multiplier = 1;
    for (std::size_t i = 1; i <= 4; ++i) {
        if (i >= bytes.size()) return std::nullopt;
        const auto byte = static_cast<std::uint8_t>(bytes[i]);
        h.remaining += (byte & 0x7F) * multiplier;
        if ((byte & 0x80) == 0) {
            h.header_bytes = i + 1;
            return h;
        }
        multiplier *= 128;
    }
    throw protocol_error("remaining length longer than four bytes");
}

std::string encode_connect(const connect_options& o) {
    std::string body;
    put_string(body, "MQTT");
    body += static_cast<char>(4);  // protocol level 3.1.1
    std::uint8_t flags = o.clean_session ? 0x02 : 0x00;
    if (!o.username.empty()) flags |= 0x80 | 0x40;  // user name, password
    body += static_cast<char>(flags);
    put_u16(body, o.keep_alive_s);
    put_string(body, o.client_id);
    if (!o.username.empty()) {
        put_string(body, o.username);
        put_string(body, o.password);
    }
    return with_fixed_header(0x10, body);
}

std::string encode_subscribe(std::uint16_t packet_id, const std::vector<std::string>& filters, std::uint8_t qos) {
    std::string body;
    put_u16(body, packet_id);
    for (const auto& f : filters) {
        put_string(body, f);
        body += static_cast<char>(qos);
    }
    return with_fixed_header(0x82, body);  // 3.8.1: flags 0010
}

std::string encode_puback(std::uint16_t packet_id) {
    std::string body;
    put_u16(body, packet_id);
    return with_fixed_header(0x40, body);
}

std::string encode_pingreq() { return std::string("\xC0\x00", 2); }
std::string encode_disconnect() { return std::string("\xE0\x00", 2); }

std::string encode_publish(
    std::string_view topic, std::string_view payload, std::uint8_t qos, std::uint16_t packet_id
) {
    std::string body;
    put_string(body, topic);
    if (qos > 0) put_u16(body, packet_id);
    body.append(payload);
    return with_fixed_header(static_cast<std::uint8_t>(0x30 | (qos << 1)), body);
}

connack parse_connack(std::string_view body) {
    if (body.size() != 2) throw protocol_error("CONNACK must be 2 bytes");
    return {(static_cast<std::uint8_t>(body[0]) & 1) != 0, static_cast<std::uint8_t>(body[1])};
}

std::string_view connack_reason(std::uint8_t code) {
    switch (code) {
        case 0:
            return "accepted";
        case 1:
            return "unacceptable protocol version";
        case 2:
            return "client identifier rejected";
        case 3:
            return "server unavailable";
        case 4:
            return "bad user name or password";
        case 5:
            return "not authorized";
        default:
            return "unknown refusal";
    }
}

suback parse_suback(std::string_view body) {
    body_reader in(body);
    suback s;
    s.packet_id = in.u16();
    while (in.left() > 0) s.granted.push_back(in.u8());
    if (s.granted.empty()) throw protocol_error("SUBACK without return codes");
    return s;
}

publish parse_publish(std::uint8_t flags, std::string_view body) {
    publish p;
    p.retain = (flags & 1) != 0;
    p.qos = static_cast<std::uint8_t>((flags >> 1) & 3);
    p.dup = (flags & 8) != 0;
    if (p.qos == 3) throw protocol_error("PUBLISH with QoS 3");
    body_reader in(body);
    p.topic = in.str();
    if (p.topic.empty() || !util::storable_text(p.topic) || p.topic.find_first_of("+#") != std::string_view::npos)
        throw protocol_error("PUBLISH topic is empty, not UTF-8 or holds a wildcard");
    if (p.qos > 0) {
        p.packet_id = in.u16();
        if (p.packet_id == 0) throw protocol_error("PUBLISH with packet id 0");
    }
    p.payload = in.rest();
    return p;
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    // 4.7.2: a filter starting with a wildcard does not match topics starting with '$'.
    if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) return false;
    std::size_t f = 0, t = 0;
    while (true) {
        const std::size_t f_end = std::min(filter.find('/', f), filter.size());
        const std::string_view level = filter.substr(f, f_end - f);
        if (level == "#") return true;  // the parent level too: "a/#" matches "a"
        if (t > topic.size()) return false;
        const std::size_t t_end = std::min(topic.find('/', t), topic.size());
        if (level != "+" && level != topic.substr(t, t_end - t)) return false;
        const bool filter_done = f_end == filter.size();
        const bool topic_done = t_end == topic.size();
        if (filter_done || topic_done) {
            if (filter_done && topic_done) return true;
            // "a/#" matching "a": the filter's next level is the last and is '#'.
            return topic_done && !filter_done && filter.substr(f_end + 1) == "#";
        }
        f = f_end + 1;
        t = t_end + 1;
    }
}

bool filters_overlap(std::string_view a, std::string_view b) {
    auto split = [](std::string_view f) {
        std::vector<std::string_view> levels;
        std::size_t start = 0;
        while (true) {
            const std::size_t end = std::min(f.find('/', start), f.size());
            levels.push_back(f.substr(start, end - start));
            if (end == f.size()) return levels;
            start = end + 1;
        }
    };
    const auto x = split(a), y = split(b);
    for (std::size_t i = 0;; ++i) {
        const bool x_done = i == x.size(), y_done = i == y.size();
        if (x_done && y_done) return true;
        // "a/#" also matches "a": a filter that ended meets the other's last level '#'.
        if (x_done) return y[i] == "#";
        if (y_done) return x[i] == "#";
        if (x[i] == "#" || y[i] == "#") return true;
        if (x[i] != "+" && y[i] != "+" && x[i] != y[i]) return false;
    }
}

std::string filter_problem(std::string_view filter) {
    if (filter.empty()) return "is empty";
    if (filter.size() > 65'535) return "is longer than 65535 bytes";
    if (!util::storable_text(filter)) return "is not UTF-8 text";
    std::size_t start = 0;
    while (true) {
        const std::size_t end = std::min(filter.find('/', start), filter.size());
        const std::string_view level = filter.substr(start, end - start);
        if (level.find_first_of("+#") != std::string_view::npos && level != "+" && level != "#")
            return "has a wildcard inside a level";
        if (level == "#" && end != filter.size()) return "has '#' before its last level";
        if (end == filter.size()) return {};
        start = end + 1;
    }
}

}  // namespace cityguard::mqtt
