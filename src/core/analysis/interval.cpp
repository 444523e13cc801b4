#include "core/analysis/interval.h"

#include <cctype>
#include <cstdio>
#include <limits>

#include "core/civil_time.h"

namespace ltv::analysis {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
// Postgres keeps months and days in 32-bit fields.
constexpr int64_t kFieldLimit = std::numeric_limits<int32_t>::max();

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool SafeAdd(int64_t& total, int64_t value, int64_t limit) {
  if ((value > 0 && total > limit - value) || (value < 0 && total < -limit - value)) return false;
  total += value;
  return true;
}

// "hh:mm[:ss[.ffffff]]", optionally signed.
bool ParseTime(std::string_view s, int64_t* micros) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int64_t parts[3] = {0, 0, 0};
  int64_t fraction = 0;
  int n = 0;
  size_t i = 0;
  while (n < 3) {
    size_t start = i;
    int64_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 9)
      v = v * 10 + (s[i++] - '0');
    if (i == start) return false;
    parts[n++] = v;
    if (i < s.size() && s[i] == ':' && n < 3) {
      ++i;
      continue;
    }
    break;
  }
  if (n < 2) return false;
  if (i < s.size() && s[i] == '.' && n == 3) {
    ++i;
    int64_t scale = 100000;
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (scale > 0) fraction += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return false;
  }
  if (i != s.size() || parts[1] > 59 || parts[2] > 59) return false;
  int64_t v = ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * kMicrosPerSecond + fraction;
  *micros = negative ? -v : v;
  return true;
}

struct Unit {
  const char* names[4];
  int64_t months, days, micros;  // per one unit
};
constexpr Unit kUnits[] = {
    {{"year", "years", "yr", "yrs"}, 12, 0, 0},
    {{"month", "months", "mon", "mons"}, 1, 0, 0},
    {{"week", "weeks", nullptr, nullptr}, 0, 7, 0},
    {{"day", "days", nullptr, nullptr}, 0, 1, 0},
    {{"hour", "hours", "hr", "hrs"}, 0, 0, 3600 * kMicrosPerSecond},
    {{"minute", "minutes", "min", "mins"}, 0, 0, 60 * kMicrosPerSecond},
    {{"second", "seconds", "sec", "secs"}, 0, 0, kMicrosPerSecond},
};

const Unit* FindUnit(const std::string& word) {
  for (const Unit& u : kUnits)
    for (const char* name : u.names)
      if (name != nullptr && word == name) return &u;
  return nullptr;
}

void AppendField(std::string& out, int64_t value, const char* unit, bool& negative_seen) {
  if (value == 0) return;
  if (!out.empty()) out += ' ';
  if (negative_seen && value > 0) out += '+';
  out += std::to_string(value);
  out += ' ';
  out += unit;
  if (value != 1) out += 's';  // Postgres writes "-1 mons"
  if (value < 0) negative_seen = true;
}

}  // namespace

std::optional<Interval> ParseInterval(std::string_view text) {
  // Tokens: whitespace-separated, with a number and its unit allowed to touch ("6months").
  std::string s = Lower(text);
  Interval out;
  bool any = false;
  bool ago = false;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  skip_space();
  if (i < s.size() && s[i] == '@') {
    ++i;
    skip_space();
  }
  while (i < s.size()) {
    if (ago) return std::nullopt;  // "ago" ends the text
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::string token = s.substr(start, i - start);
    skip_space();
    if (token == "ago") {
      if (!any) return std::nullopt;
      ago = true;
      continue;
    }
    if (token.find(':') != std::string::npos) {
      int64_t micros = 0;
      if (!ParseTime(token, &micros) || !SafeAdd(out.micros, micros, INT64_MAX / 2))
        return std::nullopt;
      any = true;
      continue;
    }
    // A whole number, then its unit in the same token or the next one.
    size_t p = 0;
    bool negative = false;
    if (p < token.size() && (token[p] == '-' || token[p] == '+')) negative = token[p++] == '-';
    size_t digits = p;
    int64_t value = 0;
    while (p < token.size() && std::isdigit(static_cast<unsigned char>(token[p]))) {
      if (value > kFieldLimit) return std::nullopt;
      value = value * 10 + (token[p++] - '0');
    }
    if (p == digits || value > kFieldLimit) return std::nullopt;
    std::string unit_word = token.substr(p);
    if (unit_word.empty()) {
      if (i >= s.size()) return std::nullopt;
      size_t ustart = i;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
      unit_word = s.substr(ustart, i - ustart);
      skip_space();
    }
    const Unit* unit = FindUnit(unit_word);
    if (unit == nullptr) return std::nullopt;
    if (negative) value = -value;
    // Every product stays within int64: |value| <= 2^31 and the factors are below 2^37.
    if (!SafeAdd(out.months, value * unit->months, kFieldLimit) ||
        !SafeAdd(out.days, value * unit->days, kFieldLimit) ||
        !SafeAdd(out.micros, value * unit->micros, INT64_MAX / 2))
      return std::nullopt;
    any = true;
  }
  if (!any) return std::nullopt;
  if (ago) {
    out.months = -out.months;
    out.days = -out.days;
    out.micros = -out.micros;
  }
  return out;
}

std::string FormatInterval(const Interval& interval) {
  std::string out;
  bool negative_seen = false;
  AppendField(out, interval.months / 12, "year", negative_seen);
  AppendField(out, interval.months % 12, "mon", negative_seen);
  AppendField(out, interval.days, "day", negative_seen);
  if (interval.micros != 0 || out.empty()) {
    int64_t m = interval.micros;
    bool negative = m < 0;
    uint64_t u = negative ? static_cast<uint64_t>(-(m + 1)) + 1 : static_cast<uint64_t>(m);
    uint64_t seconds = u / kMicrosPerSecond;
    uint64_t fraction = u % kMicrosPerSecond;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%02llu:%02llu:%02llu",
                  negative ? "-" : (negative_seen ? "+" : ""),
                  static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60),
                  static_cast<unsigned long long>(seconds % 60));
    if (!out.empty()) out += ' ';
    out += buf;
    if (fraction != 0) {
      std::snprintf(buf, sizeof buf, ".%06llu", static_cast<unsigned long long>(fraction));
      std::string f(buf);
      while (f.back() == '0') f.pop_back();
      out += f;
    }
  }
  return out;
}

std::optional<TimestampMicros> AddInterval(TimestampMicros time, const Interval& interval) {
  constexpr int64_t kMinDay = -719162;  // 0001-01-01
  constexpr int64_t kMaxDay = 2932896;  // 9999-12-31
  int64_t day = time >= 0 ? time / kMicrosPerDay : -((-time + kMicrosPerDay - 1) / kMicrosPerDay);
  int64_t time_of_day = time - day * kMicrosPerDay;
  if (day < kMinDay || day > kMaxDay) return std::nullopt;
  if (interval.months != 0) {
    int y, m, d;
    CivilFromDays(day, y, m, d);
    int64_t month_index = static_cast<int64_t>(y) * 12 + (m - 1) + interval.months;
    int64_t ny = month_index >= 0 ? month_index / 12 : -((-month_index + 11) / 12);
    int nm = static_cast<int>(month_index - ny * 12) + 1;
    if (ny < 1 || ny > 9999) return std::nullopt;
    static const int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (ny % 4 == 0 && ny % 100 != 0) || ny % 400 == 0;
    int last = kDaysIn[nm - 1] + (nm == 2 && leap ? 1 : 0);
    day = DaysFromCivil(ny, nm, d > last ? last : d);
  }
  day += interval.days;
  if (day < kMinDay || day > kMaxDay) return std::nullopt;
  int64_t result = day * kMicrosPerDay + time_of_day;
  if (!SafeAdd(result, interval.micros, INT64_MAX / 2)) return std::nullopt;
  if (result < kMinDay * kMicrosPerDay || result >= (kMaxDay + 1) * kMicrosPerDay)
    return std::nullopt;
  return result;
}

std::optional<TimestampMicros> SubtractInterval(TimestampMicros time, const Interval& interval) {
  return AddInterval(time, Interval{-interval.months, -interval.days, -interval.micros});
}

}  // namespace ltv::analysis
