// Values of the extension's GUCs (defined in module.cpp).
#pragma once

#include "pg/pg_includes.h"

namespace ltv::pg {
extern int max_import_megabytes;
extern int max_import_rows;
extern int max_training_rows;
extern int model_cache_entries;
// Quotas on the work a role that is not the extension's admin may start (docs/security.md).
void DefineQuotaSettings();
}  // namespace ltv::pg
