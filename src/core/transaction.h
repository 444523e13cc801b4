// One cleaned transaction line, as the core hands it to the host for storage.
#pragma once

#include <cstdint>
#include <string>

namespace ltv {

// Microseconds since 1970-01-01 00:00:00. Retail exports carry no time zone, so neither
// do we: the value is a wall-clock reading, stored by the host as `timestamp`.
using TimestampMicros = int64_t;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400LL * kMicrosPerSecond;

struct Transaction {
  int64_t line_no = 0;  // 1-based physical line of the record's start in the source (header = 1)
  std::string invoice;
  std::string stock_code;
  std::string description;
  double quantity = 0;
  double unit_price = 0;
  double amount = 0;  // quantity * unit_price unless the source gave an amount column
  TimestampMicros invoice_time = 0;
  std::string customer_id;
  std::string country;
  bool is_return = false;  // a cancellation or return: negative quantity / amount
};

}  // namespace ltv
