-- Who may do what (docs/security.md): the roles, their privileges, row-level security on the
-- tables, the few functions that still run as the extension owner, and the quotas.
--
-- Roles are cluster-wide, the extension is per database: the roles are created only when
-- missing (a second database's CREATE EXTENSION finds them), and DROP EXTENSION leaves them
-- (other databases may use them; DROP ROLE them by hand once no database has the extension).
--   ltv_viewer   reads: datasets, status, segments, cohorts, customers, model summary
--   ltv_analyst  a viewer that also uploads, runs, cancels and deletes its own datasets/runs
--   ltv_reader   BI tools (Metabase): SELECT on the ltv views and nothing else
--   ltv_web      the API's anonymous role (no token): a viewer
-- The extension owner (and superusers) is the admin: it owns the tables, so row-level
-- security and the quotas do not apply to it.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['ltv_viewer', 'ltv_analyst', 'ltv_reader', 'ltv_web'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF NOT pg_catalog.pg_has_role('ltv_analyst', 'ltv_viewer', 'MEMBER') THEN
    GRANT ltv_viewer TO ltv_analyst;
  END IF;
  IF NOT pg_catalog.pg_has_role('ltv_web', 'ltv_viewer', 'MEMBER') THEN
    GRANT ltv_viewer TO ltv_web;
  END IF;
END
$$;

-- Whether the current role is the extension's admin: a superuser or a member of the role
-- that owns the extension (it owns every table, so row-level security does not apply to it).
CREATE FUNCTION ltv.is_admin()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT pg_has_role(current_user, e.extowner, 'USAGE')
  FROM pg_extension e WHERE e.extname = 'retail_ltv'
$$;
COMMENT ON FUNCTION ltv.is_admin() IS
  'Whether the current role is the extension''s admin (the extension owner, a member of it, or a superuser): quotas and row-level security do not apply to it';

-------------------------------------------------------------------------------------------
-- Row-level security. Reading is team-wide (every viewer sees every dataset and run);
-- writing is the owner's: datasets.owner, analysis_runs.requested_by, and for the rows a run
-- or an import writes, the owner of that run or dataset. The same policies hold in psql,
-- Metabase and the API, because the API functions run as the caller.
-------------------------------------------------------------------------------------------
ALTER TABLE ltv.datasets ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON ltv.datasets FOR SELECT TO ltv_viewer USING (true);
CREATE POLICY own ON ltv.datasets FOR ALL TO ltv_analyst
  USING (owner = current_user) WITH CHECK (owner = current_user);

ALTER TABLE ltv.analysis_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON ltv.analysis_runs FOR SELECT TO ltv_viewer USING (true);
CREATE POLICY own ON ltv.analysis_runs FOR ALL TO ltv_analyst
  USING (requested_by = current_user) WITH CHECK (requested_by = current_user);

ALTER TABLE ltv.transactions ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON ltv.transactions FOR SELECT TO ltv_viewer USING (true);

ALTER TABLE ltv.rejected_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON ltv.rejected_rows FOR SELECT TO ltv_viewer USING (true);
CREATE POLICY own ON ltv.rejected_rows FOR ALL TO ltv_analyst
  USING (dataset_id IN (SELECT d.dataset_id FROM ltv.datasets d WHERE d.owner = current_user))
  WITH CHECK (dataset_id IN (SELECT d.dataset_id FROM ltv.datasets d WHERE d.owner = current_user));

-- Rows of a run belong to the run's owner; rows without a run (ltv.materialize_features
-- called directly) to the dataset's owner. The subqueries run once per statement (hashed).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['customer_features', 'models', 'predictions'] LOOP
    EXECUTE format('ALTER TABLE ltv.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY read ON ltv.%I FOR SELECT TO ltv_viewer USING (true)', t);
    EXECUTE format($p$
      CREATE POLICY own ON ltv.%1$I FOR ALL TO ltv_analyst
        USING (run_id IN (SELECT r.run_id FROM ltv.analysis_runs r WHERE r.requested_by = current_user)
               OR (run_id IS NULL AND dataset_id IN (SELECT d.dataset_id FROM ltv.datasets d WHERE d.owner = current_user)))
        WITH CHECK (run_id IN (SELECT r.run_id FROM ltv.analysis_runs r WHERE r.requested_by = current_user)
               OR (run_id IS NULL AND dataset_id IN (SELECT d.dataset_id FROM ltv.datasets d WHERE d.owner = current_user)))$p$, t);
  END LOOP;
END
$$;

-- A run's stored reasons (ltv.store_reasons) belong to the run's owner.
ALTER TABLE ltv.customer_reasons ENABLE ROW LEVEL SECURITY;
CREATE POLICY read ON ltv.customer_reasons FOR SELECT TO ltv_viewer USING (true);
CREATE POLICY own ON ltv.customer_reasons FOR ALL TO ltv_analyst
  USING (run_id IN (SELECT r.run_id FROM ltv.analysis_runs r WHERE r.requested_by = current_user))
  WITH CHECK (run_id IN (SELECT r.run_id FROM ltv.analysis_runs r WHERE r.requested_by = current_user));

-------------------------------------------------------------------------------------------
-- Functions that run as the extension owner (SECURITY DEFINER), each because it does
-- something only a table's owner may do, on rows the caller was already allowed to touch:
-------------------------------------------------------------------------------------------

-- A new dataset's transactions partition. Creating a table in schema ltv is the owner's;
-- the dataset row was just inserted by the caller under row-level security (owner = the
-- caller), and a dataset is in status 'loading' only inside the transaction importing it
-- (an import is one transaction), so no other role's dataset can be named here. The owner
-- gets INSERT on the partition for the load; every viewer reads it (as the parent's policy
-- says) because the analysis reads a dataset's partition directly.
CREATE FUNCTION ltv._create_partition(p_dataset_id bigint, p_owner name)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ltv.datasets d
                  WHERE d.dataset_id = p_dataset_id AND d.owner = p_owner AND d.status = 'loading') THEN
    RAISE EXCEPTION 'dataset % is not being imported by role "%"', p_dataset_id, p_owner USING ERRCODE = '42501';
  END IF;
  EXECUTE format('CREATE TABLE ltv.%I (LIKE ltv.transactions INCLUDING DEFAULTS, CHECK (dataset_id = %s))',
                 'transactions_' || p_dataset_id, p_dataset_id);
  EXECUTE format('GRANT INSERT ON ltv.%I TO %I', 'transactions_' || p_dataset_id, p_owner);
  EXECUTE format('GRANT SELECT ON ltv.%I TO ltv_viewer', 'transactions_' || p_dataset_id);
END
$$;

-- Drops the partition of a dataset whose row is gone: the caller deleted it under row-level
-- security (ltv.delete_dataset), or it never existed. A visible dataset is never touched.
CREATE FUNCTION ltv._drop_partition(p_dataset_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ltv.datasets d WHERE d.dataset_id = p_dataset_id) THEN
    RAISE EXCEPTION 'dataset % still exists', p_dataset_id USING ERRCODE = '42501';
  END IF;
  IF to_regclass(format('ltv.%I', 'transactions_' || p_dataset_id)) IS NOT NULL THEN
    EXECUTE format('DROP TABLE ltv.%I', 'transactions_' || p_dataset_id);
  END IF;
END
$$;

-- ANALYZE is the owner's; statistics change no data.
CREATE FUNCTION ltv._analyze_partition(p_dataset_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF to_regclass(format('ltv.%I', 'transactions_' || p_dataset_id)) IS NOT NULL THEN
    EXECUTE format('ANALYZE ltv.%I (customer_id, invoice_time)', 'transactions_' || p_dataset_id);
  END IF;
END
$$;

-- Stops the worker of a running run whose cancel the caller has just requested under
-- row-level security (cancel_requested is set; a queued run stops when its worker claims it). The worker connects as a login role that may not be
-- the caller, and pg_cancel_backend lets a role signal only its own sessions.
CREATE FUNCTION ltv._signal_worker(p_run_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_pid integer;
BEGIN
  SELECT r.worker_pid INTO v_pid FROM ltv.analysis_runs r
   WHERE r.run_id = p_run_id AND r.cancel_requested AND r.status = 'running';
  IF v_pid IS NOT NULL AND v_pid <> pg_backend_pid() THEN
    PERFORM pg_cancel_backend(v_pid);
  END IF;
END
$$;

-- Finishing an import attaches the partition and sets its statistics (the owner's), for
-- the dataset the caller just loaded (ATTACH fails for a partition attached before, so a
-- finished dataset cannot be changed through it).
ALTER FUNCTION ltv._finish_dataset(bigint, jsonb) SECURITY DEFINER;
-- Deleting a dataset or run removes its feature and prediction rows: those of the rows the
-- caller deleted under row-level security (the trigger's transition table).
ALTER FUNCTION ltv._cascade_delete() SECURITY DEFINER;
-- A dead worker's run is failed whoever started it, by whichever caller notices.
ALTER FUNCTION ltv._reap_runs(bigint) SECURITY DEFINER;

REVOKE ALL ON FUNCTION ltv._create_partition(bigint, name), ltv._drop_partition(bigint),
  ltv._analyze_partition(bigint), ltv._signal_worker(bigint), ltv._finish_dataset(bigint, jsonb),
  ltv._reap_runs(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ltv._create_partition(bigint, name), ltv._drop_partition(bigint),
  ltv._analyze_partition(bigint), ltv._signal_worker(bigint), ltv._finish_dataset(bigint, jsonb),
  ltv._start_worker(bigint)
  TO ltv_analyst;
GRANT EXECUTE ON FUNCTION ltv._reap_runs(bigint) TO ltv_viewer;

-------------------------------------------------------------------------------------------
-- Quotas: settings only a superuser may change (src/pg/quotas.cpp; docs/security.md).
-------------------------------------------------------------------------------------------
CREATE FUNCTION ltv._quota(name text) RETURNS integer
AS 'MODULE_PATHNAME', 'ltv_quota' LANGUAGE C STRICT STABLE;

-- Refuses (SQLSTATE 53400, before any work starts) an analysis beyond the caller's quotas:
-- the resolved settings of the run and the caller's queued or running runs. Called by
-- ltv._create_run. Admins have no quotas.
CREATE FUNCTION ltv._check_quotas(p_settings jsonb, p_options jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_active bigint;
  v_threads jsonb := p_options->'forest'->'threads';
  c record;
BEGIN
  IF ltv.is_admin() THEN RETURN; END IF;
  FOR c IN SELECT * FROM (VALUES
      ('forest.n_trees', (p_settings->'forest'->>'n_trees')::double precision, 'api_max_trees'),
      ('forest.threads', CASE WHEN jsonb_typeof(v_threads) = 'number' THEN v_threads::text::double precision END, 'api_max_threads'),
      ('backtest_folds', (p_settings->>'backtest_folds')::double precision, 'api_max_folds'),
      ('stack_snapshots', (p_settings->>'stack_snapshots')::double precision, 'api_max_snapshots')) q(opt, val, quota)
  LOOP
    IF c.val > ltv._quota(c.quota) THEN
      RAISE EXCEPTION 'option "%" = % is over the quota of role "%" (ltv.% = %)',
        c.opt, c.val, current_user, c.quota, ltv._quota(c.quota)
        USING ERRCODE = '53400', HINT = 'Ask an admin to raise it: ALTER ROLE ... SET ltv.' || c.quota || ' = ...';
    END IF;
  END LOOP;
  -- One role's requests queue here, so two cannot both pass the count.
  PERFORM pg_advisory_xact_lock(hashtextextended('ltv.active_runs ' || current_user, 0));
  PERFORM ltv._reap_runs();
  SELECT count(*) INTO v_active FROM ltv.analysis_runs r
   WHERE r.requested_by = current_user AND r.status IN ('queued', 'running');
  IF v_active >= ltv._quota('api_max_active_runs') THEN
    RAISE EXCEPTION 'role "%" already has % analyses queued or running (quota ltv.api_max_active_runs = %)',
      current_user, v_active, ltv._quota('api_max_active_runs')
      USING ERRCODE = '53400', HINT = 'Wait for one to finish (see ltv.runs), or cancel one.';
  END IF;
END
$$;

-------------------------------------------------------------------------------------------
-- Privileges.
-------------------------------------------------------------------------------------------
GRANT USAGE ON SCHEMA ltv TO ltv_viewer, ltv_reader;
GRANT USAGE ON SCHEMA ltv_api TO ltv_viewer;

-- Viewers read the tables (through the policies above) and the views.
GRANT SELECT ON ltv.datasets, ltv.transactions, ltv.rejected_rows, ltv.analysis_runs,
  ltv.models, ltv.customer_features, ltv.predictions, ltv.customer_reasons TO ltv_viewer;
-- Analysts write (through the policies above).
GRANT INSERT, DELETE ON ltv.datasets TO ltv_analyst;
GRANT INSERT ON ltv.rejected_rows TO ltv_analyst;
GRANT INSERT, UPDATE ON ltv.analysis_runs TO ltv_analyst;
GRANT INSERT, UPDATE, DELETE ON ltv.models, ltv.customer_features, ltv.predictions TO ltv_analyst;
GRANT INSERT, DELETE ON ltv.customer_reasons TO ltv_analyst;

-- Views: every role of the extension, and BI tools through ltv_reader (views run with
-- their owner's rights, so ltv_reader needs no table).
DO $$
DECLARE
  v text;
BEGIN
  FOR v IN SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'ltv' AND c.relkind IN ('v', 'm') LOOP
    EXECUTE format('GRANT SELECT ON %s TO ltv_viewer, ltv_reader', v);
  END LOOP;
END
$$;

-- What changes data is the analysts'.
REVOKE EXECUTE ON FUNCTION ltv.import_csv(text, bytea, jsonb), ltv.delete_dataset(bigint),
  ltv.generate_dataset(text, integer, integer, jsonb), ltv.run_analysis(bigint, jsonb),
  ltv.start_analysis(bigint, jsonb), ltv.cancel_analysis(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ltv.import_csv(text, bytea, jsonb), ltv.delete_dataset(bigint),
  ltv.generate_dataset(text, integer, integer, jsonb), ltv.run_analysis(bigint, jsonb),
  ltv.start_analysis(bigint, jsonb), ltv.cancel_analysis(bigint) TO ltv_analyst;

-- The API: reading for viewers (ltv_web included), the rest for analysts.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ltv_api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  ltv_api.datasets(),
  ltv_api.analysis_status(bigint),
  ltv_api.segments(bigint, bigint, date, date, text),
  ltv_api.cohorts(bigint, bigint, date, date, text),
  ltv_api.customer(bigint, text),
  ltv_api.customer_search(bigint, text, integer),
  ltv_api.model_summary(bigint, bigint),
  ltv_api.export_predictions(bigint, bigint, date, date, text),
  ltv_api.runs(bigint)
TO ltv_viewer;
GRANT EXECUTE ON FUNCTION
  ltv_api.upload_dataset(text, text, jsonb),
  ltv_api.upload_dataset_object(text, oid, jsonb),
  ltv_api.run_analysis(bigint, jsonb),
  ltv_api.cancel_analysis(bigint),
  ltv_api.delete_dataset(bigint)
TO ltv_analyst;
