#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cityguard/notification_model/message.hpp"

/// The SMS channel (docs/notifications.md, "SMS"): the text within the segment rules and the
/// request the city's SMS platform takes, from the channel's template. Pure: the dispatcher signs.
namespace cityguard::notification_model {

/// UCS-2 code units of UTF-8 text: what an SMS segment counts (a character outside the BMP is two).
std::size_t sms_units(std::string_view utf8);

/// Units left for the text in `max_segments` segments: 70 in one segment, 67 per segment when
/// concatenated (the user data header takes 3), less the 【sign name】 the platform adds.
std::size_t sms_capacity(int max_segments, std::string_view sign_name);

/// The notice as SMS text of at most `capacity` units: level, kind, site and title, the advice as
/// far as it fits (cut with "…"), and the alarm number last, so the reader can look it up.
std::string sms_text(const message_facts& f, const std::string& language, std::size_t capacity);

/// What the request template's placeholders stand for.
struct sms_values {
    std::string phone, text, sign_name, level, site, alarm, link;
};

/// The placeholders' values for a notice: its text as sms_text makes it within the channel's segments.
sms_values sms_values_of(const message_facts& f, const channel& ch, const std::string& link);

/// The channel's `params` with {phone}, {text}, {sign_name}, {level}, {site}, {alarm} and {link}
/// replaced; an object value (a template's parameters) becomes its compact JSON text.
std::map<std::string, std::string> sms_params(const nlohmann::json& templ, const sms_values& v);

/// Alibaba Cloud's RPC signature (https://www.alibabacloud.com/help/en/sms/signature-method):
/// percent-encoding per RFC 3986 (space %20, '*' %2A, '~' kept), the parameters sorted by name
/// and joined as name=value&..., and StringToSign = METHOD + "&%2F&" + encode(that query).
/// Signature = base64(HMAC-SHA1(secret + "&", StringToSign)), which the caller computes.
std::string aliyun_encode(std::string_view text);
std::string aliyun_canonical_query(const std::map<std::string, std::string>& params);
std::string aliyun_string_to_sign(std::string_view method, const std::string& canonical_query);

}  // namespace cityguard::notification_model
