// Cleaned transaction lines held compactly (one text arena, fixed-size records): the batches
// the CSV parse hands over for storage allocate a few large blocks instead of five strings
// per row.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/transaction.h"

namespace ltv {

class TransactionBuffer {
 public:
  void Add(const Transaction& t);
  size_t size() const { return rows_.size(); }
  void clear();

  // Calls `visit` for each row in the order added; the Transaction passed is reused.
  void ForEach(const std::function<void(const Transaction&)>& visit) const;

 private:
  struct Text {
    uint64_t offset;
    uint32_t length;
  };
  struct Row {
    int64_t line_no;
    TimestampMicros invoice_time;
    double quantity, unit_price, amount;
    Text invoice, stock_code, description, customer_id, country;
    bool is_return;
  };
  Text Store(std::string_view s);
  std::string_view View(Text t) const { return {arena_.data() + t.offset, t.length}; }

  std::string arena_;
  std::vector<Row> rows_;
};

}  // namespace ltv
