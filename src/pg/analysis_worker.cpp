// The background worker behind ltv.start_analysis. A dynamic background worker (no
// shared_preload_libraries needed) runs the stages of one analysis run, each in its own
// transaction, so ltv.runs shows the stage and progress while it works.
//
// Life of a worker:
//  1. ltv.start_analysis inserts the run (status queued) and calls ltv._start_worker, which
//     registers this worker with the run id, the database, the roles and the starting
//     transaction's id, and waits until it has started (to record its pid).
//     The worker connects as the starting session's login role (PostgreSQL 15 lets only a
//     LOGIN role connect, and the API roles are NOLOGIN) and then acts as the role that
//     requested the run, as SET ROLE does: every stage runs with that role's privileges and
//     row-level security, never with the extension owner's (docs/security.md).
//  2. The worker waits until the run row is visible (the starting transaction committed).
//     If that transaction aborted instead, the row never appears and the worker exits.
//  3. For each stage: one transaction marks the stage as started (ltv._begin_stage, which
//     also notices a cancel request), another does the stage's work (ltv._run_stage).
//  4. ltv._finish_run marks success. Any error is caught here: the transaction is rolled
//     back and ltv._fail_run records the reason (or "cancelled") and deletes partial rows.
//  A worker killed outright leaves the run "running" with a dead pid; ltv.runs reports such
//  runs as failed and ltv._reap_runs stores that.
//
// This file is plain Postgres C API code: no C++ object with a destructor is alive on any
// path that can ereport, so it needs no guard.
#include "pg/pg_includes.h"

extern "C" {
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
}

#include <cstring>

extern "C" {
PG_FUNCTION_INFO_V1(ltv_start_worker);
PG_FUNCTION_INFO_V1(ltv_worker_alive);
PGDLLEXPORT void ltv_analysis_worker_main(Datum main_arg);
}

namespace {

constexpr const char* kWorkerType = "retail_ltv analysis";  // pg_stat_activity.backend_type

// What the starting backend hands to the worker (in bgw_extra).
struct WorkerArgs {
  Oid database;
  Oid session_role;  // connects as this LOGIN role
  Oid role;          // and acts as this one
  TransactionId starter_xid;
};
static_assert(sizeof(WorkerArgs) <= BGW_EXTRALEN, "worker arguments must fit in bgw_extra");

// Runs one SQL statement with the run id (and optional text arguments) in its own
// transaction. Returns the first column of the first row as a palloc'd string in
// `result_context` (NULL for no row or a NULL value).
char* RunInTransaction(const char* sql, int64 run_id, const char* arg1, const char* arg2,
                       MemoryContext result_context) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, sql);

  Oid types[3] = {INT8OID, TEXTOID, TEXTOID};
  Datum values[3] = {Int64GetDatum(run_id), 0, 0};
  char nulls[3] = {' ', 'n', 'n'};
  if (arg1) {
    values[1] = CStringGetTextDatum(arg1);
    nulls[1] = ' ';
  }
  if (arg2) {
    values[2] = CStringGetTextDatum(arg2);
    nulls[2] = ' ';
  }
  int nargs = arg2 ? 3 : arg1 ? 2 : 1;
  if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1) < 0)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not run \"%s\"", sql)));
  char* result = nullptr;
  if (SPI_processed > 0) {
    char* value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    if (value) result = MemoryContextStrdup(result_context, value);
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_stat(false);
  pgstat_report_activity(STATE_IDLE, nullptr);
  return result;
}

// Waits until the run row is visible and claims it. False when the starting transaction
// aborted (the row will never appear) or the run is no longer queued.
bool ClaimRun(int64 run_id, TransactionId starter_xid) {
  for (;;) {
    char* state =
        RunInTransaction("SELECT ltv._claim_run($1)", run_id, nullptr, nullptr, TopMemoryContext);
    if (state && strcmp(state, "claimed") == 0) return true;
    if (state && strcmp(state, "missing") != 0) return false;  // cancelled or finished
    if (!TransactionIdIsInProgress(starter_xid)) {
      // The starter finished: one more look, as it may have committed just now.
      state =
          RunInTransaction("SELECT ltv._claim_run($1)", run_id, nullptr, nullptr, TopMemoryContext);
      return state && strcmp(state, "claimed") == 0;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 20L,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
}

}  // namespace

// ltv._start_worker(run_id bigint) RETURNS integer: the worker's pid.
extern "C" Datum ltv_start_worker(PG_FUNCTION_ARGS) {
  int64 run_id = PG_GETARG_INT64(0);
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  snprintf(worker.bgw_name, BGW_MAXLEN, "retail_ltv analysis run " INT64_FORMAT, run_id);
  snprintf(worker.bgw_type, BGW_MAXLEN, "%s", kWorkerType);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "retail_ltv");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "ltv_analysis_worker_main");
  worker.bgw_main_arg = Int64GetDatum(run_id);
  worker.bgw_notify_pid = MyProcPid;
  WorkerArgs args{MyDatabaseId, GetSessionUserId(), GetUserId(), GetTopTransactionId()};
  memcpy(worker.bgw_extra, &args, sizeof args);

  BackgroundWorkerHandle* handle = nullptr;
  if (!RegisterDynamicBackgroundWorker(&worker, &handle))
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("could not start an analysis worker: all background worker slots "
                           "are in use"),
                    errhint("Wait for running analyses to finish, raise max_worker_processes, "
                            "or use ltv.run_analysis to run in this session.")));
  pid_t pid = 0;
  BgwHandleStatus status = WaitForBackgroundWorkerStartup(handle, &pid);
  if (status != BGWH_STARTED)
    ereport(ERROR,
            (errcode(ERRCODE_INSUFFICIENT_RESOURCES), errmsg("could not start an analysis worker"),
             errhint("More details may be in the server log.")));
  PG_RETURN_INT32(static_cast<int32>(pid));
}

// ltv._worker_alive(pid integer) RETURNS boolean: whether pid is a registered analysis worker.
// Asks the postmaster's worker slots rather than pg_stat_activity, which lists a worker only
// once it has connected to its database: a worker still starting up is alive too. The slots
// are cleared when a worker exits and on every server restart.
extern "C" Datum ltv_worker_alive(PG_FUNCTION_ARGS) {
  const char* type = GetBackgroundWorkerTypeByPid(static_cast<pid_t>(PG_GETARG_INT32(0)));
  PG_RETURN_BOOL(type != nullptr && strcmp(type, kWorkerType) == 0);
}

extern "C" void ltv_analysis_worker_main(Datum main_arg) {
  const int64 run_id = DatumGetInt64(main_arg);
  WorkerArgs args;
  memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof args);

  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnectionByOid(args.database, args.session_role, 0);
  if (args.role != args.session_role) {
    // The starting backend ran as args.role inside this session, so the switch grants
    // nothing that session did not have.
    StartTransactionCommand();
    SetCurrentRoleId(args.role, superuser_arg(args.role));
    CommitTransactionCommand();
  }
  pgstat_report_appname(MyBgworkerEntry->bgw_name);

  if (!ClaimRun(run_id, args.starter_xid)) proc_exit(0);

  // Stage names, copied out of the claim's transaction.
  char* stage_list = RunInTransaction(
      "SELECT string_agg(stage, ',' ORDER BY starts_at) FROM ltv._analysis_stages()", run_id,
      nullptr, nullptr, TopMemoryContext);

  MemoryContext worker_context = CurrentMemoryContext;
  ErrorData* volatile failure = nullptr;
  PG_TRY();
  {
    char* saveptr = nullptr;
    for (char* stage = strtok_r(stage_list, ",", &saveptr); stage;
         stage = strtok_r(nullptr, ",", &saveptr)) {
      RunInTransaction("SELECT ltv._begin_stage($1, $2)", run_id, stage, nullptr, TopMemoryContext);
      RunInTransaction("SELECT ltv._run_stage($1, $2)", run_id, stage, nullptr, TopMemoryContext);
    }
    RunInTransaction("SELECT ltv._finish_run($1)", run_id, nullptr, nullptr, TopMemoryContext);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(TopMemoryContext);
    failure = CopyErrorData();
    FlushErrorState();
    AbortCurrentTransaction();
    MemoryContextSwitchTo(worker_context);
  }
  PG_END_TRY();

  if (failure) {
    char sqlstate[6];
    memcpy(sqlstate, unpack_sql_state(failure->sqlerrcode), sizeof sqlstate);
    RunInTransaction("SELECT ltv._fail_run($1, $2, $3)", run_id,
                     failure->message ? failure->message : "unknown error", sqlstate,
                     TopMemoryContext);
  }
  proc_exit(0);
}
