#include "pg/dataset_loader.h"

#include "core/copy_text.h"

namespace ltv::pg {

namespace {
const std::vector<const char*> kTransactionColumns = {
    "dataset_id", "line_no", "invoice",      "stock_code",  "description", "quantity",
    "unit_price", "amount",  "invoice_time", "customer_id", "country",     "is_return"};
const std::vector<const char*> kRejectedColumns = {"dataset_id", "line_no", "reason", "raw"};
}  // namespace

DatasetOptions TakeHostOptions(json::Value& options) {
  DatasetOptions host;
  if (!options.is_object()) {
    if (options.is_null()) {
      options = json::Value::MakeObject();
      return host;
    }
    throw Error(ErrorKind::kInvalidParameter, "options must be a JSON object");
  }
  auto& fields = options.as_object();
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it->first == "replace") {
      if (!it->second.is_bool())
        throw Error(ErrorKind::kInvalidParameter, "option \"replace\" must be true or false");
      host.replace = it->second.as_bool();
      fields.erase(it);
      break;
    }
  }
  return host;
}

DatasetLoader::DatasetLoader(const std::string& name, const std::string& source,
                             const std::string& options_json, bool replace) {
  dataset_id_ = *spi_.QueryInt8(
      "SELECT ltv._begin_dataset($1, $2, $3, $4)",
      {TextArg(name), TextArg(source), JsonbArg(options_json), {BOOLOID, BoolGetDatum(replace)}});
  partition_ = static_cast<Oid>(
      *spi_.QueryInt8("SELECT format('ltv.%I', 'transactions_' || $1)::regclass::oid::int8",
                      {Int8Arg(dataset_id_)}));
  rejected_table_ =
      static_cast<Oid>(*spi_.QueryInt8("SELECT 'ltv.rejected_rows'::regclass::oid::int8"));
}

uint64_t DatasetLoader::LoadTransactions(std::string_view copy_text) {
  return CopyIntoTable(partition_, kTransactionColumns, copy_text);
}

uint64_t DatasetLoader::LoadTransactions(const CopyChunkProducer& producer) {
  return CopyIntoTable(partition_, kTransactionColumns, producer);
}

uint64_t DatasetLoader::LoadRejected(std::string_view copy_text) {
  if (copy_text.empty()) return 0;
  return CopyIntoTable(rejected_table_, kRejectedColumns, copy_text);
}

void DatasetLoader::Finish(json::Value report, int64_t customers, TimestampMicros first_purchase,
                           TimestampMicros last_purchase) {
  report.Set("customers_loaded", customers);
  if (customers > 0) {
    std::string first, last;
    AppendCopyTimestamp(first, first_purchase);
    AppendCopyTimestamp(last, last_purchase);
    report.Set("first_purchase", first);
    report.Set("last_purchase", last);
  }
  // Make the loaded rows visible to the statements that follow.
  PgCall([] { CommandCounterIncrement(); });
  spi_.Execute("SELECT ltv._finish_dataset($1, $2)",
               {Int8Arg(dataset_id_), JsonbArg(report.Dump())});
}

}  // namespace ltv::pg
