// Guessing the field delimiter of a CSV file from its header line.
#pragma once

#include <string_view>

namespace ltv::csv {

// Counts ',', ';' and tab in the first line of `bytes` (which ends at the first CR or LF that
// is outside double quotes) and returns the most frequent; ties go to ',' then ';' then tab.
// A header is the most regular line of a file and never contains decimal commas, which is
// why it alone decides. Returns ',' when the line has none of them (a one-column file).
char DetectDelimiter(std::string_view bytes);

}  // namespace ltv::csv
