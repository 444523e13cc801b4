#include "core/transaction_buffer.h"

namespace ltv {

TransactionBuffer::Text TransactionBuffer::Store(std::string_view s) {
  Text t{arena_.size(), static_cast<uint32_t>(s.size())};
  arena_.append(s);
  return t;
}

void TransactionBuffer::Add(const Transaction& t) {
  Row row;
  row.line_no = t.line_no;
  row.invoice_time = t.invoice_time;
  row.quantity = t.quantity;
  row.unit_price = t.unit_price;
  row.amount = t.amount;
  row.invoice = Store(t.invoice);
  row.stock_code = Store(t.stock_code);
  row.description = Store(t.description);
  row.customer_id = Store(t.customer_id);
  row.country = Store(t.country);
  row.is_return = t.is_return;
  rows_.push_back(row);
}

void TransactionBuffer::clear() {
  arena_.clear();
  rows_.clear();
}

void TransactionBuffer::ForEach(const std::function<void(const Transaction&)>& visit) const {
  Transaction t;
  for (const Row& row : rows_) {
    t.line_no = row.line_no;
    t.invoice_time = row.invoice_time;
    t.quantity = row.quantity;
    t.unit_price = row.unit_price;
    t.amount = row.amount;
    t.invoice.assign(View(row.invoice));
    t.stock_code.assign(View(row.stock_code));
    t.description.assign(View(row.description));
    t.customer_id.assign(View(row.customer_id));
    t.country.assign(View(row.country));
    t.is_return = row.is_return;
    visit(t);
  }
}

}  // namespace ltv
