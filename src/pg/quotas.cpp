// Quotas on the work a role other than the extension's admin may start, as settings that
// only a superuser may change (PGC_SUSET): per database, per role (ALTER ROLE ... SET) or in
// postgresql.conf, never by the user it limits. ltv._check_quotas (src/sql/55_security.sql)
// applies them; docs/security.md lists them.
#include "pg/settings.h"

extern "C" {
#include "utils/builtins.h"
#include "utils/guc.h"
PG_FUNCTION_INFO_V1(ltv_quota);
}

#include <climits>
#include <cstring>

namespace {

struct Quota {
  const char* name;  // without the "ltv." prefix
  const char* description;
  int value;
  int boot;
  int min;
  int max;
};

// The one list of quotas: name, meaning, default and range.
Quota quotas[] = {
    {"api_max_trees", "Most trees in a forest that a non-admin role may train.", 500, 500, 1,
     INT_MAX},
    {"api_max_threads", "Most training threads a non-admin role may ask for.", 4, 4, 1, 1024},
    {"api_max_folds", "Most out-of-time folds (backtest_folds) a non-admin role may ask for.", 3, 3,
     1, 12},
    {"api_max_snapshots", "Most stacked training snapshots (stack_snapshots) for a non-admin role.",
     12, 12, 0, 24},
    {"api_max_active_runs", "Most queued or running analyses per non-admin role.", 2, 2, 0,
     INT_MAX},
    {"api_max_upload_megabytes", "Largest CSV a non-admin role may upload, in megabytes.", 100, 100,
     1, 16384},
};

}  // namespace

namespace ltv::pg {

void DefineQuotaSettings() {
  for (Quota& q : quotas) {
    char* name = psprintf("ltv.%s", q.name);  // copied by DefineCustomIntVariable
    DefineCustomIntVariable(name, q.description, nullptr, &q.value, q.boot, q.min, q.max, PGC_SUSET,
                            0, nullptr, nullptr, nullptr);
  }
}

}  // namespace ltv::pg

// ltv._quota(name text) RETURNS integer: the quota's value in force (the setting, read from
// the loaded module so that it is the real one, never a placeholder a user set before the
// module was loaded).
extern "C" Datum ltv_quota(PG_FUNCTION_ARGS) {
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  for (const Quota& q : quotas)
    if (strcmp(q.name, name) == 0) PG_RETURN_INT32(q.value);
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("unknown quota \"%s\"", name)));
  PG_RETURN_NULL();
}
