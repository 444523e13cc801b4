// Short excerpts of user-supplied text for error messages and reports.
//
// Rule: a message quotes what the user sent only as an excerpt. A 100 MB column name or a
// 20 KB option value echoed whole makes the error unreadable, floods logs and clients, and
// (cut at an arbitrary byte by a fixed-size buffer later) can end in half a UTF-8 sequence.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ltv::csv {

constexpr size_t kExcerptBytes = 60;

// `text` as valid UTF-8 (malformed bytes and NUL become U+FFFD, other control characters '?') cut
// to at most `max_bytes` bytes at a character boundary; a cut excerpt ends in "..." and tells the
// full size, e.g. `abcd... (10485760 bytes)`.
std::string Excerpt(std::string_view text, size_t max_bytes = kExcerptBytes);

}  // namespace ltv::csv
