#include "core/copy_text.h"

#include <charconv>
#include <cstdio>

#include "core/civil_time.h"

namespace ltv {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t min;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendCopyText(std::string& out, std::string_view value) {
  for (size_t i = 0; i < value.size();) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(value, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD replacement character
        ++i;
      } else {
        out.append(value.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        break;
      default:
        out.push_back(static_cast<char>(c));
    }
    ++i;
  }
}

void AppendCopyInt(std::string& out, int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void AppendCopyDouble(std::string& out, double value) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void AppendCopyTimestamp(std::string& out, TimestampMicros value) { AppendTimestamp(out, value); }

void AppendCopyBool(std::string& out, bool value) { out.push_back(value ? 't' : 'f'); }

void AppendTransactionCopyLine(std::string& out, int64_t dataset_id, const Transaction& t) {
  AppendCopyInt(out, dataset_id);
  out.push_back('\t');
  AppendCopyInt(out, t.line_no);
  out.push_back('\t');
  AppendCopyText(out, t.invoice);
  out.push_back('\t');
  AppendCopyText(out, t.stock_code);
  out.push_back('\t');
  AppendCopyText(out, t.description);
  out.push_back('\t');
  AppendCopyDouble(out, t.quantity);
  out.push_back('\t');
  AppendCopyDouble(out, t.unit_price);
  out.push_back('\t');
  AppendCopyDouble(out, t.amount);
  out.push_back('\t');
  AppendCopyTimestamp(out, t.invoice_time);
  out.push_back('\t');
  AppendCopyText(out, t.customer_id);
  out.push_back('\t');
  AppendCopyText(out, t.country);
  out.push_back('\t');
  AppendCopyBool(out, t.is_return);
  out.push_back('\n');
}

void AppendRejectedCopyLine(std::string& out, int64_t dataset_id, int64_t line_no,
                            std::string_view reason, std::string_view raw) {
  AppendCopyInt(out, dataset_id);
  out.push_back('\t');
  AppendCopyInt(out, line_no);
  out.push_back('\t');
  AppendCopyText(out, reason);
  out.push_back('\t');
  AppendCopyText(out, raw);
  out.push_back('\n');
}

}  // namespace ltv
