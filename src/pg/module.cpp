// Module entry: PG_MODULE_MAGIC and the extension's settings (GUCs).
#include "pg/settings.h"

extern "C" {
#include "utils/guc.h"
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace ltv::pg {
int max_import_megabytes = 1024;
int max_import_rows = 0;
int max_training_rows = 5000000;
int model_cache_entries = 16;
}  // namespace ltv::pg

extern "C" void _PG_init(void) {
  using namespace ltv::pg;
  DefineCustomIntVariable(
      "ltv.max_import_megabytes", "Largest CSV input accepted by ltv.import_csv, in megabytes.",
      nullptr, &max_import_megabytes, 1024, 1, 16384, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ltv.max_import_rows", "Most data rows accepted by one import (0 = no limit).", nullptr,
      &max_import_rows, 0, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ltv.max_training_rows", "Most rows ltv.rf_train collects before failing with a clear error.",
      nullptr, &max_training_rows, 5000000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "ltv.model_cache_entries", "Decoded models kept per backend for ltv.rf_predict.", nullptr,
      &model_cache_entries, 16, 0, 1024, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineQuotaSettings();
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("ltv");
#else
  EmitWarningsOnPlaceholders("ltv");
#endif
}
