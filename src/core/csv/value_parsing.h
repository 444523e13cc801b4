// Parsing the values of a retail export: timestamps, decimal numbers, customer ids.
// All functions take trimmed or untrimmed views and never allocate.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/civil_time.h"  // DaysFromCivil, FormatTimestamp (used with these parsers)
#include "core/transaction.h"

namespace ltv::csv {

// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view Trim(std::string_view s);

// Parses a decimal number: optional sign ('+' or '-'), digits with an optional fraction, an
// optional exponent ("1e3"). With `decimal_comma`, a single ',' is the decimal separator and
// '.' before it groups thousands ("1.234,5"). Rejects empty text, inf/nan, hex and values
// outside the double range. Returns false when `s` is not such a number.
bool ParseDecimal(std::string_view s, bool decimal_comma, double* out);

enum class DateForm {
  kIso,      // 2010-12-01[ T]08:26[:00[.fraction]][zone] or 2010-12-01; also 2010/12/01.
             // zone: Z, UTC, +01:00, +0100, +01 (checked, then dropped: see SkipZone)
  kSlash,    // a/b/yyyy [h:mm[:ss]] [AM|PM], as spreadsheets export; a.b.yyyy too
  kCompact,  // yyyymmdd, yyyymmddHHMM or yyyymmddHHMMSS (all digits)
  kFormat,   // read with an explicit DateFormat
};

// How to read a/b/yyyy dates: month first (US spreadsheets) or day first.
enum class SlashOrder { kMonthFirst, kDayFirst };

enum class DateParse { kOk, kMalformed, kInvalidCalendar };

// Parses a wall-clock timestamp in one of the DateForms. Validates the calendar (no Feb 30,
// hours < 24, ...) and years 1000..9999. `form` (optional) tells which form was seen.
DateParse ParseTimestamp(std::string_view s, SlashOrder order, TimestampMicros* out,
                         DateForm* form = nullptr);

// An explicit date format (import option "date_format"), strptime-like:
//   %Y year (4 digits)   %y year (2 digits: 69-99 -> 19xx, 00-68 -> 20xx)
//   %m month (1-2 digits)   %b / %B month name in English ("Dec", "December", any case)
//   %d day (1-2 digits)   %H hour 0-23 (1-2 digits)   %I hour 1-12 with %p (AM / PM)
//   %M minute (2 digits)   %S second (2 digits)   %f fraction of a second (1+ digits)
//   %z zone offset (Z, +01:00, +0100; dropped like the ISO form's)   %T = %H:%M:%S
//   %% a percent sign; a space matches one or more spaces; anything else matches itself.
// It must name the year, the month and the day.
struct DateFormat {
  struct Item {
    char directive;  // 0: literal character `literal`
    char literal;
  };
  std::string text;  // as given, for messages
  std::vector<Item> items;
};
// Throws ltv::Error(kInvalidParameter) naming the problem for an unusable format.
DateFormat CompileDateFormat(std::string_view format);
DateParse ParseTimestampWithFormat(std::string_view s, const DateFormat& format,
                                   TimestampMicros* out);

// For date_order "auto": the first two numbers of a/b/yyyy text, or false when `s` is not in
// the slash form.
bool PeekSlashDateParts(std::string_view s, int* first, int* second);

// Customer ids exported through a spreadsheet become floats: "17850.0" -> "17850". Only an
// all-digit id followed by '.' and zeros is changed; anything else is returned as is.
std::string_view NormalizeCustomerId(std::string_view trimmed);

}  // namespace ltv::csv
