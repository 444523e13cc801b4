#include "core/csv/excerpt.h"

#include "core/csv/encoding.h"

namespace ltv::csv {

std::string Excerpt(std::string_view text, size_t max_bytes) {
  std::string clean;
  // Sanitize a little more than the excerpt (a malformed byte grows into 3), then cut.
  AppendSanitizedUtf8(text.substr(0, max_bytes + 4), clean);
  // Control characters (binary data read as text) would garble a terminal or a log line.
  for (char& c : clean)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
  if (clean.size() <= max_bytes && text.size() <= max_bytes) return clean;
  size_t cut = std::min(max_bytes, clean.size());
  while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
  clean.resize(cut);
  return clean + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace ltv::csv
