-- The analysis pipeline: option resolution, the stages, and the three entry points
-- ltv.run_analysis (this session), ltv.start_analysis (background worker), ltv.cancel_analysis.

CREATE FUNCTION ltv._analysis_settings(dataset_id bigint, customers bigint, first_purchase timestamp,
                                       last_purchase timestamp, options jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_analysis_settings'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._analysis_settings(bigint, bigint, timestamp, timestamp, jsonb) IS
  'Internal: the resolved settings of an analysis of a dataset with these facts (core/analysis/options.h)';

CREATE FUNCTION ltv._check_buckets(buckets jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_check_buckets'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv._check_buckets(jsonb) IS
  'Internal: a bucket definition checked as the analysis option "buckets" is (core/analysis/options.h)';

CREATE FUNCTION ltv._size_policy_params(resolved jsonb, given jsonb, rows bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_size_policy_params'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._size_policy_params(jsonb, jsonb, bigint) IS
  'Internal: a run''s forest parameters for training on that many rows (the size policy)';

CREATE FUNCTION ltv._analysis_options_json() RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_analysis_options_json'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ltv._analysis_options_markdown() RETURNS text
AS 'MODULE_PATHNAME', 'ltv_analysis_options_markdown'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._analysis_options_markdown() IS
  'Internal: the table of analysis options as Markdown (the body of docs/options.md)';

CREATE FUNCTION ltv.analysis_options()
RETURNS TABLE (name text, type text, default_value text, accepted text, api boolean, description text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT o.name, o.type, o.default_value, o.accepted, o.api, o.description
  FROM jsonb_to_recordset(ltv._analysis_options_json())
       AS o(name text, type text, default_value text, accepted text, api boolean, description text)
$$;
COMMENT ON FUNCTION ltv.analysis_options() IS
  'The options of ltv.run_analysis / ltv.start_analysis: type, default, accepted values, whether the API accepts it, meaning';

-- Checks the options of an analysis and fills in the defaults: core/analysis/options.h reads
-- them (ltv.analysis_options() lists them, docs/options.md is generated from the same table);
-- this adds the time the predictions are for. Errors (22023) name the option.
CREATE FUNCTION ltv._resolve_options(p_dataset ltv.datasets, p_options jsonb)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ltv._analysis_settings(p_dataset.dataset_id, coalesce(p_dataset.customers, 0),
                              p_dataset.first_purchase, p_dataset.last_purchase, p_options)
       || jsonb_build_object('as_of', ltv._default_as_of(p_dataset.last_purchase))
$$;

-- Creates a run (after checking its options) in status queued (background) or running.
CREATE FUNCTION ltv._create_run(p_dataset_id bigint, p_options jsonb, p_mode text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_dataset ltv.datasets;
  v_settings jsonb;
  v_active bigint;
  v_run bigint;
BEGIN
  SELECT * INTO v_dataset FROM ltv.datasets d WHERE d.dataset_id = p_dataset_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset % does not exist', p_dataset_id USING ERRCODE = 'P0002';
  END IF;
  v_settings := ltv._resolve_options(v_dataset, p_options);
  PERFORM ltv._check_quotas(v_settings, p_options);  -- src/sql/55_security.sql
  PERFORM ltv._reap_runs(p_dataset_id);
  SELECT r.run_id INTO v_active FROM ltv.analysis_runs r
   WHERE r.dataset_id = p_dataset_id AND r.status IN ('queued', 'running');
  IF FOUND THEN
    RAISE EXCEPTION 'dataset % already has analysis run % in progress', p_dataset_id, v_active
      USING ERRCODE = '55006', HINT = 'Wait for it (see ltv.runs) or cancel it with ltv.cancel_analysis(' || v_active || ').';
  END IF;
  BEGIN
    INSERT INTO ltv.analysis_runs (dataset_id, options, settings, mode, status, started_at, worker_pid)
    VALUES (p_dataset_id, coalesce(p_options, '{}'), v_settings, p_mode,
            CASE p_mode WHEN 'background' THEN 'queued' ELSE 'running' END,
            CASE p_mode WHEN 'background' THEN NULL ELSE clock_timestamp() END,
            CASE p_mode WHEN 'background' THEN NULL ELSE pg_backend_pid() END)
    RETURNING run_id INTO v_run;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'dataset % already has an analysis in progress', p_dataset_id
      USING ERRCODE = '55006', HINT = 'See ltv.runs.';
  END;
  RETURN v_run;
END
$$;

-- Background worker: claims a queued run. 'claimed', 'missing' (not visible yet), or the
-- run's status when it is no longer queued.
CREATE FUNCTION ltv._claim_run(p_run_id bigint)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_status text;
BEGIN
  SELECT status INTO v_status FROM ltv.analysis_runs WHERE run_id = p_run_id FOR UPDATE;
  IF NOT FOUND THEN RETURN 'missing'; END IF;
  IF v_status <> 'queued' THEN RETURN v_status; END IF;
  UPDATE ltv.analysis_runs
     SET status = 'running', started_at = clock_timestamp(), worker_pid = pg_backend_pid()
   WHERE run_id = p_run_id;
  RETURN 'claimed';
END
$$;

-- Records the time of the stage that just ended and starts the next one.
CREATE FUNCTION ltv._begin_stage(p_run_id bigint, p_stage text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_cancel boolean;
BEGIN
  UPDATE ltv.analysis_runs r
     SET timings = CASE WHEN r.stage IS NULL THEN r.timings
                        ELSE r.timings || jsonb_build_object(r.stage,
                               round((extract(epoch FROM clock_timestamp() - r.stage_started_at) * 1000)::numeric, 1)) END,
         stage = p_stage,
         progress = (SELECT s.starts_at FROM ltv._analysis_stages() s WHERE s.stage = p_stage),
         stage_started_at = clock_timestamp()
   WHERE r.run_id = p_run_id
  RETURNING r.cancel_requested INTO v_cancel;
  IF v_cancel THEN
    RAISE EXCEPTION 'analysis run % was cancelled', p_run_id USING ERRCODE = '57014';
  END IF;
END
$$;

CREATE FUNCTION ltv._finish_run(p_run_id bigint)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
UPDATE ltv.analysis_runs r
   SET timings = r.timings || jsonb_build_object(r.stage,
                   round((extract(epoch FROM clock_timestamp() - r.stage_started_at) * 1000)::numeric, 1)),
       status = 'succeeded', stage = NULL, progress = 1, finished_at = clock_timestamp()
 WHERE r.run_id = p_run_id;
$$;

CREATE FUNCTION ltv._fail_run(p_run_id bigint, p_message text, p_sqlstate text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM ltv._discard_results(p_run_id);
  UPDATE ltv.analysis_runs r
     SET status = CASE WHEN r.cancel_requested OR p_sqlstate = '57014' THEN 'cancelled' ELSE 'failed' END,
         error = CASE WHEN r.cancel_requested OR p_sqlstate = '57014' THEN 'cancelled on request'
                      ELSE p_message END,
         finished_at = clock_timestamp()
   WHERE r.run_id = p_run_id;
END
$$;

-- The run's plan: which snapshots it stores and what each is for (stored in settings.plan).
--   mode "out_of_time": fold k = 1..backtest_folds evaluates at E_k = cutoff - (k - 1) *
--     backtest_step, with a model trained on the snapshots whose labels ended by E_k:
--     E_k - horizon, then stack_snapshots more every stack_step before it, and E_k - 1 year
--     (the same season a year earlier). Fold 0 is the served model, trained the same way for
--     the scoring time as_of: on cutoff (= as_of - horizon, the last fully observed one),
--     the stacked ones before it and as_of - 1 year.
--   mode "customer_split" (data too short for a single out-of-time fold, or asked for): one
--     fold at cutoff scoring held-out customers, the model trained on the others (their rows
--     at cutoff and at the stacked snapshots); that model is also the served one.
-- A training snapshot needs 30 days of history before it (earlier ones are left out).
CREATE FUNCTION ltv._run_plan(v_run ltv.analysis_runs)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_s jsonb := v_run.settings;
  v_cutoff timestamp := (v_s->>'cutoff')::timestamp;
  v_horizon interval := (v_s->>'horizon')::interval;
  v_as_of timestamp := (v_s->>'as_of')::timestamp;
  v_step interval := (v_s->>'backtest_step')::interval;
  v_first timestamp;
  v_folds jsonb := '[]';
  v_eval timestamp;
  v_train timestamp[];
  v_mode text;
  k integer;
BEGIN
  SELECT d.first_purchase + interval '30 days' INTO v_first FROM ltv.datasets d WHERE d.dataset_id = v_run.dataset_id;
  IF v_s->>'evaluation' <> 'split' THEN
    FOR k IN 1 .. (v_s->>'backtest_folds')::integer LOOP
      v_eval := v_cutoff - (k - 1) * v_step;
      v_train := ltv._training_cutoffs(v_eval, v_horizon, (v_s->>'stack_snapshots')::integer,
                                       (v_s->>'stack_step')::interval, v_first);
      EXIT WHEN v_train = '{}';
      v_folds := v_folds || jsonb_build_array(jsonb_build_object('fold', k, 'evaluate_at', v_eval, 'train_at', to_jsonb(v_train)));
    END LOOP;
  END IF;
  IF jsonb_array_length(v_folds) > 0 THEN
    v_mode := 'out_of_time';
    v_train := ltv._training_cutoffs(v_as_of, v_horizon, (v_s->>'stack_snapshots')::integer,
                                     (v_s->>'stack_step')::interval, v_first);
    -- as_of - horizon can fall a few hours after cutoff (as_of is the day after the last
    -- purchase): train on cutoff itself, the last snapshot whose labels are fully observed.
    v_train := ARRAY(SELECT least(c, v_cutoff) FROM unnest(v_train) c);
  ELSIF v_s->>'evaluation' = 'out_of_time' THEN
    RAISE EXCEPTION 'the data does not span enough time for an out-of-time evaluation: a model scored at % must be trained on a snapshot at least 30 days after the first purchase (%) and one horizon (%) before it',
      v_cutoff, v_first - interval '30 days', v_horizon USING ERRCODE = '22023',
      HINT = 'Use a shorter "horizon", or "evaluation": "split".';
  ELSE
    v_mode := 'customer_split';
    v_train := ARRAY[v_cutoff] || ARRAY(SELECT v_cutoff - j * (v_s->>'stack_step')::interval
                                          FROM generate_series(1, (v_s->>'stack_snapshots')::integer) j
                                         WHERE v_cutoff - j * (v_s->>'stack_step')::interval > v_first - interval '30 days'
                                         ORDER BY j);
    v_folds := jsonb_build_array(jsonb_build_object('fold', 1, 'evaluate_at', v_cutoff, 'train_at', to_jsonb(v_train)));
  END IF;
  RETURN jsonb_build_object('mode', v_mode, 'folds', v_folds, 'train_at', to_jsonb(v_train), 'score_at', v_as_of);
END
$$;

-- Training cutoffs for a model that scores at p_at: the last snapshot whose labels ended by
-- p_at (p_at - horizon), p_stack more every p_step before it, and p_at - 1 year (the season
-- being predicted, a year earlier); those before p_min are left out. Newest first.
CREATE FUNCTION ltv._training_cutoffs(p_at timestamp, p_horizon interval, p_stack integer,
                                      p_step interval, p_min timestamp)
RETURNS timestamp[]
LANGUAGE sql IMMUTABLE
AS $$
SELECT coalesce(array_agg(c ORDER BY c DESC), '{}')
  FROM (SELECT DISTINCT c FROM (
          SELECT p_at - p_horizon - j * p_step AS c FROM generate_series(0, p_stack) j
          UNION ALL
          SELECT p_at - interval '1 year' WHERE p_at - interval '1 year' <= p_at - p_horizon) x
         WHERE c >= p_min) y
$$;

-- One stage of a run. Every stage reads the run's settings and writes rows tagged with the
-- run id; what it adds to the settings (plan, cut points, shares) goes back into
-- ltv.analysis_runs.settings.
CREATE FUNCTION ltv._run_stage(p_run_id bigint, p_stage text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run ltv.analysis_runs;
BEGIN
  SELECT * INTO STRICT v_run FROM ltv.analysis_runs WHERE run_id = p_run_id;
  CASE p_stage
  WHEN 'features' THEN PERFORM ltv._stage_features(v_run);
  WHEN 'labels' THEN PERFORM ltv._stage_labels(v_run);
  WHEN 'training' THEN PERFORM ltv._stage_training(v_run);
  WHEN 'evaluation' THEN PERFORM ltv._stage_evaluation(v_run);
  WHEN 'scoring' THEN NULL;  -- the scoring snapshot is stored by the features stage, same scan
  WHEN 'predictions' THEN PERFORM ltv._stage_predictions(v_run);
  ELSE
    RAISE EXCEPTION 'unknown analysis stage "%"', p_stage USING ERRCODE = 'XX000';
  END CASE;
END
$$;

-- Every snapshot of the plan (training, evaluation and scoring cutoffs) from one scan of the
-- dataset's transactions (ltv._materialize_snapshots). In customer_split mode the snapshot
-- at the cutoff also draws the held-out split.
CREATE FUNCTION ltv._stage_features(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_s jsonb := v_run.settings;
  v_plan jsonb := ltv._run_plan(v_run);
  v_cutoff timestamp := (v_s->>'cutoff')::timestamp;
  v_cutoffs timestamp[];
  v_fractions double precision[];
  v_results jsonb[];
  v_summary jsonb := '{}';
  k integer;
BEGIN
  SELECT array_agg(DISTINCT c ORDER BY c DESC) INTO v_cutoffs FROM (
    SELECT jsonb_array_elements_text(v_plan->'train_at')::timestamp AS c
    UNION ALL SELECT (f->>'evaluate_at')::timestamp FROM jsonb_array_elements(v_plan->'folds') f
    UNION ALL SELECT jsonb_array_elements_text(f->'train_at')::timestamp FROM jsonb_array_elements(v_plan->'folds') f
    UNION ALL SELECT (v_plan->>'score_at')::timestamp) x;
  v_fractions := ARRAY(SELECT CASE WHEN v_plan->>'mode' = 'customer_split' AND c = v_cutoff
                                   THEN (v_s->>'test_fraction')::double precision END
                         FROM unnest(v_cutoffs) WITH ORDINALITY u(c, i) ORDER BY i);
  v_results := ltv._materialize_snapshots(v_run.dataset_id, v_cutoffs, (v_s->>'horizon')::interval, v_s->'buckets',
                                          v_run.run_id, v_fractions, (v_s->>'seed')::bigint);
  FOR k IN 1 .. cardinality(v_results) LOOP
    v_summary := v_summary || jsonb_build_object(v_cutoffs[k]::text, v_results[k] - 'dataset_id' - 'cutoff' - 'horizon');
  END LOOP;
  IF (v_summary->v_cutoff::text->>'customers')::bigint < (v_s->>'min_customers')::bigint THEN
    RAISE EXCEPTION 'too few customers to train a model: % had purchases before the cutoff %, at least % are needed',
      v_summary->v_cutoff::text->>'customers', v_cutoff, v_s->>'min_customers' USING ERRCODE = '22023',
      HINT = 'Import more data, or lower the option "min_customers".';
  END IF;
  UPDATE ltv.analysis_runs
     SET settings = settings || jsonb_build_object('plan', v_plan, 'snapshots', v_summary,
                                                   'training', v_summary->v_cutoff::text,
                                                   'scoring', v_summary->(v_plan->>'score_at'))
   WHERE run_id = v_run.run_id;
END
$$;

-- Labels: the bucket shares the rank candidates assign (the shares of the true buckets at the
-- last fully observed snapshot), and in customer_split mode the training split of the
-- stacked snapshots (customers held out at the cutoff are left out of them too).
-- (The feature rows were written in this run, before any ANALYZE: the planner thinks there
-- is one row and would pick a nested loop.)
CREATE FUNCTION ltv._stage_labels(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
DECLARE
  v_cutoff timestamp := (v_run.settings->>'cutoff')::timestamp;
  v_classes integer;
  v_test bigint;
BEGIN
  IF v_run.settings->'plan'->>'mode' = 'customer_split' THEN
    UPDATE ltv.customer_features cf SET split = 'train'
     WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff < v_cutoff
       AND cf.true_bucket IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM ltv.customer_features t
                        WHERE t.dataset_id = v_run.dataset_id AND coalesce(t.run_id, 0) = v_run.run_id
                          AND t.cutoff = v_cutoff AND t.customer_id = cf.customer_id AND t.split = 'test');
  END IF;
  SELECT count(DISTINCT true_bucket), count(*) FILTER (WHERE split = 'test') INTO v_classes, v_test
    FROM ltv.customer_features cf
   WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff = v_cutoff;
  IF v_classes < 2 THEN
    RAISE EXCEPTION 'every customer falls in the same bucket at cutoff %: there is nothing to learn', v_cutoff
      USING ERRCODE = '22023', HINT = 'Check the bucket cut points, or use more data.';
  END IF;
  IF v_run.settings->'plan'->>'mode' = 'customer_split' AND v_test = 0 THEN
    RAISE EXCEPTION 'the held-out set is empty' USING ERRCODE = '22023',
      HINT = 'Raise the option "test_fraction" or use more data.';
  END IF;
  UPDATE ltv.analysis_runs
     SET settings = settings || jsonb_build_object('shares', ltv._bucket_shares(v_run, ltv._shares_cutoff(
                                  (v_run.settings->>'as_of')::timestamp,
                                  ARRAY(SELECT jsonb_array_elements_text(v_run.settings->'plan'->'train_at')::timestamp))))
   WHERE run_id = v_run.run_id;
END
$$;

-- The labelled snapshot whose bucket shares the rank candidates give out when scoring at p_at:
-- the one a year earlier (the same season: how many customers buy nothing at all moves with
-- the season, and every such customer is low) when it is among the training cutoffs, else the
-- newest training cutoff.
CREATE FUNCTION ltv._shares_cutoff(p_at timestamp, p_train_at timestamp[])
RETURNS timestamp
LANGUAGE sql IMMUTABLE
AS $$
SELECT CASE WHEN p_at - interval '1 year' = ANY (p_train_at) THEN p_at - interval '1 year'
            ELSE (SELECT max(c) FROM unnest(p_train_at) c) END
$$;

-- Shares of the true buckets (low..vip) among the run's customers at a labelled cutoff.
CREATE FUNCTION ltv._bucket_shares(v_run ltv.analysis_runs, p_cutoff timestamp)
RETURNS double precision[]
LANGUAGE sql STABLE
AS $$
SELECT ARRAY[count(*) FILTER (WHERE true_bucket = 'low'), count(*) FILTER (WHERE true_bucket = 'medium'),
             count(*) FILTER (WHERE true_bucket = 'high'), count(*) FILTER (WHERE true_bucket = 'vip')]::double precision[]
  FROM ltv.customer_features cf
 WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff = p_cutoff
   AND cf.true_bucket IS NOT NULL
$$;

-- Forest parameters for a training set of p_rows rows: the size policy of
-- core/analysis/options.h (SizePolicy) applied to the run's resolved forest.
CREATE FUNCTION ltv._training_params(v_run ltv.analysis_runs, p_rows bigint)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ltv._size_policy_params(v_run.settings->'forest', v_run.options->'forest', p_rows)
$$;

-- The stored feature rows a model trains on: the labelled rows at the given cutoffs; in
-- customer_split mode only the training split. (A plain SQL function: the planner inlines it,
-- so the index on dataset, run and cutoff still applies.)
CREATE FUNCTION ltv._training_rows(v_run ltv.analysis_runs, p_cutoffs timestamp[])
RETURNS SETOF ltv.customer_features
LANGUAGE sql STABLE  -- no SET clause: a function with one is never inlined
AS $$
SELECT * FROM ltv.customer_features cf
 WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id
   AND cf.cutoff = ANY (p_cutoffs) AND cf.true_bucket IS NOT NULL
   AND (v_run.settings->'plan'->>'mode' <> 'customer_split' OR cf.split = 'train')
$$;

-- Trains the run's forest on ltv._training_rows(v_run, p_cutoffs).
CREATE FUNCTION ltv._train_model(v_run ltv.analysis_runs, p_cutoffs timestamp[],
                                 OUT model bytea, OUT parameters jsonb, OUT training_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_params jsonb;
BEGIN
  SELECT count(*) INTO training_rows FROM ltv._training_rows(v_run, p_cutoffs);
  IF training_rows < (v_run.settings->>'min_customers')::bigint THEN
    RAISE EXCEPTION 'too few labelled customers to train a model: % at cutoffs %, at least % are needed',
      training_rows, p_cutoffs, v_run.settings->>'min_customers' USING ERRCODE = '22023';
  END IF;
  parameters := ltv._training_params(v_run, training_rows);
  -- Built once: an aggregate's arguments are evaluated for every row, and building this
  -- jsonb took ~5 us a row (2.3 s of training on a million customers).
  v_params := parameters || jsonb_build_object('feature_names', to_jsonb(ltv.feature_names()));
  SELECT ltv.rf_train(ltv.feature_vector(cf), ltv._bucket_class(cf.true_bucket), v_params)
    INTO model
    FROM ltv._training_rows(v_run, p_cutoffs) cf;
END
$$;

CREATE FUNCTION ltv._stage_training(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_trained record;
  v_cutoffs timestamp[] := ARRAY(SELECT jsonb_array_elements_text(v_run.settings->'plan'->'train_at')::timestamp);
BEGIN
  v_trained := ltv._train_model(v_run, v_cutoffs);
  INSERT INTO ltv.models (run_id, dataset_id, parameters, feature_names, training_rows, model)
  VALUES (v_run.run_id, v_run.dataset_id, v_trained.parameters, ltv.feature_names(),
          v_trained.training_rows, v_trained.model);
END
$$;

-- The candidates' inputs for the customers of a dataset at one cutoff, from a feature table
-- (ltv.customer_features, or a temp table like it for ltv.predict), in customer order: the
-- naive rule's bucket and spend, the forest's decision, expected class and probabilities
-- (one array per class), the CLV expected spend, and (where observed) the true bucket and future spend. The
-- model's input vector is built by the names the model was trained on.
CREATE FUNCTION ltv._snapshot_inputs(p_model bytea, p_source regclass, p_dataset_id bigint, p_run_id bigint,
                                     p_cutoff timestamp, p_test_only boolean,
                                     OUT ids text[], OUT truth integer[], OUT future double precision[],
                                     OUT naive_bucket integer[], OUT naive_score double precision[],
                                     OUT model_class integer[], OUT model_score double precision[],
                                     OUT clv_score double precision[], OUT p_low double precision[],
                                     OUT p_medium double precision[], OUT p_high double precision[],
                                     OUT p_vip double precision[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'  -- ltv.rf_predict_batch's rows stay in memory (a million customers spilled at 64MB)
AS $$
DECLARE
  v_vector text := ltv._feature_vector_sql(ltv.rf_feature_names(p_model), 'cf');
BEGIN
  -- Every array in customer order: the aggregates read one sorted subquery (a sort per
  -- ORDER BY aggregate would sort a million rows twelve times).
  EXECUTE format($q$
  WITH rows AS (
    SELECT cf.customer_id, %s AS v, ltv._bucket_class(cf.true_bucket) AS t,
           cf.future_spend AS fs, ltv._bucket_class(cf.baseline_bucket) AS nb, cf.baseline_spend AS ns,
           coalesce(cf.clv_expected_spend, 0) AS cs
      FROM %s cf
     WHERE cf.dataset_id = $1 AND coalesce(cf.run_id, 0) = coalesce($2, 0) AND cf.cutoff = $3
       AND (NOT $4 OR cf.split = 'test')),
  batch AS (SELECT array_agg(o.customer_id) AS ids, array_agg(o.v) AS vs
              FROM (SELECT customer_id, v FROM rows ORDER BY customer_id) o),
  scored AS (SELECT p.key, p.class, p.probabilities FROM batch CROSS JOIN LATERAL ltv.rf_predict_batch($5, batch.ids, batch.vs) p
              WHERE batch.ids IS NOT NULL)
  SELECT array_agg(x.customer_id), array_agg(x.t), array_agg(x.fs), array_agg(x.nb), array_agg(x.ns),
         array_agg(x.class), array_agg(x.pr[2] + 2 * x.pr[3] + 3 * x.pr[4]), array_agg(x.cs),
         array_agg(x.pr[1]), array_agg(x.pr[2]), array_agg(x.pr[3]), array_agg(x.pr[4])
    FROM (SELECT r.customer_id, r.t, r.fs, r.nb, r.ns, s.class, s.probabilities AS pr, r.cs
            FROM rows r JOIN scored s ON s.key = r.customer_id ORDER BY r.customer_id) x$q$, v_vector, p_source)
    INTO ids, truth, future, naive_bucket, naive_score, model_class, model_score, clv_score, p_low, p_medium, p_high, p_vip
    USING p_dataset_id, p_run_id, p_cutoff, p_test_only, p_model;
  IF ids IS NULL THEN
    RAISE EXCEPTION 'no customers to score at %', p_cutoff USING ERRCODE = '22023';
  END IF;
END
$$;

-- Evaluation: every candidate of core/selection scored out of time (or on held-out customers
-- in customer_split mode) fold by fold; the best by mean macro F1 is served, the naive rule
-- when nothing beats it. ltv.models.metrics keeps the whole table; its top-level scores
-- (macro_f1, baseline, lift_macro_f1, per_class, confusion_matrix) are the served candidate's
-- and the naive rule's over the same customers (means over folds; matrices pooled).
CREATE FUNCTION ltv._stage_evaluation(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_plan jsonb := v_run.settings->'plan';
  v_served_model bytea;
  v_model bytea;
  v_fold jsonb;
  v_in record;
  v_k integer := 0;
  v_labels text[] := '{}';
  v_fold_of integer[] := '{}';
  v_truth integer[] := '{}';
  v_future double precision[] := '{}';
  v_nb integer[] := '{}';
  v_ns double precision[] := '{}';
  v_mc integer[] := '{}';
  v_ms double precision[] := '{}';
  v_cs double precision[] := '{}';
  v_shares double precision[] := '{}';
  v_fold_shares double precision[];
  v_result jsonb;
  v_chosen text;
  v_allowed jsonb := nullif(v_run.settings->'candidates', 'null'::jsonb);
  v_served integer[] := '{}';
  v_served_metrics jsonb;
  v_naive_metrics jsonb;
  v_entry jsonb;
  v_naive jsonb;
  v_info jsonb;
  v_train_at timestamp[];
BEGIN
  SELECT m.model INTO STRICT v_served_model FROM ltv.models m WHERE m.run_id = v_run.run_id;
  FOR v_fold IN SELECT f FROM jsonb_array_elements(v_plan->'folds') f LOOP
    v_train_at := ARRAY(SELECT jsonb_array_elements_text(v_fold->'train_at')::timestamp);
    IF v_plan->>'mode' = 'customer_split' THEN
      v_model := v_served_model;
      v_fold_shares := ARRAY(SELECT jsonb_array_elements_text(v_run.settings->'shares')::double precision);
    ELSE
      BEGIN
        v_model := (ltv._train_model(v_run, v_train_at)).model;
      EXCEPTION WHEN invalid_parameter_value THEN
        CONTINUE;  -- too few labelled customers that far back: the fold is left out
      END;
      v_fold_shares := ltv._bucket_shares(v_run, ltv._shares_cutoff((v_fold->>'evaluate_at')::timestamp, v_train_at));
    END IF;
    v_in := ltv._snapshot_inputs(v_model, 'ltv.customer_features', v_run.dataset_id, v_run.run_id,
                                 (v_fold->>'evaluate_at')::timestamp, v_plan->>'mode' = 'customer_split');
    v_k := v_k + 1;
    v_labels := v_labels || (v_fold->>'evaluate_at');
    v_fold_of := v_fold_of || array_fill(v_k, ARRAY[cardinality(v_in.ids)]);
    v_truth := v_truth || v_in.truth;
    v_future := v_future || v_in.future;
    v_nb := v_nb || v_in.naive_bucket;
    v_ns := v_ns || v_in.naive_score;
    v_mc := v_mc || v_in.model_class;
    v_ms := v_ms || v_in.model_score;
    v_cs := v_cs || v_in.clv_score;
    v_shares := v_shares || v_fold_shares;
  END LOOP;
  IF v_k = 0 THEN
    RAISE EXCEPTION 'no evaluation fold had enough labelled customers to train on' USING ERRCODE = '22023',
      HINT = 'Use more data, a shorter "horizon", or "evaluation": "split".';
  END IF;
  v_result := ltv._evaluate_candidates(v_fold_of, v_labels, v_truth, v_future, v_nb, v_ns, v_mc, v_ms, v_cs,
                                       v_shares, (v_run.settings->>'seed')::bigint, 1000);
  -- The choice (core/selection): best mean macro F1, the naive rule unless something beats
  -- it. With the option "candidates" the choice is among those only (and the naive rule is the
  -- fallback only when listed).
  IF v_allowed IS NULL THEN
    v_chosen := v_result->>'chosen';
  ELSE
    SELECT c->>'name' INTO v_chosen FROM jsonb_array_elements(v_result->'candidates') WITH ORDINALITY u(c, i)
     WHERE v_allowed ? (c->>'name')
     ORDER BY (c->>'mean_macro_f1')::double precision DESC, i LIMIT 1;
    IF v_chosen IS NULL THEN
      RAISE EXCEPTION 'none of the candidates % is available in this run', v_allowed USING ERRCODE = '22023';
    END IF;
    IF v_allowed ? 'naive' AND v_chosen <> 'naive'
       AND NOT ((SELECT (c->'lift_ci90'->>0)::double precision FROM jsonb_array_elements(v_result->'candidates') c
                  WHERE c->>'name' = v_chosen) > 0) THEN
      v_chosen := 'naive';
    END IF;
  END IF;
  SELECT c INTO v_entry FROM jsonb_array_elements(v_result->'candidates') c WHERE c->>'name' = v_chosen;
  SELECT c INTO v_naive FROM jsonb_array_elements(v_result->'candidates') c WHERE c->>'name' = 'naive';
  -- The served candidate's buckets fold by fold, for its pooled confusion matrix (each fold's
  -- arrays taken apart in one pass: subscripting them row by row would be quadratic).
  FOR k IN 1 .. v_k LOOP
    SELECT v_served || ltv._assign_candidate(v_chosen, array_agg(u.nb ORDER BY u.i), array_agg(u.ns ORDER BY u.i),
                                             coalesce(array_agg(u.mc ORDER BY u.i) FILTER (WHERE u.mc IS NOT NULL), '{}'),
                                             coalesce(array_agg(u.ms ORDER BY u.i) FILTER (WHERE u.ms IS NOT NULL), '{}'),
                                             coalesce(array_agg(u.cs ORDER BY u.i) FILTER (WHERE u.cs IS NOT NULL), '{}'),
                                             v_shares[4 * k - 3 : 4 * k])
      INTO v_served
      FROM unnest(v_fold_of, v_nb, v_ns, v_mc, v_ms, v_cs) WITH ORDINALITY u(f, nb, ns, mc, ms, cs, i)
     WHERE u.f = k;
  END LOOP;
  v_served_metrics := ltv.classification_metrics(v_truth, v_served, 4);
  v_naive_metrics := ltv.classification_metrics(v_truth, v_nb, 4);
  v_info := ltv.rf_info(v_served_model);
  UPDATE ltv.models SET metrics = jsonb_build_object(
      'evaluation', v_plan->>'mode',
      'served', v_chosen,
      'serves_naive', v_chosen = 'naive',
      'served_reason', CASE WHEN v_chosen = 'naive' AND v_allowed IS NULL THEN v_result->>'reason'
                            WHEN v_allowed IS NOT NULL THEN 'chosen among the candidates the options allow'
                            ELSE v_result->>'reason' END,
      'cutoff', v_plan->'folds'->0->>'evaluate_at',
      'folds', v_k,
      'test_customers', cardinality(v_truth),
      'macro_f1', v_entry->'mean_macro_f1',
      'accuracy', v_served_metrics->'accuracy',
      'per_class', v_served_metrics->'per_class',
      'confusion_matrix', v_served_metrics->'confusion_matrix',
      'baseline', v_naive_metrics || jsonb_build_object('macro_f1', v_naive->'mean_macro_f1'),
      'lift_macro_f1', v_entry->'mean_lift',
      'lift_ci90', v_entry->'lift_ci90',
      'spearman', v_entry->'mean_spearman',
      'gini', v_entry->'mean_gini',
      'candidates', v_result->'candidates',
      'feature_importance', v_info->'feature_importance',
      'out_of_bag', v_info->'training',
      'decision', v_info->'params'->'decision')
   WHERE run_id = v_run.run_id;
END
$$;

-- What a run serves for the customers of a feature table at a cutoff: the served candidate's
-- bucket, with the forest's class probabilities when the candidate uses the forest, and
-- otherwise how the evaluation's customers given that bucket were truly spread (a column of
-- the served candidate's confusion matrix, normalized). The predictions stage stores these
-- for the run's as_of; ltv.predict(run_id) computes them for any time.
CREATE FUNCTION ltv._served(p_run_id bigint, p_source regclass, p_run_rows bigint, p_cutoff timestamp)
RETURNS TABLE (customer_id text, bucket ltv.bucket, p_low double precision, p_medium double precision,
               p_high double precision, p_vip double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run ltv.analysis_runs;
  v_model bytea;
  v_metrics jsonb;
  v_in record;
  v_buckets integer[];
  v_served text;
  v_calibrated double precision[];
BEGIN
  SELECT * INTO STRICT v_run FROM ltv.analysis_runs r WHERE r.run_id = p_run_id;
  SELECT m.model, m.metrics INTO STRICT v_model, v_metrics FROM ltv.models m WHERE m.run_id = p_run_id;
  v_served := v_metrics->>'served';
  v_in := ltv._snapshot_inputs(v_model, p_source, v_run.dataset_id, p_run_rows, p_cutoff, false);
  v_buckets := ltv._assign_candidate(v_served, v_in.naive_bucket, v_in.naive_score, v_in.model_class,
                                     v_in.model_score, v_in.clv_score,
                                     ARRAY(SELECT jsonb_array_elements_text(v_run.settings->'shares')::double precision));
  IF NOT ltv._candidate_uses_forest(v_served) THEN
    -- column b of the confusion matrix (rows = truth), normalized: P(truth = t | served = b)
    v_calibrated := ARRAY(
      SELECT coalesce((v_metrics->'confusion_matrix'->t->>b)::double precision
                      / nullif((SELECT sum((row->>b)::double precision) FROM jsonb_array_elements(v_metrics->'confusion_matrix') row), 0),
                      CASE WHEN t = b THEN 1 ELSE 0 END)
        FROM generate_series(0, 3) b, generate_series(0, 3) t ORDER BY b, t);
  END IF;
  -- (unnest walks the arrays once; subscripting a text[] per row would be quadratic)
  RETURN QUERY
  SELECT u.id, ltv._class_bucket(u.b),
         coalesce(v_calibrated[4 * u.b + 1], u.pl), coalesce(v_calibrated[4 * u.b + 2], u.pm),
         coalesce(v_calibrated[4 * u.b + 3], u.ph), coalesce(v_calibrated[4 * u.b + 4], u.pv)
    FROM unnest(v_in.ids, v_buckets, v_in.p_low, v_in.p_medium, v_in.p_high, v_in.p_vip) u(id, b, pl, pm, ph, pv);
END
$$;

CREATE FUNCTION ltv._stage_predictions(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_as_of timestamp := (v_run.settings->>'as_of')::timestamp;
BEGIN
  INSERT INTO ltv.predictions (run_id, dataset_id, customer_id, as_of, bucket, p_low, p_medium, p_high, p_vip)
  SELECT v_run.run_id, v_run.dataset_id, s.customer_id, v_as_of, s.bucket, s.p_low, s.p_medium, s.p_high, s.p_vip
    FROM ltv._served(v_run.run_id, 'ltv.customer_features', v_run.run_id, v_as_of) s;
END
$$;

-- Whether a candidate's buckets come from the forest (its probabilities then go with them).
CREATE FUNCTION ltv._candidate_uses_forest(p_candidate text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT coalesce((SELECT c.uses_model FROM ltv.candidates() c WHERE c.name = p_candidate), false) $$;

-- Runs every stage of an analysis in this transaction and returns the run id. A run that
-- fails is recorded as failed with the reason (and a WARNING); its partial results are
-- rolled back. A query cancel rolls back the whole call, run row included.
CREATE FUNCTION ltv.run_analysis(dataset_id bigint, options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
  v_stage text;
  v_message text;
  v_state text;
BEGIN
  v_run := ltv._create_run(run_analysis.dataset_id, options, 'foreground');
  BEGIN
    FOR v_stage IN SELECT s.stage FROM ltv._analysis_stages() s ORDER BY s.starts_at LOOP
      PERFORM ltv._begin_stage(v_run, v_stage);
      PERFORM ltv._run_stage(v_run, v_stage);
    END LOOP;
    PERFORM ltv._finish_run(v_run);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
    PERFORM ltv._fail_run(v_run, v_message, v_state);
    RAISE WARNING 'analysis run % failed: %', v_run, v_message;
  END;
  RETURN v_run;
END
$$;
COMMENT ON FUNCTION ltv.run_analysis(bigint, jsonb) IS
  'Runs the whole analysis of a dataset in this transaction (features, labels, split, training, evaluation against the naive baseline, scoring, predictions) and returns the run id; see ltv.runs for its status';

CREATE FUNCTION ltv._start_worker(run_id bigint) RETURNS integer
AS 'MODULE_PATHNAME', 'ltv_start_worker' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION ltv._start_worker(bigint) FROM PUBLIC;

-- Queues the analysis in a background worker and returns the run id at once.
CREATE FUNCTION ltv.start_analysis(dataset_id bigint, options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
  v_pid integer;
BEGIN
  -- The worker connects as this session's login role and then acts as the calling role (as
  -- SET ROLE does): a login role that lost LOGIN could not connect, and the run would only
  -- show up later as failed.
  IF NOT (SELECT r.rolcanlogin FROM pg_roles r WHERE r.rolname = session_user) THEN
    RAISE EXCEPTION 'role "%" cannot log in, and a background analysis connects as the session''s role (then acts as "%")',
      session_user, current_user
      USING ERRCODE = '42501', HINT = 'Give the role LOGIN, or run the analysis in this session with ltv.run_analysis.';
  END IF;
  v_run := ltv._create_run(start_analysis.dataset_id, options, 'background');
  v_pid := ltv._start_worker(v_run);
  UPDATE ltv.analysis_runs SET worker_pid = v_pid WHERE run_id = v_run;
  RETURN v_run;
END
$$;
COMMENT ON FUNCTION ltv.start_analysis(bigint, jsonb) IS
  'Queues the analysis of a dataset in a background worker and returns the run id at once; the worker starts when this transaction commits. Follow it in ltv.runs. One analysis per dataset at a time.';

-- Asks a queued or running analysis to stop. Returns the run's status after the request:
-- 'cancelling' while the worker winds down, or the final status of a finished run.
CREATE FUNCTION ltv.cancel_analysis(run_id bigint)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run ltv.runs;
BEGIN
  SELECT * INTO v_run FROM ltv.runs r WHERE r.run_id = cancel_analysis.run_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'analysis run % does not exist', cancel_analysis.run_id USING ERRCODE = 'P0002';
  END IF;
  -- Row-level security decides: only the run's requester (or an admin) may lock it for update,
  -- whether or not it has ended.
  PERFORM 1 FROM ltv.analysis_runs r WHERE r.run_id = cancel_analysis.run_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'analysis run % belongs to role "%": role "%" may not cancel it',
      cancel_analysis.run_id, v_run.requested_by, current_user USING ERRCODE = '42501';
  END IF;
  IF v_run.status NOT IN ('queued', 'running') THEN
    PERFORM ltv._reap_runs(v_run.dataset_id);
    RETURN (SELECT r.status FROM ltv.analysis_runs r WHERE r.run_id = cancel_analysis.run_id);
  END IF;
  UPDATE ltv.analysis_runs r SET cancel_requested = true WHERE r.run_id = cancel_analysis.run_id;
  PERFORM ltv._signal_worker(cancel_analysis.run_id);
  RETURN 'cancelling';
END
$$;
COMMENT ON FUNCTION ltv.cancel_analysis(bigint) IS
  'Asks a queued or running analysis to stop; it ends with status cancelled and its partial results deleted';
