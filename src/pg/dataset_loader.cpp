#include "pg/dataset_loader.h"

#include <algorithm>

#include "core/civil_time.h"

namespace ltv::pg {

namespace {

// The columns of ltv.transactions, in the order AddTransaction fills them.
enum TransactionColumn {
  kDatasetId,
  kLineNo,
  kInvoice,
  kStockCode,
  kDescription,
  kQuantity,
  kUnitPrice,
  kAmount,
  kInvoiceTime,
  kCustomerId,
  kCountry,
  kIsReturn
};
const std::vector<const char*> kTransactionColumns = {
    "dataset_id", "line_no", "invoice",      "stock_code",  "description", "quantity",
    "unit_price", "amount",  "invoice_time", "customer_id", "country",     "is_return"};
const std::vector<Oid> kTransactionTypes = {INT8OID,      INT8OID,   TEXTOID,   TEXTOID,
                                            TEXTOID,      FLOAT8OID, FLOAT8OID, FLOAT8OID,
                                            TIMESTAMPOID, TEXTOID,   TEXTOID,   BOOLOID};

// Rejected rows per INSERT: at most this many, holding at most this much text (a rejected row
// keeps up to 64 kB of its raw text, and the batch is copied into the INSERT's arrays).
constexpr size_t kRejectedBatchRows = 5000;
constexpr size_t kRejectedBatchBytes = size_t{1} << 20;

}  // namespace

DatasetLoader::DatasetLoader(const std::string& name, const std::string& source,
                             const std::string& options_json, const DatasetOptions& host) {
  dataset_id_ = *spi_.QueryInt8("SELECT ltv._begin_dataset($1, $2, $3, $4)",
                                {TextArg(name),
                                 TextArg(source),
                                 JsonbArg(options_json),
                                 {BOOLOID, BoolGetDatum(host.replace)}});
  Oid partition = static_cast<Oid>(
      *spi_.QueryInt8("SELECT format('ltv.%I', 'transactions_' || $1)::regclass::oid::int8",
                      {Int8Arg(dataset_id_)}));
  // The partition was just created, without indexes (it gets its index when attached, in
  // one sorted pass) and with a CHECK on dataset_id that AddTransaction honours.
  transactions_.emplace(partition, kTransactionColumns, kTransactionTypes, host.freeze);
}

void DatasetLoader::AddTransaction(const Transaction& t) {
  BulkInserter& out = *transactions_;
  out.SetInt64(kDatasetId, dataset_id_);
  out.SetInt64(kLineNo, t.line_no);
  out.SetText(kInvoice, t.invoice);
  out.SetText(kStockCode, t.stock_code);
  out.SetText(kDescription, t.description);
  out.SetFloat8(kQuantity, t.quantity);
  out.SetFloat8(kUnitPrice, t.unit_price);
  out.SetFloat8(kAmount, t.amount);
  out.SetTimestamp(kInvoiceTime, t.invoice_time);
  out.SetText(kCustomerId, t.customer_id);
  out.SetText(kCountry, t.country);
  out.SetBool(kIsReturn, t.is_return);
  out.EndRow();
}

void DatasetLoader::AddRejected(int64_t line_no, std::string reason, std::string raw) {
  rejected_bytes_ += reason.size() + raw.size();
  rejected_lines_.push_back(line_no);
  rejected_reasons_.push_back(std::move(reason));
  rejected_raw_.push_back(std::move(raw));
  if (rejected_lines_.size() >= kRejectedBatchRows || rejected_bytes_ >= kRejectedBatchBytes)
    FlushRejected();
}

void DatasetLoader::FlushRejected() {
  if (rejected_lines_.empty()) return;
  // The argument arrays live in a context of their own, dropped after the batch.
  MemoryContext batch = PgCall([] {
    return AllocSetContextCreate(CurrentMemoryContext, "retail_ltv rejected rows",
                                 ALLOCSET_DEFAULT_SIZES);
  });
  MemoryContext caller = MemoryContextSwitchTo(batch);
  spi_.Execute(
      "INSERT INTO ltv.rejected_rows (dataset_id, line_no, reason, raw) "
      "SELECT $1, r.* FROM unnest($2::int8[], $3::text[], $4::text[]) r",
      {Int8Arg(dataset_id_), Int8ArrayArg(rejected_lines_), Utf8TextArrayArg(rejected_reasons_),
       Utf8TextArrayArg(rejected_raw_)});
  MemoryContextSwitchTo(caller);
  PgCall([&] { MemoryContextDelete(batch); });
  rejected_lines_.clear();
  rejected_reasons_.clear();
  rejected_raw_.clear();
  rejected_bytes_ = 0;
}

void DatasetLoader::Finish(json::Value report, int64_t customers, TimestampMicros first_purchase,
                           TimestampMicros last_purchase) {
  transactions_->Finish();
  FlushRejected();
  report.Set("customers_loaded", customers);
  if (customers > 0) {
    std::string first, last;
    AppendTimestamp(first, first_purchase);
    AppendTimestamp(last, last_purchase);
    report.Set("first_purchase", first);
    report.Set("last_purchase", last);
  }
  // Make the loaded rows visible to the statements that follow.
  PgCall([] { CommandCounterIncrement(); });
  spi_.Execute("SELECT ltv._finish_dataset($1, $2)",
               {Int8Arg(dataset_id_), JsonbArg(report.Dump())});
}

}  // namespace ltv::pg
