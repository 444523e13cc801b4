// Writers for PostgreSQL's COPY text format (tab-separated, backslash escapes), used to hand
// rows to the host's bulk loader. Pure formatting: no Postgres headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/transaction.h"

namespace ltv {

// Appends `value` escaped for COPY text format. Bytes that are not valid UTF-8 are replaced by
// U+FFFD and NUL bytes are dropped, so the output always loads into a UTF-8 text column.
void AppendCopyText(std::string& out, std::string_view value);
void AppendCopyInt(std::string& out, int64_t value);
// Shortest text that reads back as the same double.
void AppendCopyDouble(std::string& out, double value);
// 'YYYY-MM-DD HH:MM:SS[.ffffff]'
void AppendCopyTimestamp(std::string& out, TimestampMicros value);
void AppendCopyBool(std::string& out, bool value);

// The columns of ltv.transactions in table order, as one COPY line (with trailing newline).
void AppendTransactionCopyLine(std::string& out, int64_t dataset_id, const Transaction& t);

// The columns of ltv.rejected_rows (dataset_id, line_no, reason, raw) as one COPY line.
void AppendRejectedCopyLine(std::string& out, int64_t dataset_id, int64_t line_no,
                            std::string_view reason, std::string_view raw);

// Whether `text` is valid UTF-8 (no overlongs, no surrogates, max U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace ltv
