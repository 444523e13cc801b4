// ParseImportOptions and the canonical option values.
#include <string>

#include "core/csv/csv_import.h"
#include "core/csv/options_internal.h"
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
  throw Error(ErrorKind::kInvalidParameter, "import option \"encoding\" is \"" + name +
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
                "import option \"delimiter\" is \"" + delimiter +
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
    throw Error(ErrorKind::kInvalidParameter, "import option \"date_order\" is \"" + order +
                                                  "\"; expected \"auto\", \"mdy\" or \"dmy\"");
  }

  if (const json::Value* columns = reader.Raw("columns")) {
    if (!columns->is_object())
      throw Error(ErrorKind::kInvalidParameter,
                  "import option \"columns\" must be an object mapping logical column names to "
                  "header names, e.g. {\"customer_id\": \"Kunde\"}");
    for (const auto& [logical, header] : columns->as_object()) {
      if (!header.is_string())
        throw Error(
            ErrorKind::kInvalidParameter,
            "import option \"columns\": the header name for \"" + logical + "\" must be a string");
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
