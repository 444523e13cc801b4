#include "core/csv/excerpt.h"

#include "core/csv/encoding.h"

namespace ltv::csv {

std::string Excerpt(std::string_view text, size_t max_bytes) {
  std::string clean;
  // Sanitize a little more than the excerpt (a malformed byte grows into 3), then cut.
  AppendSanitizedUtf8(text.substr(0, max_bytes + 4), clean);
  if (clean.size() <= max_bytes && text.size() <= max_bytes) return clean;
  size_t cut = std::min(max_bytes, clean.size());
  while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
  clean.resize(cut);
  return clean + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace ltv::csv
