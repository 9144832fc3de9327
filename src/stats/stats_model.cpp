#include "cityguard/stats/stats_model.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "cityguard/util/time.hpp"

namespace cityguard::stats {
namespace {

using json = nlohmann::json;

constexpr const char* kLevelNames[] = {"red", "orange", "yellow", "blue"};

void add(stats::alarm_counts& into, const stats::alarm_counts& c) {
    into.raised += c.raised;
    for (std::size_t i = 0; i < into.raised_by_level.size(); ++i) into.raised_by_level[i] += c.raised_by_level[i];
    into.acknowledged += c.acknowledged;
    for (std::size_t i = 0; i < stats::kDurationBuckets; ++i) {
        into.ack_seconds[i] += c.ack_seconds[i];
        into.close_seconds[i] += c.close_seconds[i];
    }
    into.closed += c.closed;
    into.false_alarm += c.false_alarm;
    into.device_fault += c.device_fault;
    into.disposed += c.disposed;
    into.disposed_late += c.disposed_late;
}

void add_optional(std::optional<double>& into, double v) { into = into.value_or(0) + v; }
void add_optional(std::optional<std::int64_t>& into, std::int64_t v) { into = into.value_or(0) + v; }

/// Every group key of a time grouping within the range, so that a chart has no holes.
std::vector<std::string> periods_of(const stats::stats_filter& f) {
    std::vector<std::string> out;
    const auto first = util::parse_date(f.from_day), last = util::parse_date(f.to_day);
    if (!first || !last) return out;
    if (f.group_by == "day") {
        for (auto d = *first; d <= *last; ++d) out.push_back(util::format_date(d));
    } else if (f.group_by == "week") {
        const auto monday = [](std::int64_t d) { return d - (((d + 3) % 7) + 7) % 7; };  // 1970-01-01 was a Thursday
        for (auto d = monday(*first); d <= *last; d += 7) out.push_back(util::format_date(d));
    } else if (f.group_by == "month") {
        // The range's dates were checked: "YYYY-MM-DD" with a year of four digits.
        int y = std::stoi(f.from_day.substr(0, 4)), m = std::stoi(f.from_day.substr(5, 2));
        const int end_y = std::stoi(f.to_day.substr(0, 4)), end_m = std::stoi(f.to_day.substr(5, 2));
        while (y < end_y || (y == end_y && m <= end_m)) {
            std::string month = std::to_string(y);
            month.insert(0, 4 - std::min<std::size_t>(4, month.size()), '0');
            month += m < 10 ? "-0" : "-";
            month += std::to_string(m);
            out.push_back(std::move(month));
            if (++m == 13) m = 1, ++y;
        }
    } else if (f.group_by == "level") {
        out = {"1", "2", "3", "4"};
    }
    return out;
}

std::optional<double> ratio(double part, double whole) {
    if (whole <= 0) return std::nullopt;
    return std::round(part / whole * 10000) / 10000;
}

json or_null(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json seconds(const stats::duration_histogram& h, double q) {
    const auto v = histogram_quantile(h, q);
    return v ? json(std::round(*v)) : json(nullptr);
}

json row_json(const stats_row& r) {
    const auto& a = r.alarms;
    json j;
    j["group"] = r.group;
    j["alarms"] = {
        {"raised", a.raised},
        {"by_level",
         {{"red", a.raised_by_level[0]},
          {"orange", a.raised_by_level[1]},
          {"yellow", a.raised_by_level[2]},
          {"blue", a.raised_by_level[3]}}},
        {"closed", a.closed},
        {"false_alarm", a.false_alarm},
        {"device_fault", a.device_fault},
        {"false_alarm_share", or_null(ratio(static_cast<double>(a.false_alarm), static_cast<double>(a.closed)))},
        {"device_fault_share", or_null(ratio(static_cast<double>(a.device_fault), static_cast<double>(a.closed)))}};
    j["response"] = {
        {"acknowledged", a.acknowledged},
        {"ack_median_s", seconds(a.ack_seconds, 0.5)},
        {"ack_p90_s", seconds(a.ack_seconds, 0.9)},
        {"close_median_s", seconds(a.close_seconds, 0.5)},
        {"close_p90_s", seconds(a.close_seconds, 0.9)}};
    j["disposal"] = {
        {"disposed", a.disposed},
        {"late", a.disposed_late},
        {"rate", or_null(ratio(static_cast<double>(a.disposed - a.disposed_late), static_cast<double>(a.disposed)))},
        {"overdue_now", r.overdue_now}};
    if (r.sensors) {
        const auto online = *r.sensors - r.offline.value_or(0);
        j["sensors"] = {
            {"total", *r.sensors},
            {"online", online},
            {"online_ratio", or_null(ratio(static_cast<double>(online), static_cast<double>(*r.sensors)))}};
    } else {
        j["sensors"] = nullptr;
    }
    if (r.readings || r.expected) {
        const double received = r.readings.value_or(0);
        std::optional<double> completeness;
        // Late or back-filled readings can exceed what the interval promises: complete is complete.
        if (r.expected) completeness = ratio(std::min(received, *r.expected), *r.expected);
        j["readings"] = {
            {"received", received},
            {"expected", r.expected ? json(std::round(*r.expected)) : json(nullptr)},
            {"completeness", or_null(completeness)}};
    } else {
        j["readings"] = nullptr;
    }
    return j;
}

/// Whether a spreadsheet could take text starting so as a formula: OWASP's prefixes (= + - @,
/// tab, carriage return), and what spreadsheets skip or fold before looking (a leading space or
/// line feed, `|` for DDE, the full-width ＝ ＋ － ＠ that an IME types).
bool formula_prefix(std::string_view s) {
    if (s.empty()) return false;
    if (std::string_view("=+-@\t\r\n |").find(s[0]) != std::string_view::npos) return true;
    for (std::string_view wide : {"\uFF1D", "\uFF0B", "\uFF0D", "\uFF20"})
        if (s.substr(0, wide.size()) == wide) return true;
    return false;
}

/// A CSV field: quoted when it must be; text that a spreadsheet would run as a formula gets a
/// leading apostrophe.
std::string csv_text(const std::string& v) {
    std::string s = v;
    if (formula_prefix(s)) s.insert(0, "'");
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

std::string csv_value(const json& v) {
    if (v.is_null()) return "";
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4f", d);
        return buf;
    }
    if (v.is_string()) return csv_text(v.get<std::string>());
    return v.dump();
}

struct csv_column {
    const char* en;
    const char* zh;
    const char* section;  ///< nullptr: top level
    const char* field;
};

constexpr csv_column kColumns[] = {
    {"group", "分组", nullptr, "group"},
    {"raised", "报警数", "alarms", "raised"},
    {"red", "红色(重大)", nullptr, "red"},
    {"orange", "橙色(较大)", nullptr, "orange"},
    {"yellow", "黄色(一般)", nullptr, "yellow"},
    {"blue", "蓝色(低)", nullptr, "blue"},
    {"closed", "已关闭", "alarms", "closed"},
    {"false_alarm_share", "误报占比", "alarms", "false_alarm_share"},
    {"device_fault_share", "设备故障占比", "alarms", "device_fault_share"},
    {"ack_median_s", "签收用时中位数(秒)", "response", "ack_median_s"},
    {"ack_p90_s", "签收用时90分位(秒)", "response", "ack_p90_s"},
    {"close_median_s", "关闭用时中位数(秒)", "response", "close_median_s"},
    {"close_p90_s", "关闭用时90分位(秒)", "response", "close_p90_s"},
    {"disposed", "已处置", "disposal", "disposed"},
    {"disposed_late", "超时处置", "disposal", "late"},
    {"disposal_rate", "按时处置率", "disposal", "rate"},
    {"overdue_now", "当前超时未处置", "disposal", "overdue_now"},
    {"sensors", "传感器数", "sensors", "total"},
    {"online_ratio", "在线率", "sensors", "online_ratio"},
    {"readings", "收到数据条数", "readings", "received"},
    {"expected", "应收数据条数", "readings", "expected"},
    {"completeness", "数据完整率", "readings", "completeness"},
};

void csv_line(std::string& out, const json& row, const char* total_label) {
    bool first = true;
    for (const auto& c : kColumns) {
        if (!first) out += ',';
        first = false;
        const std::string field = c.field;
        if (!c.section && field == "group") {
            out += csv_text(row["group"].is_null() ? std::string(total_label) : row["group"].get<std::string>());
        } else if (!c.section) {
            out += csv_value(row["alarms"]["by_level"][field]);
        } else if (!row[c.section].is_null()) {
            out += csv_value(row[c.section][field]);
        }
    }
    out += "\r\n";
}

}  // namespace

std::optional<double> histogram_quantile(const stats::duration_histogram& h, double q) noexcept {
    std::int64_t total = 0;
    for (auto n : h) total += std::max<std::int64_t>(n, 0);
    if (total == 0) return std::nullopt;
    const double rank = q * static_cast<double>(total);
    double below = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        const double n = static_cast<double>(std::max<std::int64_t>(h[i], 0));
        if (n > 0 && below + n >= rank) {
            if (i + 1 == h.size()) return stats::kDurationBucketStarts[i];
            const double lo = stats::kDurationBucketStarts[i], hi = stats::kDurationBucketStarts[i + 1];
            return lo + (hi - lo) * (rank - below) / n;
        }
        below += n;
    }
    return stats::kDurationBucketStarts.back();
}

stats_table build_table(stats::stats_data data, const stats::stats_filter& filter) {
    stats_table t;
    t.from_day = filter.from_day;
    t.to_day = filter.to_day;
    t.group_by = filter.group_by;
    t.time_zone = data.time_zone;
    t.top_sites = std::move(data.top_sites);

    std::map<std::string, stats_row> rows;
    for (const auto& p : periods_of(filter)) rows[p].group = p;
    const bool grouped = !filter.group_by.empty();
    const auto row_of = [&](const std::string& group) -> stats_row& {
        auto& r = rows[group];
        r.group = group;
        return r;
    };
    for (const auto& c : data.alarms) {
        add(t.total.alarms, c);
        if (grouped) add(row_of(c.group).alarms, c);
    }
    for (const auto& o : data.overdue_now) {
        t.total.overdue_now += static_cast<std::int64_t>(o.value);
        if (grouped && filter.group_by != "day" && filter.group_by != "week" && filter.group_by != "month")
            row_of(o.group).overdue_now += static_cast<std::int64_t>(o.value);
    }
    for (const auto& s : data.sensors) {
        add_optional(t.total.sensors, s.sensors);
        add_optional(t.total.offline, s.offline);
        if (grouped && data.sensors_grouped) {
            auto& r = row_of(s.group);
            add_optional(r.sensors, s.sensors);
            add_optional(r.offline, s.offline);
        }
    }
    if (!t.total.sensors) t.total.sensors = 0, t.total.offline = 0;
    const bool readings_by_place = filter.group_by == "domain" || filter.group_by == "district";
    for (const auto& v : data.readings_received) {
        add_optional(t.total.readings, v.value);
        if (grouped && data.readings_grouped) add_optional(row_of(v.group).readings, v.value);
    }
    for (const auto& v : data.readings_expected) {
        add_optional(t.total.expected, v.value);
        if (grouped && readings_by_place) add_optional(row_of(v.group).expected, v.value);
    }
    if (data.readings_counted) {
        if (!t.total.readings) t.total.readings = 0;
        if (!t.total.expected) t.total.expected = 0;
    }
    // A time grouping's periods without readings received none (the count exists, it is 0).
    if (data.readings_grouped && grouped)
        for (auto& [key, r] : rows)
            if (!r.readings) r.readings = 0;

    for (auto& [key, r] : rows) {
        if (filter.group_by == "level") {
            const int level = std::atoi(key.c_str());
            r.group = level >= 1 && level <= 4 ? kLevelNames[level - 1] : key;
        }
        t.rows.push_back(std::move(r));
    }
    return t;
}

nlohmann::json to_json(const stats_table& t) {
    json rows = json::array();
    for (const auto& r : t.rows) rows.push_back(row_json(r));
    json total = row_json(t.total);
    total["group"] = nullptr;
    json top = json::array();
    for (const auto& s : t.top_sites) top.push_back({{"site", s.site}, {"name", s.name}, {"raised", s.raised}});
    return {
        {"from", t.from_day},
        {"to", t.to_day},
        {"group_by", t.group_by.empty() ? json(nullptr) : json(t.group_by)},
        {"time_zone", t.time_zone},
        {"rows", std::move(rows)},
        {"total", total},
        {"top_sites", std::move(top)}};
}

std::string to_csv(const stats_table& t, std::string_view language) {
    const bool zh = language == "zh";
    std::string out = "\xEF\xBB\xBF";  // the BOM: spreadsheet programs then read the Chinese text as UTF-8
    bool first = true;
    for (const auto& c : kColumns) {
        if (!first) out += ',';
        first = false;
        out += zh ? c.zh : c.en;
    }
    out += "\r\n";
    for (const auto& r : t.rows) csv_line(out, row_json(r), "");
    json total = row_json(t.total);
    total["group"] = nullptr;
    csv_line(out, total, zh ? "合计" : "total");
    return out;
}

}  // namespace cityguard::stats
