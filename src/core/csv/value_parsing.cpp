#include "core/csv/value_parsing.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace ltv::csv {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads 1..max_digits digits at s[*pos]; false if there is none.
bool ReadNumber(std::string_view s, size_t* pos, int max_digits, int* out) {
  int value = 0, digits = 0;
  while (*pos < s.size() && IsDigit(s[*pos]) && digits < max_digits) {
    value = value * 10 + (s[*pos] - '0');
    ++*pos;
    ++digits;
  }
  if (digits == 0 || (*pos < s.size() && IsDigit(s[*pos]))) return false;
  *out = value;
  return true;
}

bool ReadExact(std::string_view s, size_t* pos, int digits, int* out) {
  size_t start = *pos;
  if (!ReadNumber(s, pos, digits, out)) return false;
  return *pos - start == static_cast<size_t>(digits);
}

// Reads 1..max_digits digits at s[*pos], stopping after max_digits even if more follow (for
// fields that run together: yyyymmdd, or "%y%m%d" in a date_format); false if there is none.
bool ReadUpTo(std::string_view s, size_t* pos, int max_digits, int* out) {
  int value = 0, digits = 0;
  while (*pos < s.size() && IsDigit(s[*pos]) && digits < max_digits) {
    value = value * 10 + (s[*pos] - '0');
    ++*pos;
    ++digits;
  }
  *out = value;
  return digits > 0;
}

bool ReadFixed(std::string_view s, size_t* pos, int digits, int* out) {
  size_t start = *pos;
  return ReadUpTo(s, pos, digits, out) && *pos - start == static_cast<size_t>(digits);
}

bool Expect(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

struct TimeOfDay {
  int hour = 0, minute = 0, second = 0;
  int64_t micros = 0;
};

// Parses "h:mm[:ss[.fraction]]" from s[*pos]; `am_pm` allows a trailing " AM"/" PM".
bool ParseTimeOfDay(std::string_view s, size_t* pos, bool am_pm, TimeOfDay* t) {
  if (!ReadNumber(s, pos, 2, &t->hour) || !Expect(s, pos, ':') || !ReadExact(s, pos, 2, &t->minute))
    return false;
  if (Expect(s, pos, ':')) {
    if (!ReadExact(s, pos, 2, &t->second)) return false;
    if (Expect(s, pos, '.') || Expect(s, pos, ',')) {
      int64_t scale = 100000;
      size_t start = *pos;
      while (*pos < s.size() && IsDigit(s[*pos])) {
        t->micros += (s[*pos] - '0') * scale;  // digits beyond microseconds are truncated
        scale /= 10;
        ++*pos;
      }
      if (*pos == start) return false;
    }
  }
  if (am_pm) {
    size_t p = *pos;
    while (p < s.size() && s[p] == ' ') ++p;
    if (p + 2 == s.size()) {
      char a = static_cast<char>(s[p] | 0x20), m = static_cast<char>(s[p + 1] | 0x20);
      if ((a == 'a' || a == 'p') && m == 'm') {
        if (t->hour < 1 || t->hour > 12) {
          t->hour = 99;  // invalid, reported as calendar error
        } else {
          t->hour = t->hour % 12 + (a == 'p' ? 12 : 0);
        }
        *pos = s.size();
      }
    }
  }
  return true;
}

// An all-digit date of 8, 12 or 14 digits: yyyymmdd, yyyymmddHHMM, yyyymmddHHMMSS.
bool IsCompactDate(std::string_view s) {
  if (s.size() != 8 && s.size() != 12 && s.size() != 14) return false;
  for (char c : s)
    if (!IsDigit(c)) return false;
  return true;
}

// Reads a time-zone designator after an ISO time: "Z", " UTC", "+01:00", "+0100", "+01", "-05:00",
// with or without one space before it. The offset is checked (hours <= 14, minutes < 60) and
// then dropped: ltv.transactions.invoice_time is a timestamp without time zone, and the wall
// clock as written is what PostgreSQL's own '...+02'::timestamp keeps, too.
bool SkipZone(std::string_view s, size_t* pos) {
  size_t p = *pos;
  if (p == s.size()) return true;
  if (s[p] == ' ') ++p;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z') && p + 1 == s.size()) {
    *pos = s.size();
    return true;
  }
  if (s.substr(p) == "UTC" || s.substr(p) == "GMT") {
    *pos = s.size();
    return true;
  }
  if (p >= s.size() || (s[p] != '+' && s[p] != '-')) return false;
  ++p;
  size_t digits = 0;
  while (p + digits < s.size() && IsDigit(s[p + digits])) ++digits;
  int hours = 0, minutes = 0;
  if (digits == 4) {  // +hhmm
    hours = (s[p] - '0') * 10 + (s[p + 1] - '0');
    minutes = (s[p + 2] - '0') * 10 + (s[p + 3] - '0');
    p += 4;
  } else if (digits == 2) {  // +hh or +hh:mm
    hours = (s[p] - '0') * 10 + (s[p + 1] - '0');
    p += 2;
    if (Expect(s, &p, ':') && !ReadExact(s, &p, 2, &minutes)) return false;
  } else {
    return false;
  }
  if (p != s.size() || hours > 14 || minutes > 59) return false;
  *pos = p;
  return true;
}

}  // namespace

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}

bool ParseDecimal(std::string_view s, bool decimal_comma, double* out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) return false;
  }
  if (s.empty() || s.size() > 64) return false;
  char buf[65];
  size_t n = 0;
  // With a decimal comma, dots before it group thousands ("1.234,5"); without any comma a
  // dot is still a decimal point ("2.55" in a ';' file).
  bool has_comma = decimal_comma && s.find(',') != std::string_view::npos;
  bool seen_separator = false;
  for (char c : s) {
    if (IsDigit(c) || c == '-' || c == '+' || c == 'e' || c == 'E') {
      buf[n++] = c;
    } else if (c == '.' && !has_comma) {
      buf[n++] = '.';
    } else if (c == '.' && has_comma && !seen_separator) {
      continue;
    } else if (c == ',' && has_comma && !seen_separator) {
      seen_separator = true;
      buf[n++] = '.';
    } else {
      return false;
    }
  }
  // from_chars accepts "inf"/"nan" and we filtered letters except e/E, so only digits remain.
  // It also accepts a leading '-', which we want, but not "1e" or "-": those fail below.
  double value = 0;
  auto [ptr, ec] = std::from_chars(buf, buf + n, value, std::chars_format::general);
  if (ec != std::errc() || ptr != buf + n || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

DateParse ParseTimestamp(std::string_view s, SlashOrder order, TimestampMicros* out,
                         DateForm* form) {
  s = Trim(s);
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  TimeOfDay tod;
  bool slash_form = false, compact_form = false;
  if (s.size() >= 5 && IsDigit(s[0]) && IsDigit(s[1]) && IsDigit(s[2]) && IsDigit(s[3]) &&
      (s[4] == '-' || s[4] == '/')) {
    char sep = s[4];
    if (!ReadExact(s, &pos, 4, &year) || !Expect(s, &pos, sep) || !ReadNumber(s, &pos, 2, &month) ||
        !Expect(s, &pos, sep) || !ReadNumber(s, &pos, 2, &day))
      return DateParse::kMalformed;
    if (pos < s.size()) {
      if (s[pos] == 'T') {
        ++pos;
      } else if (s[pos] == ' ') {
        while (pos < s.size() && s[pos] == ' ') ++pos;
      } else {
        return DateParse::kMalformed;
      }
      if (!ParseTimeOfDay(s, &pos, false, &tod)) return DateParse::kMalformed;
      if (!SkipZone(s, &pos)) return DateParse::kMalformed;
    }
  } else if (IsCompactDate(s)) {
    // yyyymmdd[HHMM[SS]], as CDNOW-style and database exports write dates.
    compact_form = true;
    ReadFixed(s, &pos, 4, &year);
    ReadFixed(s, &pos, 2, &month);
    ReadFixed(s, &pos, 2, &day);
    if (pos < s.size()) ReadFixed(s, &pos, 2, &tod.hour);
    if (pos < s.size()) ReadFixed(s, &pos, 2, &tod.minute);
    if (pos < s.size()) ReadFixed(s, &pos, 2, &tod.second);
  } else {
    int first = 0, second = 0;
    if (!ReadNumber(s, &pos, 2, &first)) return DateParse::kMalformed;
    if (pos >= s.size() || (s[pos] != '/' && s[pos] != '.')) return DateParse::kMalformed;
    char sep = s[pos++];
    if (!ReadNumber(s, &pos, 2, &second) || !Expect(s, &pos, sep) || !ReadExact(s, &pos, 4, &year))
      return DateParse::kMalformed;
    month = order == SlashOrder::kMonthFirst ? first : second;
    day = order == SlashOrder::kMonthFirst ? second : first;
    if (pos < s.size()) {
      if (s[pos] != ' ') return DateParse::kMalformed;
      while (pos < s.size() && s[pos] == ' ') ++pos;
      if (!ParseTimeOfDay(s, &pos, true, &tod)) return DateParse::kMalformed;
    }
    slash_form = true;
  }
  if (pos != s.size()) return DateParse::kMalformed;
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      tod.hour > 23 || tod.minute > 59 || tod.second > 59)
    return DateParse::kInvalidCalendar;
  int64_t days = DaysFromCivil(year, month, day);
  *out = days * kMicrosPerDay +
         (tod.hour * 3600LL + tod.minute * 60LL + tod.second) * kMicrosPerSecond + tod.micros;
  if (form)
    *form = slash_form ? DateForm::kSlash : compact_form ? DateForm::kCompact : DateForm::kIso;
  return DateParse::kOk;
}

namespace {

bool ValidCalendar(int year, int month, int day, const TimeOfDay& tod) {
  return year >= 1000 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 &&
         day <= DaysInMonth(year, month) && tod.hour <= 23 && tod.minute <= 59 && tod.second <= 59;
}

TimestampMicros ToMicros(int year, int month, int day, const TimeOfDay& tod) {
  return DaysFromCivil(year, month, day) * kMicrosPerDay +
         (tod.hour * 3600LL + tod.minute * 60LL + tod.second) * kMicrosPerSecond + tod.micros;
}

constexpr const char* kMonthNames[12] = {"january",   "february", "march",    "april",
                                         "may",       "june",     "july",     "august",
                                         "september", "october",  "november", "december"};

// Reads an English month name, full or its first three letters, in any case.
bool ReadMonthName(std::string_view s, size_t* pos, int* month) {
  for (int m = 0; m < 12; ++m) {
    const size_t full = std::strlen(kMonthNames[m]);
    for (size_t len : {full, size_t{3}}) {
      if (*pos + len > s.size()) continue;
      bool same = true;
      for (size_t i = 0; i < len && same; ++i)
        same = static_cast<char>(s[*pos + i] | 0x20) == kMonthNames[m][i];
      // "Mar" must not match the start of "March" and leave "ch" behind: full names first.
      if (same) {
        *pos += len;
        *month = m + 1;
        return true;
      }
    }
  }
  return false;
}

}  // namespace

DateFormat CompileDateFormat(std::string_view format) {
  DateFormat out;
  out.text = std::string(format.substr(0, 100));
  auto fail = [&](const std::string& what) -> void {
    throw Error(ErrorKind::kInvalidParameter, "import option \"date_format\" " + what,
                "Directives: %Y %y %m %b %d %H %I %p %M %S %f %z %T %%, e.g. \"%d.%m.%Y %H:%M\".");
  };
  if (format.empty() || format.size() > 100) fail("must be 1 to 100 characters long");
  bool year = false, month = false, day = false, hour12 = false, am_pm = false;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%') {
      out.items.push_back({0, c});
      continue;
    }
    if (++i == format.size()) fail("ends with a lone '%'");
    char d = format[i];
    switch (d) {
      case 'Y':
      case 'y':
        year = true;
        break;
      case 'm':
      case 'b':
      case 'B':
        month = true;
        break;
      case 'd':
        day = true;
        break;
      case 'I':
        hour12 = true;
        break;
      case 'p':
        am_pm = true;
        break;
      case 'H':
      case 'M':
      case 'S':
      case 'f':
      case 'z':
        break;
      case 'T':
        for (char t : {'H', ':', 'M', ':', 'S'})
          out.items.push_back(t == ':' ? DateFormat::Item{0, ':'} : DateFormat::Item{t, 0});
        continue;
      case '%':
        out.items.push_back({0, '%'});
        continue;
      default: {
        std::string shown = (d >= 0x20 && d < 0x7f) ? std::string(1, d) : "?";
        fail("has an unknown directive %" + shown);
      }
    }
    out.items.push_back({d, 0});
  }
  if (!year || !month || !day)
    fail("must contain a year (%Y or %y), a month (%m or %b) and a day (%d)");
  if (hour12 != am_pm) fail("must use %I and %p together (12-hour clock)");
  return out;
}

DateParse ParseTimestampWithFormat(std::string_view s, const DateFormat& format,
                                   TimestampMicros* out) {
  s = Trim(s);
  size_t pos = 0;
  int year = 0, month = 0, day = 0, pm = -1;
  TimeOfDay tod;
  for (const DateFormat::Item& item : format.items) {
    bool ok = true;
    switch (item.directive) {
      case 0:
        if (item.literal == ' ') {
          ok = pos < s.size() && s[pos] == ' ';
          while (pos < s.size() && s[pos] == ' ') ++pos;
        } else {
          ok = Expect(s, &pos, item.literal);
        }
        break;
      case 'Y':
        ok = ReadFixed(s, &pos, 4, &year);
        break;
      case 'y':
        ok = ReadFixed(s, &pos, 2, &year);
        year += year < 69 ? 2000 : 1900;
        break;
      case 'm':
        ok = ReadUpTo(s, &pos, 2, &month);
        break;
      case 'b':
      case 'B':
        ok = ReadMonthName(s, &pos, &month);
        break;
      case 'd':
        ok = ReadUpTo(s, &pos, 2, &day);
        break;
      case 'H':
      case 'I':
        ok = ReadUpTo(s, &pos, 2, &tod.hour);
        break;
      case 'M':
        ok = ReadFixed(s, &pos, 2, &tod.minute);
        break;
      case 'S':
        ok = ReadFixed(s, &pos, 2, &tod.second);
        break;
      case 'f': {
        const size_t start = pos;
        int64_t scale = 100000;
        tod.micros = 0;
        while (pos < s.size() && IsDigit(s[pos])) {
          tod.micros += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        ok = pos > start;
        break;
      }
      case 'p':
        ok = pos + 2 <= s.size() && (s[pos + 1] | 0x20) == 'm' &&
             ((s[pos] | 0x20) == 'a' || (s[pos] | 0x20) == 'p');
        if (ok) {
          pm = (s[pos] | 0x20) == 'p';
          pos += 2;
        }
        break;
      case 'z': {
        // SkipZone wants the zone to end the text; give it the rest up to the next literal.
        size_t end = pos;
        while (end < s.size() && s[end] != ' ') ++end;
        size_t p = 0;
        std::string_view zone = s.substr(pos, end - pos);
        ok = !zone.empty() && SkipZone(zone, &p) && p == zone.size();
        pos = end;
        break;
      }
      default:
        ok = false;
    }
    if (!ok) return DateParse::kMalformed;
  }
  if (pos != s.size()) return DateParse::kMalformed;
  if (pm >= 0) {
    if (tod.hour < 1 || tod.hour > 12) return DateParse::kInvalidCalendar;
    tod.hour = tod.hour % 12 + (pm ? 12 : 0);
  }
  if (!ValidCalendar(year, month, day, tod)) return DateParse::kInvalidCalendar;
  *out = ToMicros(year, month, day, tod);
  return DateParse::kOk;
}

bool PeekSlashDateParts(std::string_view s, int* first, int* second) {
  s = Trim(s);
  size_t pos = 0;
  if (!ReadNumber(s, &pos, 2, first)) return false;
  if (pos >= s.size() || (s[pos] != '/' && s[pos] != '.')) return false;
  char sep = s[pos++];
  int year = 0;
  return ReadNumber(s, &pos, 2, second) && Expect(s, &pos, sep) && ReadExact(s, &pos, 4, &year);
}

std::string_view NormalizeCustomerId(std::string_view s) {
  size_t dot = s.find('.');
  if (dot == std::string_view::npos || dot == 0) return s;
  for (size_t i = 0; i < dot; ++i)
    if (!IsDigit(s[i])) return s;
  for (size_t i = dot + 1; i < s.size(); ++i)
    if (s[i] != '0') return s;
  return s.substr(0, dot);
}

}  // namespace ltv::csv
