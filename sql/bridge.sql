-- The C++/Postgres error boundary (src/pg/guard.h).
\set VERBOSITY default

-- (a) A C++ exception from core code becomes an ordinary SQL error; the session goes on.
SELECT ltv._bridge_selftest('ok');
SELECT ltv._bridge_selftest('cpp_exception');
SELECT ltv._bridge_selftest('ltv_error');
SELECT ltv._bridge_selftest('bad_alloc');
SELECT ltv._bridge_selftest('no_such_mode');
SELECT ltv._bridge_selftest('ok') AS still_working;

-- The error carries a SQLSTATE applications can act on.
DO $$
BEGIN
  PERFORM ltv._bridge_selftest('ltv_error');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE 'caught invalid_parameter_value: %', SQLERRM;
END $$;

-- (b) A Postgres error raised inside a guarded C++ call unwinds the C++ stack (destructors
-- run) and reaches SQL unchanged (same message, same SQLSTATE).
SELECT ltv._bridge_destructor_count() AS before \gset
SELECT ltv._bridge_selftest('pg_error');
SELECT ltv._bridge_destructor_count() - :before AS destructors_run;
DO $$
BEGIN
  PERFORM ltv._bridge_selftest('pg_error');
EXCEPTION WHEN division_by_zero THEN
  RAISE NOTICE 'caught division_by_zero: %', SQLERRM;
END $$;
-- Repeated failures do not leak: each one ran its destructor.
SELECT ltv._bridge_destructor_count() AS before \gset
DO $$
BEGIN
  FOR i IN 1..50 LOOP
    BEGIN
      PERFORM ltv._bridge_selftest('pg_error');
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
  END LOOP;
END $$;
SELECT ltv._bridge_destructor_count() - :before AS destructors_after_50_errors;

-- (c) statement_timeout interrupts a long core loop promptly, with the usual error.
SELECT ltv._bridge_destructor_count() AS before \gset
SET statement_timeout = '300ms';
SELECT ltv._bridge_selftest('long_loop');
RESET statement_timeout;
SELECT ltv._bridge_destructor_count() - :before AS destructors_after_cancel;
SELECT ltv._bridge_selftest('ok') AS still_working_after_cancel;
