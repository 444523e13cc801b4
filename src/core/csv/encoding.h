// Byte-level text encoding helpers for CSV import: BOM handling, UTF-8 validation and
// conversion of single-byte Western encodings (Latin-1, Windows-1252) to UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ltv::csv {

enum class Encoding { kUtf8, kLatin1, kWindows1252 };

const char* EncodingName(Encoding e);  // "utf-8", "latin-1", "windows-1252"

// Returns `bytes` without a leading UTF-8 byte order mark (EF BB BF).
std::string_view StripUtf8Bom(std::string_view bytes);

// True if `bytes` starts with a UTF-16 or UTF-32 byte order mark, which we do not read.
bool HasUtf16Or32Bom(std::string_view bytes);

// Offset of the first byte that is not part of a well-formed UTF-8 sequence (overlongs,
// surrogates and code points above U+10FFFF count as malformed), or npos if all is valid.
size_t FindInvalidUtf8(std::string_view bytes);

inline bool IsAscii(std::string_view bytes) {
  for (unsigned char c : bytes)
    if (c >= 0x80) return false;
  return true;
}

// Appends `bytes`, read in `from`, to `out` as UTF-8. For kUtf8 the bytes are copied as-is.
// Windows-1252's five undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 control
// characters of the same value, as Latin-1 does, so that conversion never fails.
void AppendAsUtf8(std::string_view bytes, Encoding from, std::string& out);

// Appends `bytes` to `out` as valid UTF-8 that Postgres `text` accepts: valid sequences stay,
// NUL and malformed bytes become U+FFFD. Used for the raw text of rejected rows.
void AppendSanitizedUtf8(std::string_view bytes, std::string& out);

}  // namespace ltv::csv
