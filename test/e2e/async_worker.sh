#!/usr/bin/env bash
# The background worker of ltv.start_analysis: progress through the stages, two datasets at
# once, cancel, a killed worker (SIGTERM and SIGKILL), and a server restart, after which no
# run may be left "running".
# Needs a running server (PG* variables, superuser) with the extension installed. The
# SIGKILL and restart parts need LTV_PGDATA (the cluster's data directory, which this
# machine's pg_ctl can restart); without it they are skipped with a message.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/pg-cluster.sh
DB=ltv_e2e_async
q() { psql -X -Atq -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }
fail() { echo "FAIL: $*"; exit 1; }
wait_for() {  # wait_for RUN_ID STATUS... : until the run's status is one of them (60 s)
  local run=$1; shift
  for _ in $(seq 600); do
    local s; s=$(q "SELECT status FROM ltv.runs WHERE run_id = $run")
    for want in "$@"; do [[ "$s" == "$want" ]] && return 0; done
    sleep 0.1
  done
  fail "run $run did not reach $* (status $(q "SELECT status FROM ltv.runs WHERE run_id = $run"))"
}
wait_server() {
  for _ in $(seq 300); do psql -X -Atq -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0; sleep 0.2; done
  fail "the server did not come back"
}
rows_of() { q "SELECT (SELECT count(*) FROM ltv.customer_features WHERE run_id = $1) + (SELECT count(*) FROM ltv.models WHERE run_id = $1) + (SELECT count(*) FROM ltv.predictions WHERE run_id = $1)"; }

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
# Test clusters run with synchronous_commit off; a crash (SIGKILL below) may then lose the
# last commits. Runs are committed durably here so the check sees them after recovery.
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER DATABASE $DB SET synchronous_commit = on"
q "CREATE EXTENSION retail_ltv"
A=$(q "SELECT ltv.generate_dataset('a', 3000, 1)")
B=$(q "SELECT ltv.generate_dataset('b', 3000, 2)")
SLOW='{"forest": {"n_trees": 5000}}'

echo "--- progress moves through the stages"
run=$(q "SELECT ltv.start_analysis($A)")
seen=()
last_progress=0
for _ in $(seq 1200); do
  IFS='|' read -r status stage progress < <(q "SELECT status, coalesce(stage, ''), progress FROM ltv.runs WHERE run_id = $run")
  [[ -n "$stage" && ! " ${seen[*]} " =~ " $stage " ]] && seen+=("$stage")
  awk -v a="$progress" -v b="$last_progress" 'BEGIN { exit !(a + 1e-9 >= b) }' || fail "progress went back from $last_progress to $progress"
  last_progress=$progress
  [[ "$status" == succeeded ]] && break
  [[ "$status" == queued || "$status" == running ]] || fail "run $run ended $status: $(q "SELECT error FROM ltv.runs WHERE run_id = $run")"
  sleep 0.05
done
[[ "$status" == succeeded ]] || fail "run $run did not finish"
echo "stages seen while polling: ${seen[*]}"
((${#seen[@]} >= 3)) || fail "saw only ${#seen[@]} stages"
[[ $(q "SELECT count(*) FROM ltv.predictions WHERE run_id = $run") -gt 0 ]] || fail "no predictions"

echo "--- two datasets at once"
r1=$(q "SELECT ltv.start_analysis($A)")
r2=$(q "SELECT ltv.start_analysis($B)")
[[ $(q "SELECT count(*) FROM ltv.runs WHERE run_id IN ($r1, $r2) AND status IN ('queued', 'running')") == 2 ]] || fail "both runs should be in progress"
q "SELECT ltv.start_analysis($A)" 2>/dev/null && fail "a second analysis of dataset $A was accepted"
wait_for "$r1" succeeded; wait_for "$r2" succeeded
echo "runs $r1 and $r2 both succeeded"

echo "--- cancel"
run=$(q "SELECT ltv.start_analysis($A, '$SLOW')")
for _ in $(seq 600); do [[ $(q "SELECT stage FROM ltv.runs WHERE run_id = $run") == training ]] && break; sleep 0.1; done
q "SELECT ltv.cancel_analysis($run)" | grep -q cancelling || fail "cancel_analysis did not report cancelling"
wait_for "$run" cancelled
[[ $(rows_of "$run") == 0 ]] || fail "a cancelled run left rows"
echo "run $run cancelled during training; nothing left behind"

echo "--- worker killed with SIGTERM: the first call that notices, about any dataset, reaps"
# Each case kills a worker of dataset A once it has stored rows, waits for the process to go
# (asking the postmaster, which reaps nothing), then makes one call about dataset B only and
# checks, in the tables themselves, that A's run is failed and its rows are gone.
kill_worker_of_a() {  # sets $run
  local pid
  run=$(q "SELECT ltv.start_analysis($A, '$SLOW')")
  wait_for "$run" running
  for _ in $(seq 600); do [[ $(rows_of "$run") -gt 0 ]] && break; sleep 0.1; done
  [[ $(rows_of "$run") -gt 0 ]] || fail "run $run stored no rows before training"
  pid=$(q "SELECT worker_pid FROM ltv.analysis_runs WHERE run_id = $run")
  kill -TERM "$pid"
  for _ in $(seq 600); do [[ $(q "SELECT ltv._worker_alive($pid)") == f ]] && break; sleep 0.1; done
  [[ $(q "SELECT status FROM ltv.analysis_runs WHERE run_id = $run") == running ]] || fail "run $run was reaped before any call noticed"
}
for call in "SELECT count(*) FROM ltv.runs WHERE dataset_id = $B" \
            "SELECT ltv_api.datasets()" \
            "SELECT ltv_api.analysis_status($B)"; do
  kill_worker_of_a
  before=$(rows_of "$run")
  q "$call" >/dev/null
  [[ $(q "SELECT status FROM ltv.analysis_runs WHERE run_id = $run") == failed ]] || fail "after '$call' run $run is not stored as failed"
  [[ $(rows_of "$run") == 0 ]] || fail "after '$call' the killed run $run still has $(rows_of "$run") rows"
  echo "killed run $run: its $before rows are gone after: $call"
done
# A read-only transaction (or a standby) sees the death but cannot reap; reading still works.
kill_worker_of_a
got=$(psql -X -Atq -v ON_ERROR_STOP=1 -d "$DB" -c "BEGIN TRANSACTION READ ONLY" \
  -c "SELECT status FROM ltv.runs WHERE run_id = $run" -c "COMMIT")
[[ "$got" == failed ]] || fail "a read-only reader saw '$got'"
[[ $(rows_of "$run") -gt 0 ]] || fail "a read-only transaction deleted rows"
q "SELECT ltv.start_analysis($B, '{\"forest\": {\"n_trees\": 5}}')" >/dev/null
[[ $(rows_of "$run") == 0 ]] || fail "starting an analysis of another dataset did not reap run $run"
echo "read-only readers see run $run failed; the next analysis of another dataset reaps it"
q "SELECT error FROM ltv.runs WHERE run_id = $run"
for _ in $(seq 600); do [[ $(q "SELECT count(*) FROM ltv.runs WHERE dataset_id = $B AND status IN ('queued', 'running')") == 0 ]] && break; sleep 0.1; done

if [[ -z "${LTV_PGDATA:-}" ]]; then
  echo "SKIP: SIGKILL and restart checks need LTV_PGDATA"
else
  echo "--- worker killed with SIGKILL (the server restarts every backend)"
  run=$(q "SELECT ltv.start_analysis($A, '$SLOW')")
  wait_for "$run" running
  pid=$(q "SELECT worker_pid FROM ltv.runs WHERE run_id = $run")
  kill -KILL "$pid"
  sleep 1
  wait_server
  wait_for "$run" failed
  echo "run $run: $(q "SELECT status || ': ' || error FROM ltv.runs WHERE run_id = $run")"

  echo "--- server restart during a run"
  run=$(q "SELECT ltv.start_analysis($B, '$SLOW')")
  wait_for "$run" running
  ltv_as_server_user "$PG_BIN/pg_ctl" -D "$LTV_PGDATA" -m fast -w restart -l "$LTV_PGDATA/server.log" >/dev/null
  wait_server
  [[ $(q "SELECT count(*) FROM ltv.runs WHERE status IN ('queued', 'running')") == 0 ]] || fail "a run is still shown running after the restart"
  wait_for "$run" failed
  echo "after the restart: run $run is $(q "SELECT status FROM ltv.runs WHERE run_id = $run")"
  q "SELECT ltv._reap_runs()" >/dev/null
  [[ $(q "SELECT count(*) FROM ltv.analysis_runs WHERE status IN ('queued', 'running')") == 0 ]] || fail "stored runs still running"
  [[ $(rows_of "$run") == 0 ]] || fail "the interrupted run left rows"
  r=$(q "SELECT ltv.start_analysis($B)")
  wait_for "$r" succeeded
  echo "a new analysis of the same dataset succeeds afterwards (run $r)"
fi
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"
echo "async worker checks OK"
