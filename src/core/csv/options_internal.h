// Option helpers shared by ParseImportOptions and ImportCsv.
#pragma once

#include <string>

namespace ltv::csv {

// "" for auto-detection, else "utf-8", "latin-1" or "windows-1252"; accepts common aliases
// (utf8, latin1, iso-8859-1, cp1252). Throws kInvalidParameter for anything else.
std::string CanonicalEncodingName(const std::string& name);

// Throws kInvalidParameter unless `d` is 0 (detect), ',', ';', '|' or tab.
void CheckDelimiter(char d);

}  // namespace ltv::csv
