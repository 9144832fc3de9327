#include "cityguard/notification_model/message.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace cityguard::notification_model {
namespace {

using json = nlohmann::json;

const char* kind_zh(notice_kind k) {
    switch (k) {
        case notice_kind::raised:
            return "新报警";
        case notice_kind::level_up:
            return "报警升级";
        case notice_kind::escalated:
            return "逐级上报：未按时确认或处置";
        case notice_kind::reminder:
            return "超时未处置提醒";
        case notice_kind::cleared:
            return "报警已解除";
        case notice_kind::closed:
            return "报警已关闭";
    }
    return "";
}

const char* kind_en(notice_kind k) {
    switch (k) {
        case notice_kind::raised:
            return "New alarm";
        case notice_kind::level_up:
            return "Alarm level raised";
        case notice_kind::escalated:
            return "Escalated: not acknowledged or disposed of in time";
        case notice_kind::reminder:
            return "Reminder: disposal overdue";
        case notice_kind::cleared:
            return "Alarm cleared";
        case notice_kind::closed:
            return "Alarm closed";
    }
    return "";
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Six significant digits: enough for any sensor, short enough for an SMS-sized text.
std::string number(double v) {
    if (!std::isfinite(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// A string field of the alarm's evidence, or empty.
std::string evidence_field(const json& evidence, const char* key) {
    if (!evidence.is_object()) return {};
    const auto it = evidence.find(key);
    return it != evidence.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// One key per outbox row, the same on every attempt: a receiver that got a message whose
// answer was lost can drop the retry.
std::string idempotency_key(std::int64_t notification) {
    return "cityguard-notification-" + std::to_string(notification);
}

// Chinese by default (duty officers' language); English where a channel asks for it, falling back
// to the Chinese text where a rule pack has no English one. The link opens the alarm itself.
message render(const message_facts& f, const std::string& language, const std::string& dashboard_url) {
    const auto& a = f.alarm;
    const std::string site = f.site_name.empty() ? a.site : f.site_name;
    message m;
    m.link = dashboard_url + "#alarm=" + std::to_string(a.id);
    const std::string value = a.value ? number(*a.value) : "-";
    // Video evidence goes along as links: the receiver's phone opens them, no attachment needed.
    const std::string snapshot = evidence_field(a.evidence, "snapshot");
    const std::string clip = evidence_field(a.evidence, "clip");
    if (language == "en") {
        const std::string title = a.title.en.empty() ? a.title.zh : a.title.en;
        const std::string advice = a.advice.en.empty() ? a.advice.zh : a.advice.en;
        m.title = "[" + upper(rules::to_string(f.lvl)) + "] " + kind_en(f.kind) + ": " + title + " at " + site;
        m.text = m.title + ". District: " + (f.district.empty() ? "-" : f.district) + ". Value: " + value +
                 ". Advice: " + (advice.empty() ? "-" : advice) + ". Alarm " + std::to_string(a.id) + ": " + m.link;
        if (!snapshot.empty()) m.text += ". Snapshot: " + snapshot;
        if (!clip.empty()) m.text += ". Clip: " + clip;
    } else {
        m.title = std::string("【") + std::string(rules::chinese_name(f.lvl)) + "预警】" + kind_zh(f.kind) + "：" +
                  site + " " + a.title.zh;
        m.text = m.title + "。区域：" + (f.district.empty() ? "-" : f.district) + "；当前值：" + value +
                 "；处置建议：" + (a.advice.zh.empty() ? "-" : a.advice.zh) + "；报警编号 " + std::to_string(a.id) +
                 "，详情：" + m.link;
        if (!snapshot.empty()) m.text += "；现场截图：" + snapshot;
        if (!clip.empty()) m.text += "；视频片段：" + clip;
    }
    return m;
}

// The receiver gets the rendered message and the structured alarm, so it can forward the text
// as is (WeChat Work, SMS gateways) or build its own from the fields.
json webhook_body(const message_facts& f, const message& m, const std::string& language) {
    const auto& a = f.alarm;
    json contact{{"id", f.contact_id}, {"name", f.contact_name}, {"tier", to_string(f.to)}};
    contact["phone"] = f.phone ? json(*f.phone) : json(nullptr);
    return {
        {"idempotency_key", idempotency_key(f.notification)},
        {"notification", {{"id", f.notification}, {"kind", to_string(f.kind)}, {"tier", to_string(f.to)}}},
        {"contact", std::move(contact)},
        {"message", {{"language", language}, {"title", m.title}, {"text", m.text}, {"link", m.link}}},
        {"alarm",
         {{"id", a.id},
          {"rule", a.rule},
          {"site", a.site},
          {"site_name", f.site_name},
          {"district", f.district},
          {"domain", a.domain},
          {"level", rules::to_string(f.lvl)},
          {"condition", alarm_model::to_string(a.cond)},
          {"status", alarm_model::to_string(a.state)},
          {"value", a.value ? json(*a.value) : json(nullptr)},
          {"title", {{"zh", a.title.zh}, {"en", a.title.en}}},
          {"advice", {{"zh", a.advice.zh}, {"en", a.advice.en}}},
          {"opened_at", util::format_rfc3339(a.opened_at)},
          {"evidence", a.evidence}}}};
}

namespace {

/// At most `max` bytes of `text`, never ending inside a UTF-8 character.
std::string utf8_prefix(const std::string& text, std::size_t max) {
    if (text.size() <= max) return text;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    return text.substr(0, n);
}

bool mainland_mobile(const std::string& phone) {
    return phone.size() == 11 && phone[0] == '1' &&
           std::all_of(phone.begin(), phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const char* wecom_colour(rules::level l) {
    // The robot's markdown knows three colours: warning (orange), comment (grey), info (green).
    return l == rules::level::red || l == rules::level::orange ? "warning" : "comment";
}

}  // namespace

json wecom_body(const message_facts& f, const message& m) {
    std::string content = "**" + m.title + "**\n> <font color=\"" + wecom_colour(f.lvl) + "\">" +
                          upper(rules::to_string(f.lvl)) + "</font>\n" + m.text + "\n[" + m.link + "](" + m.link + ")";
    return {{"msgtype", "markdown"}, {"markdown", {{"content", utf8_prefix(content, 4096)}}}};
}

json dingtalk_body(const message_facts& f, const message& m) {
    json at{{"atMobiles", json::array()}, {"isAtAll", false}};
    std::string text = "#### " + m.title + "\n\n" + m.text + "\n\n[" + m.link + "](" + m.link + ")";
    if (f.phone && mainland_mobile(*f.phone)) {
        at["atMobiles"].push_back(*f.phone);
        text += "\n\n@" + *f.phone;
    }
    return {
        {"msgtype", "markdown"},
        {"markdown", {{"title", utf8_prefix(m.title, 256)}, {"text", utf8_prefix(text, 20'000)}}},
        {"at", std::move(at)}};
}

std::string dingtalk_sign_query(std::int64_t timestamp_ms, const std::string& signature_base64) {
    std::string sign;
    for (char c : signature_base64) {
        if (c == '+')
            sign += "%2B";
        else if (c == '/')
            sign += "%2F";
        else if (c == '=')
            sign += "%3D";
        else
            sign += c;
    }
    return "&timestamp=" + std::to_string(timestamp_ms) + "&sign=" + sign;
}

json alertmanager_alert(const message_facts& f, const message& m, util::micros now, std::int64_t firing_for_s) {
    const auto& a = f.alarm;
    const bool ended = f.kind == notice_kind::cleared || f.kind == notice_kind::closed;
    // Labels identify the alert (one per alarm, level and contact) and route it: Alertmanager
    // routes on rule, site, district and level as a city's receivers already expect.
    json labels{
        {"alertname", a.rule},
        {"rule", a.rule},
        {"level", rules::to_string(f.lvl)},
        {"alarm_id", std::to_string(a.id)},
        {"site", a.site},
        {"district", f.district},
        {"domain", a.domain},
        {"tier", to_string(f.to)},
        {"contact", f.contact_id},
        {"source", "cityguard"}};
    json annotations{
        {"summary", m.title},
        {"description", m.text},
        {"level", rules::to_string(f.lvl)},
        {"advice", a.advice.zh},
        {"notification_kind", to_string(f.kind)}};
    // Annotations are strings only (Alertmanager's API): the evidence's links and camera, each its own.
    for (const char* key : {"snapshot", "clip", "camera"})
        if (auto v = evidence_field(a.evidence, key); !v.empty()) annotations[std::string("evidence_") + key] = v;
    return {
        {"labels", std::move(labels)},
        {"annotations", std::move(annotations)},
        {"startsAt", util::format_rfc3339(a.opened_at)},
        {"endsAt", util::format_rfc3339(ended ? now : now + firing_for_s * 1'000'000)},
        {"generatorURL", m.link}};
}

}  // namespace cityguard::notification_model
