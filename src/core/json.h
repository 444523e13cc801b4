// A small JSON value, parser and writer for option objects (`options jsonb`, `params jsonb`)
// and for reports the core returns (cleaning report, model info, metrics).
// The Postgres layer passes jsonb to the core as text and gets text back; jsonb does the rest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ltv::json {

enum class NumberStyle { kShortest, kSeventeenDigits };

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // keeps key order

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : type_(Type::kBool), bool_(b) {}
  Value(double d) : type_(Type::kNumber), number_(d) {}
  Value(int i) : type_(Type::kNumber), number_(i) {}
  Value(int64_t i) : type_(Type::kNumber), number_(static_cast<double>(i)) {}
  Value(const char* s) : type_(Type::kString), string_(s) {}
  Value(std::string s) : type_(Type::kString), string_(std::move(s)) {}
  Value(Array a) : type_(Type::kArray), array_(std::move(a)) {}
  Value(Object o) : type_(Type::kObject), object_(std::move(o)) {}

  static Value MakeObject() { return Value(Object{}); }
  static Value MakeArray() { return Value(Array{}); }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  const std::string& as_string() const { return string_; }
  const Array& as_array() const { return array_; }
  Array& as_array() { return array_; }
  const Object& as_object() const { return object_; }
  Object& as_object() { return object_; }

  // Object access: nullptr when absent (or when this is not an object).
  const Value* Find(std::string_view key) const;
  // Object insert-or-replace; returns *this for chaining.
  Value& Set(std::string key, Value value);
  // Array append.
  Value& Push(Value value);

  // Compact JSON text; non-finite numbers are written as null. Numbers that are not whole are
  // written in the shortest form that reads back as the same double (0.3), or with all 17
  // significant digits (kSeventeenDigits: the model format, whose bytes must not change).
  std::string Dump(NumberStyle style = NumberStyle::kShortest) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  Array array_;
  Object object_;
};

// Parses JSON text. Throws ltv::Error(kInvalidParameter) naming the offset on bad input.
// Nesting deeper than 64 levels is rejected (options never need more).
Value Parse(std::string_view text);

// Reads typed options from an object and rejects unknown keys, so that a typo in an option
// name is an error that names the key instead of a silently ignored setting.
class OptionReader {
 public:
  // `what` names the option object in messages, e.g. "import option" or "forest parameter".
  OptionReader(const Value& object, std::string what);

  bool Has(std::string_view key) const;
  std::string String(std::string_view key, const std::string& fallback);
  double Number(std::string_view key, double fallback);
  double Number(std::string_view key, double fallback, double min, double max);
  int64_t Integer(std::string_view key, int64_t fallback, int64_t min, int64_t max);
  bool Bool(std::string_view key, bool fallback);
  // The raw value (marks the key as known); nullptr when absent.
  const Value* Raw(std::string_view key);
  // Throws naming the first key that no accessor asked for.
  void RejectUnknown() const;

 private:
  const Value* Take(std::string_view key);
  const Value& object_;
  std::string what_;
  std::vector<std::string> known_;
};

}  // namespace ltv::json
