// ParseImportOptions and the canonical option values.
#include <string>

#include "core/csv/csv_import.h"
#include "core/csv/excerpt.h"
#include "core/csv/options_internal.h"
#include "core/csv/value_parsing.h"
#include "core/error.h"

namespace ltv::csv {

const std::vector<std::string>& DefaultNonProductCodes() {
  // Postage, carriage, manual entries, bank charges, marketplace fees, adjustments, test
  // codes and gift vouchers of the UCI Online Retail catalogue. A trailing '*' is a prefix.
  static const std::vector<std::string> kCodes = {
      "POST", "DOT",          "M",         "C2",     "CRUK",    "D",       "S",       "PADS",
      "B",    "BANK CHARGES", "AMAZONFEE", "ADJUST", "ADJUST2", "TEST001", "TEST002", "gift_0001*"};
  return kCodes;
}

std::string CanonicalEncodingName(const std::string& name) {
  std::string lower;
  for (char c : name) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  if (lower.empty() || lower == "auto") return "";
  if (lower == "utf-8" || lower == "utf8") return "utf-8";
  if (lower == "latin-1" || lower == "latin1" || lower == "iso-8859-1" || lower == "iso8859-1")
    return "latin-1";
  if (lower == "windows-1252" || lower == "cp1252" || lower == "win1252") return "windows-1252";
  throw Error(ErrorKind::kInvalidParameter, "import option \"encoding\" is \"" + Excerpt(name) +
                                                "\"; expected \"auto\", \"utf-8\", \"latin-1\" "
                                                "or \"windows-1252\"");
}

void CheckDelimiter(char d) {
  if (d != 0 && d != ',' && d != ';' && d != '\t' && d != '|')
    throw Error(ErrorKind::kInvalidParameter,
                "import option \"delimiter\" must be \",\", \";\", \"|\" or a tab (\"\\t\")");
}

ImportOptions ParseImportOptions(const json::Value& options) {
  json::OptionReader reader(options, "import option");
  ImportOptions out;

  std::string delimiter = reader.String("delimiter", "");
  if (delimiter == "tab" || delimiter == "\\t") delimiter = "\t";
  if (delimiter.size() > 1 || (delimiter.size() == 1 && delimiter != "," && delimiter != ";" &&
                               delimiter != "\t" && delimiter != "|"))
    throw Error(ErrorKind::kInvalidParameter,
                "import option \"delimiter\" is \"" + Excerpt(delimiter) +
                    "\"; expected \",\", \";\", \"|\" or a tab (\"\\t\" or \"tab\")");
  out.delimiter = delimiter.empty() ? 0 : delimiter[0];

  out.encoding = CanonicalEncodingName(reader.String("encoding", ""));

  std::string order = reader.String("date_order", "auto");
  if (order == "auto") {
    out.date_order = DateOrder::kAuto;
  } else if (order == "mdy") {
    out.date_order = DateOrder::kMonthFirst;
  } else if (order == "dmy") {
    out.date_order = DateOrder::kDayFirst;
  } else {
    throw Error(ErrorKind::kInvalidParameter, "import option \"date_order\" is \"" +
                                                  Excerpt(order) +
                                                  "\"; expected \"auto\", \"mdy\" or \"dmy\"");
  }

  out.date_format = reader.String("date_format", "");
  if (!out.date_format.empty()) CompileDateFormat(out.date_format);  // throws naming the problem

  auto read_date = [&](const char* key, TimestampMicros* time) {
    std::string text = reader.String(key, "");
    if (text.empty()) return false;
    if (ParseTimestamp(text, SlashOrder::kMonthFirst, time) != DateParse::kOk)
      throw Error(ErrorKind::kInvalidParameter,
                  std::string("import option \"") + key + "\" is \"" + Excerpt(text) +
                      "\"; expected a date such as \"1900-01-01\" or \"2100-01-01 00:00:00\"");
    return true;
  };
  read_date("min_date", &out.min_time);
  out.max_time_given = read_date("max_date", &out.max_time);
  if (out.max_time_given && out.max_time <= out.min_time)
    throw Error(ErrorKind::kInvalidParameter,
                "import option \"max_date\" must be later than \"min_date\" (default 1900-01-01)");
  out.max_rejected_share = reader.Number("max_rejected_share", 0.5, 0, 1);

  if (const json::Value* columns = reader.Raw("columns")) {
    if (!columns->is_object())
      throw Error(ErrorKind::kInvalidParameter,
                  "import option \"columns\" must be an object mapping logical column names to "
                  "header names, e.g. {\"customer_id\": \"Kunde\"}");
    for (const auto& [logical, header] : columns->as_object()) {
      if (!header.is_string())
        throw Error(ErrorKind::kInvalidParameter,
                    "import option \"columns\": the header name for \"" + Excerpt(logical) +
                        "\" must be a string");
      out.column_map[logical] = header.as_string();
    }
  }

  if (const json::Value* codes = reader.Raw("non_product_codes")) {
    if (!codes->is_array())
      throw Error(ErrorKind::kInvalidParameter,
                  "import option \"non_product_codes\" must be an array of strings");
    std::vector<std::string> codes_given;
    for (const auto& code : codes->as_array()) {
      if (!code.is_string())
        throw Error(ErrorKind::kInvalidParameter,
                    "import option \"non_product_codes\" must be an array of strings");
      codes_given.push_back(code.as_string());
    }
    out.non_product_codes = std::move(codes_given);  // replaces the default list; [] disables
  }

  constexpr int64_t kMax = int64_t{1} << 53;
  out.max_rows = reader.Integer("max_rows", 0, 0, kMax);
  out.max_bytes = reader.Integer("max_bytes", 0, 0, kMax);
  out.keep_duplicates = reader.Bool("keep_duplicates", false);
  reader.RejectUnknown();
  return out;
}

}  // namespace ltv::csv
