#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

/// The MQTT 3.1.1 packets a subscriber needs (OASIS MQTT 3.1.1, chapter 3), encoded and decoded
/// without I/O. CityGuard speaks the protocol itself because it acknowledges a QoS 1 message
/// only after the readings it carries are committed: libmosquitto 2.0 and Paho C both send
/// PUBACK before the application sees the message (docs/ingest.md, "Why our own client").
namespace cityguard::mqtt {

/// A broker sent bytes that are not a valid MQTT 3.1.1 packet: the connection is dropped.
class protocol_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
};

struct fixed_header {
    packet_type type{};
    std::uint8_t flags = 0;        ///< the low four bits of the first byte
    std::size_t remaining = 0;     ///< bytes after the fixed header
    std::size_t header_bytes = 0;  ///< 2 to 5
};

/// The fixed header at the start of `bytes`, or nothing while more bytes are needed. Throws
/// protocol_error for a remaining length longer than four bytes or a reserved packet type.
std::optional<fixed_header> parse_fixed_header(std::string_view bytes);

struct connect_options {
    std::string client_id;
    std::string username;  ///< empty: none
    std::string password;  ///< sent only with a username
    std::uint16_t keep_alive_s = 30;
    bool clean_session = false;  ///< false: the broker keeps our subscriptions and unacknowledged messages
};

std::string encode_connect(const connect_options& o);
/// SUBSCRIBE with one QoS for every filter.
std::string encode_subscribe(std::uint16_t packet_id, const std::vector<std::string>& filters, std::uint8_t qos);
std::string encode_puback(std::uint16_t packet_id);
std::string encode_pingreq();
std::string encode_disconnect();
/// PUBLISH, for tests and tools: QoS 0 ignores packet_id.
std::string encode_publish(std::string_view topic, std::string_view payload, std::uint8_t qos, std::uint16_t packet_id);

struct connack {
    bool session_present = false;
    std::uint8_t return_code = 0;  ///< 0 accepted; 1–5 refused (3.2.2.3)
};
connack parse_connack(std::string_view body);
/// What CONNACK's return code means, for the log and /readyz.
std::string_view connack_reason(std::uint8_t code);

struct suback {
    std::uint16_t packet_id = 0;
    std::vector<std::uint8_t> granted;  ///< per filter: the QoS granted, or 0x80 refused
};
suback parse_suback(std::string_view body);

struct publish {
    std::string_view topic;
    std::string_view payload;
    std::uint8_t qos = 0;
    bool dup = false;
    bool retain = false;
    std::uint16_t packet_id = 0;  ///< QoS 1 and 2 only
};
/// A PUBLISH body with its fixed header's flags. Views point into `body`. Throws protocol_error
/// for QoS 3, a topic that is not valid UTF-8 or holds wildcards, or a packet id of 0.
publish parse_publish(std::uint8_t flags, std::string_view body);

/// Whether `topic` matches the subscription `filter` ('+' one level, '#' the rest).
bool topic_matches(std::string_view filter, std::string_view topic);
/// Whether some topic matches both filters.
bool filters_overlap(std::string_view a, std::string_view b);
/// Why `filter` is not a valid subscription filter; empty: valid.
std::string filter_problem(std::string_view filter);

}  // namespace cityguard::mqtt
