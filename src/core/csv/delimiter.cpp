#include "core/csv/delimiter.h"

#include <cstddef>

namespace ltv::csv {

char DetectDelimiter(std::string_view bytes) {
  size_t commas = 0, semicolons = 0, tabs = 0;
  bool in_quotes = false;
  for (char c : bytes) {
    if (c == '"') {
      in_quotes = !in_quotes;  // a doubled quote toggles twice: no net change, as it should
    } else if (in_quotes) {
      continue;
    } else if (c == '\n' || c == '\r') {
      break;
    } else if (c == ',') {
      ++commas;
    } else if (c == ';') {
      ++semicolons;
    } else if (c == '\t') {
      ++tabs;
    }
  }
  if (commas >= semicolons && commas >= tabs && commas > 0) return ',';
  if (semicolons >= tabs && semicolons > 0) return ';';
  if (tabs > 0) return '\t';
  return ',';
}

}  // namespace ltv::csv
