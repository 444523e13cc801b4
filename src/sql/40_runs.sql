-- Stage 8: analysis runs, the model registry and stored predictions.
--
-- A run goes through the stages of ltv._analysis_stages() in order. ltv.run_analysis runs
-- them in the caller's transaction; ltv.start_analysis hands them to a background worker,
-- which commits each stage separately so that ltv.runs shows its stage and progress. Rows
-- a run writes (features, model, predictions) belong to it by run_id; the views show only
-- succeeded runs, and a failed or cancelled run's rows are deleted.

CREATE TABLE ltv.analysis_runs (
  run_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  dataset_id        bigint NOT NULL REFERENCES ltv.datasets ON DELETE CASCADE,
  options           jsonb NOT NULL DEFAULT '{}',
  settings          jsonb NOT NULL DEFAULT '{}',
  mode              text NOT NULL CHECK (mode IN ('foreground', 'background')),
  status            text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  stage             text,
  progress          double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
  error             text,
  timings           jsonb NOT NULL DEFAULT '{}',
  worker_pid        integer,
  cancel_requested  boolean NOT NULL DEFAULT false,
  requested_by      name NOT NULL DEFAULT current_user,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  stage_started_at  timestamptz,
  finished_at       timestamptz
);
-- One queued or running analysis per dataset.
CREATE UNIQUE INDEX analysis_runs_one_active ON ltv.analysis_runs (dataset_id)
  WHERE status IN ('queued', 'running');
CREATE INDEX analysis_runs_dataset ON ltv.analysis_runs (dataset_id, run_id);
COMMENT ON TABLE ltv.analysis_runs IS
  'Stored state of every analysis run; read it through the view ltv.runs, which also reports runs whose worker died';
SELECT pg_catalog.pg_extension_config_dump('ltv.analysis_runs', '');
SELECT pg_catalog.pg_extension_config_dump('ltv.analysis_runs_run_id_seq', '');

CREATE INDEX customer_features_run ON ltv.customer_features (run_id);

CREATE TABLE ltv.models (
  model_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id          bigint NOT NULL UNIQUE REFERENCES ltv.analysis_runs ON DELETE CASCADE,
  dataset_id      bigint NOT NULL REFERENCES ltv.datasets ON DELETE CASCADE,
  algorithm       text NOT NULL DEFAULT 'random_forest',
  parameters      jsonb NOT NULL,
  feature_names   text[] NOT NULL,
  training_rows   bigint NOT NULL,
  metrics         jsonb NOT NULL DEFAULT '{}',
  model           bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX models_dataset ON ltv.models (dataset_id);
-- Large forests are hundreds of MB, which the default pglz compresses many times slower than
-- lz4 (docs/benchmarks.md, SQL): lz4 where the server has it (PostgreSQL 14 and later, built
-- with lz4).
DO $$
BEGIN
  IF current_setting('server_version_num')::integer >= 140000 THEN
    EXECUTE 'ALTER TABLE ltv.models ALTER COLUMN model SET COMPRESSION lz4';
  END IF;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  NULL;  -- built without lz4: pglz it is
END
$$;
COMMENT ON TABLE ltv.models IS
  'One trained model per run: parameters, feature names, evaluation metrics (model and naive baseline on the same held-out customers) and the model itself';
COMMENT ON COLUMN ltv.models.metrics IS
  'macro_f1, accuracy, per_class, confusion_matrix of the model and of the baseline on the held-out customers, lift, feature importance, out-of-bag scores, backtest folds';
COMMENT ON COLUMN ltv.models.model IS 'The forest as bytea; pass it to ltv.rf_predict, ltv.rf_predict_proba, ltv.rf_info';
SELECT pg_catalog.pg_extension_config_dump('ltv.models', '');
SELECT pg_catalog.pg_extension_config_dump('ltv.models_model_id_seq', '');

CREATE TABLE ltv.predictions (
  run_id       bigint NOT NULL,  -- rows go with their run and dataset: see ltv._cascade_delete
  dataset_id   bigint NOT NULL,
  customer_id  text NOT NULL,
  as_of        timestamp NOT NULL,
  bucket       ltv.bucket NOT NULL,
  p_low        double precision NOT NULL,
  p_medium     double precision NOT NULL,
  p_high       double precision NOT NULL,
  p_vip        double precision NOT NULL,
  PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX predictions_bucket ON ltv.predictions (run_id, bucket);
COMMENT ON TABLE ltv.predictions IS
  'Predicted bucket of next-horizon spend and class probabilities, per run and customer, as of the end of the dataset';
SELECT pg_catalog.pg_extension_config_dump('ltv.predictions', '');

-- The two big tables, ltv.customer_features and ltv.predictions, have no foreign keys: the
-- per-row checks of two foreign keys would dominate inserting a run's rows (three sets of a
-- row per customer; docs/benchmarks.md, SQL). Only the pipeline writes these rows, for runs
-- and datasets it has just read; deleting a dataset or a run removes its rows through these
-- statement-level triggers, as ON DELETE CASCADE did.
CREATE FUNCTION ltv._cascade_delete()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_TABLE_NAME = 'datasets' THEN
    DELETE FROM ltv.customer_features cf WHERE cf.dataset_id IN (SELECT g.dataset_id FROM gone g);
    DELETE FROM ltv.predictions p WHERE p.dataset_id IN (SELECT g.dataset_id FROM gone g);
  ELSE
    DELETE FROM ltv.customer_features cf WHERE cf.run_id IN (SELECT g.run_id FROM gone g);
    DELETE FROM ltv.predictions p WHERE p.run_id IN (SELECT g.run_id FROM gone g);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER cascade_delete AFTER DELETE ON ltv.datasets
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ltv._cascade_delete();
CREATE TRIGGER cascade_delete AFTER DELETE ON ltv.analysis_runs
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ltv._cascade_delete();

-- The stages of a run, in order, with the progress reached when each starts and a label
-- for people.
CREATE FUNCTION ltv._analysis_stages()
RETURNS TABLE (stage text, starts_at double precision, label text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
VALUES ('features',    0.00, 'Summarising each customer''s purchases'),
       ('labels',      0.30, 'Measuring what customers spent next'),
       ('training',    0.35, 'Learning from past customers'),
       ('evaluation',  0.70, 'Checking the predictions on held-out customers'),
       ('scoring',     0.80, 'Summarising every customer today'),
       ('predictions', 0.95, 'Predicting each customer''s value group')
$$;

-- Whether the background worker of a run is still alive: its pid is in one of the postmaster's
-- worker slots as an analysis worker. A killed worker leaves its slot, and a server restart
-- clears them all.
CREATE FUNCTION ltv._worker_alive(pid integer) RETURNS boolean
AS 'MODULE_PATHNAME', 'ltv_worker_alive' LANGUAGE C STRICT VOLATILE;


-- Marks runs whose worker is gone as failed and deletes what they had written. (A queued run
-- without a pid is one that ltv.start_analysis is still setting up in its own transaction.)
-- Every dead run is reaped, whatever p_dataset_id says (it names the dataset the caller is
-- about, and is kept for the callers): a killed worker's feature rows and model must not wait
-- until someone next touches that dataset. Every call that can notice a death reaps: reading
-- ltv.runs (and so ltv_api.datasets and analysis_status, which read it), starting, running or
-- cancelling an analysis. The scan reads only the queued and running runs, so any of them can
-- afford it. It runs as the extension owner, so that a role that may only read ltv.runs still
-- reaps; a read-only transaction (or a standby) reaps nothing and only sees the run as failed.
CREATE FUNCTION ltv._reap_runs(p_dataset_id bigint DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
  v_count integer := 0;
BEGIN
  IF current_setting('transaction_read_only')::boolean THEN
    RETURN 0;
  END IF;
  FOR v_run IN
    SELECT r.run_id FROM ltv.analysis_runs r
     WHERE r.mode = 'background' AND r.status IN ('queued', 'running')
       AND r.worker_pid IS NOT NULL AND NOT ltv._worker_alive(r.worker_pid)
     FOR UPDATE SKIP LOCKED
  LOOP
    PERFORM ltv._discard_results(v_run);
    UPDATE ltv.analysis_runs
       SET status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'failed' END,
           error = CASE WHEN cancel_requested THEN 'cancelled on request'
                        ELSE 'the analysis worker stopped unexpectedly (it was killed or the server restarted)' END,
           finished_at = clock_timestamp()
     WHERE run_id = v_run;
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;

CREATE FUNCTION ltv._discard_results(p_run_id bigint)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
DELETE FROM ltv.predictions WHERE run_id = p_run_id;
DELETE FROM ltv.models WHERE run_id = p_run_id;
DELETE FROM ltv.customer_features WHERE run_id = p_run_id;  -- index customer_features_run
$$;

CREATE VIEW ltv.runs AS
SELECT r.run_id,
       r.dataset_id,
       CASE WHEN r.mode = 'background' AND r.status IN ('queued', 'running')
                 AND r.worker_pid IS NOT NULL AND NOT ltv._worker_alive(r.worker_pid)
            THEN 'failed' ELSE r.status END AS status,
       r.stage,
       r.progress,
       CASE WHEN r.mode = 'background' AND r.status IN ('queued', 'running')
                 AND r.worker_pid IS NOT NULL AND NOT ltv._worker_alive(r.worker_pid)
            THEN 'the analysis worker stopped unexpectedly (it was killed or the server restarted)'
            ELSE r.error END AS error,
       r.options,
       r.settings,
       r.mode,
       r.timings,
       r.created_at,
       r.started_at,
       r.finished_at,
       r.requested_by,
       r.worker_pid
  FROM ltv.analysis_runs r
 -- Reading the view reaps: whoever first sees a run as failed here also removes what its dead
 -- worker wrote (see ltv._reap_runs). An uncorrelated subquery is an InitPlan, run once per
 -- query, not per row; it always returns a count, so the condition never filters.
 WHERE (SELECT ltv._reap_runs()) IS NOT NULL;
COMMENT ON VIEW ltv.runs IS
  'One row per analysis run: status (queued, running, succeeded, failed, cancelled), current stage, progress 0..1, error, timings per stage in ms, start and finish times';
COMMENT ON COLUMN ltv.runs.timings IS 'Milliseconds spent in each stage';
COMMENT ON COLUMN ltv.runs.settings IS 'The options as resolved for this run (defaults filled in, cutoff, cut points)';

-- The newest succeeded run of a dataset, or NULL.
CREATE FUNCTION ltv.latest_run(dataset_id bigint)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT max(r.run_id) FROM ltv.analysis_runs r
 WHERE r.dataset_id = latest_run.dataset_id AND r.status = 'succeeded'
$$;
COMMENT ON FUNCTION ltv.latest_run(bigint) IS 'The newest succeeded analysis run of a dataset (NULL when there is none)';
