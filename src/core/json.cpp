#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace ltv::json {

const Value* Value::Find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [k, v] : object_) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value& Value::Set(std::string key, Value value) {
  if (type_ != Type::kObject) *this = MakeObject();
  for (auto& [k, v] : object_) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  object_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Value& Value::Push(Value value) {
  if (type_ != Type::kArray) *this = MakeArray();
  array_.push_back(std::move(value));
  return *this;
}

namespace {

void DumpString(const std::string& s, std::string& out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void DumpValue(const Value& v, NumberStyle style, std::string& out) {
  switch (v.type()) {
    case Value::Type::kNull:
      out += "null";
      break;
    case Value::Type::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Type::kNumber: {
      double d = v.as_number();
      if (!std::isfinite(d)) {
        out += "null";
      } else if (d == std::floor(d) && std::fabs(d) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(d));
        out += buf;
      } else {
        // The shortest text that reads back as the same double (0.3, not 0.29999999999999999):
        // what a person wrote stays as written, and nothing is lost.
        char buf[32];
        for (int digits = style == NumberStyle::kShortest ? 15 : 17; digits <= 17; ++digits) {
          std::snprintf(buf, sizeof buf, "%.*g", digits, d);
          if (digits == 17 || std::strtod(buf, nullptr) == d) break;
        }
        out += buf;
      }
      break;
    }
    case Value::Type::kString:
      DumpString(v.as_string(), out);
      break;
    case Value::Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        DumpValue(item, style, out);
      }
      out.push_back(']');
      break;
    }
    case Value::Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, item] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        DumpString(k, out);
        out.push_back(':');
        DumpValue(item, style, out);
      }
      out.push_back('}');
      break;
    }
  }
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Value ParseDocument() {
    Value v = ParseValue(0);
    SkipSpace();
    if (pos_ != text_.size()) Fail("unexpected trailing characters");
    return v;
  }

 private:
  [[noreturn]] void Fail(const std::string& what) {
    throw Error(ErrorKind::kInvalidParameter,
                "invalid JSON at offset " + std::to_string(pos_) + ": " + what);
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }
  Value ParseValue(int depth) {
    if (depth > 64) Fail("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) Fail("unexpected end of input");
    char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') return Value(ParseString());
    if (Consume("true")) return Value(true);
    if (Consume("false")) return Value(false);
    if (Consume("null")) return Value();
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    // A byte outside printable ASCII is shown in hex: one byte of a multi-byte character (or
    // a control byte) would make the message itself invalid UTF-8.
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(c));
      Fail(std::string("unexpected byte ") + hex);
    }
    Fail(std::string("unexpected character '") + c + "'");
  }
  Value ParseNumber() {
    size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
            text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-'))
      ++pos_;
    std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    double d = std::strtod(token.c_str(), &end);
    if (end == token.c_str() || *end != '\0')
      Fail("bad number '" + (token.size() > 40 ? token.substr(0, 40) + "..." : token) + "'");
    return Value(d);
  }
  static void AppendUtf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  uint32_t ParseHex4() {
    if (pos_ + 4 > text_.size()) Fail("truncated \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= h - '0';
      else if (h >= 'a' && h <= 'f')
        cp |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        cp |= h - 'A' + 10;
      else
        Fail("bad \\u escape");
    }
    return cp;
  }
  std::string ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) Fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') break;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) Fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          uint32_t cp = ParseHex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && Consume("\\u")) {
            uint32_t low = ParseHex4();
            if (low >= 0xDC00 && low <= 0xDFFF)
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          Fail("bad escape");
      }
    }
    return out;
  }
  Value ParseArray(int depth) {
    ++pos_;
    Value v = Value::MakeArray();
    SkipSpace();
    if (Consume("]")) return v;
    while (true) {
      v.Push(ParseValue(depth + 1));
      SkipSpace();
      if (Consume("]")) return v;
      if (!Consume(",")) Fail("expected ',' or ']'");
    }
  }
  Value ParseObject(int depth) {
    ++pos_;
    Value v = Value::MakeObject();
    SkipSpace();
    if (Consume("}")) return v;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') Fail("expected a key string");
      std::string key = ParseString();
      SkipSpace();
      if (!Consume(":")) Fail("expected ':'");
      v.Set(std::move(key), ParseValue(depth + 1));
      SkipSpace();
      if (Consume("}")) return v;
      if (!Consume(",")) Fail("expected ',' or '}'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string Value::Dump(NumberStyle style) const {
  std::string out;
  DumpValue(*this, style, out);
  return out;
}

Value Parse(std::string_view text) { return Parser(text).ParseDocument(); }

OptionReader::OptionReader(const Value& object, std::string what)
    : object_(object), what_(std::move(what)) {
  if (!object_.is_object() && !object_.is_null())
    throw Error(ErrorKind::kInvalidParameter, what_ + "s must be a JSON object");
}

bool OptionReader::Has(std::string_view key) const { return object_.Find(key) != nullptr; }

const Value* OptionReader::Take(std::string_view key) {
  known_.emplace_back(key);
  const Value* v = object_.Find(key);
  return (v && v->is_null()) ? nullptr : v;
}

const Value* OptionReader::Raw(std::string_view key) { return Take(key); }

std::string OptionReader::String(std::string_view key, const std::string& fallback) {
  const Value* v = Take(key);
  if (!v) return fallback;
  if (!v->is_string())
    throw Error(ErrorKind::kInvalidParameter,
                what_ + " \"" + std::string(key) + "\" must be a string");
  return v->as_string();
}

double OptionReader::Number(std::string_view key, double fallback) {
  const Value* v = Take(key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->as_number()))
    throw Error(ErrorKind::kInvalidParameter,
                what_ + " \"" + std::string(key) + "\" must be a number");
  return v->as_number();
}

double OptionReader::Number(std::string_view key, double fallback, double min, double max) {
  double d = Number(key, fallback);
  if (d < min || d > max) {
    char buf[160];
    std::snprintf(buf, sizeof buf, " \"%.*s\" must be between %g and %g, got %g",
                  static_cast<int>(key.size()), key.data(), min, max, d);
    throw Error(ErrorKind::kInvalidParameter, what_ + buf);
  }
  return d;
}

int64_t OptionReader::Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max) {
  double d = Number(key, static_cast<double>(fallback));
  if (d != std::floor(d))
    throw Error(ErrorKind::kInvalidParameter,
                what_ + " \"" + std::string(key) + "\" must be a whole number");
  if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
    // The value as given (%.17g): casting an out-of-range double such as 1e30 to int64_t is
    // undefined and printed as -9223372036854775808.
    char got[40];
    std::snprintf(got, sizeof got, "%.17g", d);
    throw Error(ErrorKind::kInvalidParameter, what_ + " \"" + std::string(key) +
                                                  "\" must be between " + std::to_string(min) +
                                                  " and " + std::to_string(max) + ", got " + got);
  }
  return static_cast<int64_t>(d);
}

bool OptionReader::Bool(std::string_view key, bool fallback) {
  const Value* v = Take(key);
  if (!v) return fallback;
  if (!v->is_bool())
    throw Error(ErrorKind::kInvalidParameter,
                what_ + " \"" + std::string(key) + "\" must be true or false");
  return v->as_bool();
}

void OptionReader::RejectUnknown() const {
  if (!object_.is_object()) return;
  for (const auto& [key, value] : object_.as_object()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      std::string list;
      for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
      // The key as an excerpt: an option object can carry a key of any length.
      std::string shown = key.substr(0, 60);
      while (!shown.empty() && shown.size() < key.size() &&
             (static_cast<unsigned char>(key[shown.size()]) & 0xC0) == 0x80)
        shown.pop_back();
      if (shown.size() < key.size()) shown += "...";
      throw Error(ErrorKind::kInvalidParameter, "unknown " + what_ + " \"" + shown + "\"",
                  "Known " + what_ + "s: " + list + ".");
    }
  }
}

}  // namespace ltv::json
