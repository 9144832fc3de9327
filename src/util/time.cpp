#include "cityguard/util/time.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace cityguard::util {
namespace {

// Howard Hinnant's civil-calendar algorithms: exact for the proleptic Gregorian calendar.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
    std::int64_t y;
    unsigned m, d;
};

constexpr civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

constexpr bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr unsigned table[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : table[m - 1];
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

constexpr micros kMicrosPerDay = 86'400 * kMicrosPerSecond;

}  // namespace

micros now_micros() noexcept {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<micros> parse_rfc3339(std::string_view s) noexcept {
    // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
    int year, month, day, hour, minute, second;
    if (s.size() < 20) return std::nullopt;
    if (!digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' || !digits(s, 8, 2, day))
        return std::nullopt;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
    if (!digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
        !digits(s, 17, 2, second))
        return std::nullopt;
    if (year < 1) return std::nullopt;  // year 0 does not exist for PostgreSQL
    if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month))
        return std::nullopt;
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (second == 60) second = 59;  // leap second: folded onto :59, as PostgreSQL does not store :60 either

    std::size_t pos = 19;
    micros frac = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t n = 0;
        micros scale = 100'000;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (n < 6) {
                frac += (s[pos] - '0') * scale;
                scale /= 10;
            } else if (s[pos] != '0') {
                return std::nullopt;  // sub-microsecond precision would be silently lost
            }
            ++pos;
            ++n;
        }
        if (n == 0 || n > 9) return std::nullopt;
    }
    if (pos >= s.size()) return std::nullopt;
    std::int64_t offset_s = 0;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om))
            return std::nullopt;
        if (oh > 23 || om > 59) return std::nullopt;
        offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;

    const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const std::int64_t secs = days * 86'400 + hour * 3600 + minute * 60 + second - offset_s;
    return secs * kMicrosPerSecond + frac;
}

namespace {

/// A timestamp split into calendar fields (UTC).
struct fields {
    civil date;
    int hour, minute, second, micro;
};

fields split(micros t) noexcept {
    const std::int64_t days = floor_div(t, kMicrosPerDay);
    const micros rem = t - days * kMicrosPerDay;
    const int secs = static_cast<int>(rem / kMicrosPerSecond);
    return {civil_from_days(days), secs / 3600, secs / 60 % 60, secs % 60, static_cast<int>(rem % kMicrosPerSecond)};
}

/// Formats the fields with `pattern` (whose last conversion takes `fraction`) into `buf`;
/// returns the length. No allocation: this runs once per reading on the COPY path.
std::size_t print(char (&buf)[48], const char* pattern, const fields& f, int fraction) {
    const int n = std::snprintf(
        buf,
        sizeof buf,
        pattern,
        static_cast<long long>(f.date.y),
        f.date.m,
        f.date.d,
        f.hour,
        f.minute,
        f.second,
        fraction
    );
    return static_cast<std::size_t>(n);
}

}  // namespace

std::string format_rfc3339(micros t) {
    const fields f = split(t);
    char buf[48];
    // Milliseconds when they say it all (the common gateway precision), else microseconds.
    const std::size_t n = f.micro % 1000 == 0 ? print(buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", f, f.micro / 1000)
                                              : print(buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ", f, f.micro);
    return std::string(buf, n);
}

namespace {

/// Writes `value` as exactly `width` decimal digits ending before `end`; returns the new end.
char* put_digits(char* end, unsigned value, int width) noexcept {
    for (int i = 0; i < width; ++i, value /= 10) *--end = static_cast<char>('0' + value % 10);
    return end;
}

}  // namespace

// Once per reading on the COPY path: digits by hand, since snprintf's format parsing was about
// 5 % of the server's samples under bulk ingest (docs/performance.md).
void append_pg_timestamp(std::string& out, micros t) {
    const fields f = split(t);
    if (f.date.y < 0 || f.date.y > 9999) {  // outside what readings may carry; printed the slow way
        char buf[48];
        out.append(buf, print(buf, "%04lld-%02u-%02u %02d:%02d:%02d.%06d+00", f, f.micro));
        return;
    }
    char buf[29];  // "YYYY-MM-DD HH:MM:SS.ffffff+00"
    char* end = buf + sizeof buf;
    end[-1] = '0', end[-2] = '0', end[-3] = '+';
    char* p = put_digits(end - 3, static_cast<unsigned>(f.micro), 6);
    *--p = '.';
    p = put_digits(p, static_cast<unsigned>(f.second), 2);
    *--p = ':';
    p = put_digits(p, static_cast<unsigned>(f.minute), 2);
    *--p = ':';
    p = put_digits(p, static_cast<unsigned>(f.hour), 2);
    *--p = ' ';
    p = put_digits(p, f.date.d, 2);
    *--p = '-';
    p = put_digits(p, f.date.m, 2);
    *--p = '-';
    p = put_digits(p, static_cast<unsigned>(f.date.y), 4);
    out.append(p, end);
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) noexcept {
    if (text.size() < 2) return std::nullopt;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
    if (ec != std::errc{} || p != text.data() + text.size() - 1 || n <= 0) return std::nullopt;
    // At most 100 years: beyond that no bucket means anything, and n * unit could overflow.
    constexpr std::int64_t kMaxSeconds = 36'525LL * 86'400;
    const std::int64_t unit = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : 86'400;
    if (n > kMaxSeconds / unit) return std::nullopt;
    switch (text.back()) {
        case 's':
            return n;
        case 'm':
            return n * 60;
        case 'h':
            return n * 3600;
        case 'd':
            return n * 86400;
        default:
            return std::nullopt;
    }
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::int64_t day_number(micros t) noexcept { return floor_div(t, kMicrosPerDay); }

std::optional<std::int64_t> parse_date(std::string_view text) noexcept {
    if (text.size() != 10) return std::nullopt;
    char stamp[21];
    text.copy(stamp, 10);
    std::string_view("T00:00:00Z").copy(stamp + 10, 10);
    stamp[20] = '\0';
    auto t = parse_rfc3339(std::string_view(stamp, 20));
    if (!t) return std::nullopt;
    return day_number(*t);
}

std::string format_date(std::int64_t day) { return format_rfc3339(day * kMicrosPerDay).substr(0, 10); }

}  // namespace cityguard::util
