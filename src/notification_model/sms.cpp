#include "cityguard/notification_model/sms.hpp"

#include <cctype>
#include <cstdio>

namespace cityguard::notification_model {

namespace {

using json = nlohmann::json;

constexpr std::size_t kSingleSegment = 70;
constexpr std::size_t kConcatenatedSegment = 67;

/// Units of one UTF-8 character starting at `i`, and its length in bytes.
std::pair<std::size_t, std::size_t> char_at(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t bytes = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return {bytes == 4 ? 2 : 1, std::min(bytes, s.size() - i)};
}

/// The longest prefix of `text` within `units`.
std::string cut_to(std::string_view text, std::size_t units) {
    std::size_t used = 0, i = 0;
    while (i < text.size()) {
        const auto [u, bytes] = char_at(text, i);
        if (used + u > units) break;
        used += u;
        i += bytes;
    }
    return std::string(text.substr(0, i));
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

std::string substitute(const std::string& templ, const sms_values& v) {
    // One pass per placeholder; values never hold braces that could form a new one (phone,
    // digits) or are inserted last (text).
    std::string out = templ;
    for (const auto& [name, value] : std::initializer_list<std::pair<std::string_view, const std::string&>>{
             {"{phone}", v.phone},
             {"{sign_name}", v.sign_name},
             {"{level}", v.level},
             {"{site}", v.site},
             {"{alarm}", v.alarm},
             {"{link}", v.link},
             {"{text}", v.text}})
        out = replace_all(std::move(out), name, value);
    return out;
}

}  // namespace

std::size_t sms_units(std::string_view utf8) {
    std::size_t units = 0;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto [u, bytes] = char_at(utf8, i);
        units += u;
        i += bytes;
    }
    return units;
}

std::size_t sms_capacity(int max_segments, std::string_view sign_name) {
    const std::size_t total =
        max_segments <= 1 ? kSingleSegment : kConcatenatedSegment * static_cast<std::size_t>(max_segments);
    const std::size_t sign = sign_name.empty() ? 0 : sms_units(sign_name) + 2;  // 【】
    return total > sign ? total - sign : 0;
}

std::string sms_text(const message_facts& f, const std::string& language, std::size_t capacity) {
    const auto& a = f.alarm;
    const std::string site = f.site_name.empty() ? a.site : f.site_name;
    std::string head, advice, tail;
    if (language == "en") {
        std::string level(rules::to_string(f.lvl));
        for (auto& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        head = "[" + level + "] " + (a.title.en.empty() ? a.title.zh : a.title.en) + " at " + site + ". ";
        advice = a.advice.en.empty() ? a.advice.zh : a.advice.en;
        tail = " (alarm " + std::to_string(a.id) + ")";
    } else {
        head = std::string(rules::chinese_name(f.lvl)) + "预警：" + site + a.title.zh + "。";
        advice = a.advice.zh;
        tail = "（报警" + std::to_string(a.id) + "）";
    }
    const std::size_t fixed = sms_units(head) + sms_units(tail);
    if (fixed > capacity) return cut_to(head + tail, capacity);
    const std::size_t room = capacity - fixed;
    if (sms_units(advice) > room) advice = room == 0 ? std::string() : cut_to(advice, room - 1) + "…";
    return head + advice + tail;
}

sms_values sms_values_of(const message_facts& f, const channel& ch, const std::string& link) {
    sms_values v;
    v.phone = f.phone.value_or("");
    v.text = sms_text(f, ch.language, sms_capacity(ch.max_segments, ch.sign_name));
    v.sign_name = ch.sign_name;
    v.level = ch.language == "en" ? std::string(rules::to_string(f.lvl)) : std::string(rules::chinese_name(f.lvl));
    v.site = f.site_name.empty() ? f.alarm.site : f.site_name;
    v.alarm = std::to_string(f.alarm.id);
    v.link = link;
    return v;
}

std::map<std::string, std::string> sms_params(const json& templ, const sms_values& v) {
    std::map<std::string, std::string> out;
    for (const auto& [name, value] : templ.items()) {
        if (value.is_object()) {
            json filled = json::object();
            for (const auto& [key, inner] : value.items())
                filled[key] = inner.is_string() ? json(substitute(inner.get<std::string>(), v)) : inner;
            out[name] = filled.dump();
        } else if (value.is_string()) {
            out[name] = substitute(value.get<std::string>(), v);
        } else {
            out[name] = value.dump();
        }
    }
    return out;
}

std::string aliyun_encode(std::string_view text) {
    std::string out;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += ch;
        } else {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        }
    }
    return out;
}

std::string aliyun_canonical_query(const std::map<std::string, std::string>& params) {
    std::string out;
    for (const auto& [name, value] : params) {  // std::map: sorted by name, byte order
        if (!out.empty()) out += '&';
        out += aliyun_encode(name) + "=" + aliyun_encode(value);
    }
    return out;
}

std::string aliyun_string_to_sign(std::string_view method, const std::string& canonical_query) {
    return std::string(method) + "&%2F&" + aliyun_encode(canonical_query);
}

}  // namespace cityguard::notification_model
