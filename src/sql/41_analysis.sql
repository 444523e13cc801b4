-- The analysis pipeline: option resolution, the stages, and the three entry points
-- ltv.run_analysis (this session), ltv.start_analysis (background worker), ltv.cancel_analysis.

-- low..vip as the class numbers 0..3 the forest uses, and back (NULL for NULL). Written as
-- CASE over enum constants so that the planner inlines them into the per-row queries
-- (enum_range is only STABLE, and neither STRICT nor non-IMMUTABLE bodies are inlined).
CREATE FUNCTION ltv._bucket_class(b ltv.bucket) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE b WHEN 'low'::ltv.bucket THEN 0 WHEN 'medium'::ltv.bucket THEN 1
                    WHEN 'high'::ltv.bucket THEN 2 WHEN 'vip'::ltv.bucket THEN 3 END $$;
CREATE FUNCTION ltv._class_bucket(c integer) RETURNS ltv.bucket
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE c WHEN 0 THEN 'low'::ltv.bucket WHEN 1 THEN 'medium'::ltv.bucket
                    WHEN 2 THEN 'high'::ltv.bucket WHEN 3 THEN 'vip'::ltv.bucket END $$;

-- The pipeline's model inputs for a stored feature row: the 18 features of
-- ltv.feature_vector, the spend in the horizon-length window before the cutoff (what the
-- naive rule looks at), and four ranks among the customers at the same cutoff.
CREATE FUNCTION ltv.model_feature_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT ltv.feature_names() || ARRAY['baseline_spend', 'baseline_spend_rank', 'monetary_rank',
                                    'frequency_rank', 'spend_90d_rank']
$$;

-- Not STRICT: the planner inlines it then (a STRICT SQL function whose body is not strict,
-- like the coalesce here, is called row by row instead: 5x slower on a million rows).
CREATE FUNCTION ltv.feature_vector(cf ltv.customer_features) RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT ARRAY[coalesce(cf.recency_days, -1), cf.frequency, cf.monetary, cf.avg_order_value,
             coalesce(cf.tenure_days, -1), cf.spend_30d, cf.spend_90d, cf.spend_180d, cf.spend_365d,
             cf.orders_30d, cf.orders_90d, cf.orders_180d, cf.orders_365d, cf.trend_90d,
             cf.returns_amount, cf.returns_count, cf.distinct_products,
             coalesce(cf.mean_days_between, -1),
             cf.baseline_spend, cf.baseline_spend_rank, cf.monetary_rank, cf.frequency_rank,
             cf.spend_90d_rank]::double precision[]
$$;

-- Checks the options of an analysis and fills in the defaults. Unknown keys and bad values
-- are errors (22023) naming the option. See the README, "Analysis options".
CREATE FUNCTION ltv._resolve_options(p_dataset ltv.datasets, p_options jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c_known constant text[] := ARRAY['cutoff', 'horizon', 'buckets', 'test_fraction', 'seed',
                                   'evaluation', 'backtest_folds', 'backtest_step',
                                   'stack_snapshots', 'stack_step', 'forest', 'min_customers'];
  v_opts jsonb := coalesce(p_options, '{}');
  v_key text;
  v_horizon interval;
  v_cutoff timestamp;
  v_test_fraction double precision;
  v_seed bigint;
  v_evaluation text;
  v_folds integer;
  v_backtest_step interval;
  v_stack integer;
  v_stack_step interval;
  v_forest jsonb;
  v_min_customers integer;
  v_buckets jsonb;
BEGIN
  IF jsonb_typeof(v_opts) <> 'object' THEN
    RAISE EXCEPTION 'analysis options must be a JSON object, got %', v_opts USING ERRCODE = '22023';
  END IF;
  FOR v_key IN SELECT jsonb_object_keys(v_opts) LOOP
    IF NOT v_key = ANY (c_known) THEN
      RAISE EXCEPTION 'unknown analysis option "%"', v_key USING ERRCODE = '22023',
        HINT = 'Valid options: ' || array_to_string(c_known, ', ') || '.';
    END IF;
  END LOOP;
  IF p_dataset.last_purchase IS NULL THEN
    RAISE EXCEPTION 'dataset % has no transactions to analyse', p_dataset.dataset_id USING ERRCODE = '22023';
  END IF;

  BEGIN
    v_horizon := coalesce(v_opts->>'horizon', '6 months')::interval;
  EXCEPTION WHEN others THEN
    RAISE EXCEPTION 'option "horizon" must be an interval such as "6 months", got %', v_opts->'horizon' USING ERRCODE = '22023';
  END;
  IF v_horizon <= interval '0' THEN
    RAISE EXCEPTION 'option "horizon" must be positive, got %', v_horizon USING ERRCODE = '22023';
  END IF;
  BEGIN
    v_cutoff := coalesce((v_opts->>'cutoff')::timestamp, p_dataset.last_purchase - v_horizon);
  EXCEPTION WHEN others THEN
    RAISE EXCEPTION 'option "cutoff" must be a timestamp such as "2011-06-01", got %', v_opts->'cutoff' USING ERRCODE = '22023';
  END;
  IF v_cutoff <= p_dataset.first_purchase THEN
    RAISE EXCEPTION 'cutoff % is not after the first purchase of dataset % (%): there is no history to learn from',
      v_cutoff, p_dataset.dataset_id, p_dataset.first_purchase USING ERRCODE = '22023',
      HINT = 'The data must span more than the horizon (' || v_horizon || '); choose a shorter "horizon".';
  END IF;
  IF v_cutoff + v_horizon > p_dataset.last_purchase THEN
    RAISE EXCEPTION 'cutoff % plus the horizon % passes the end of dataset % (%): the training labels would not be fully observed',
      v_cutoff, v_horizon, p_dataset.dataset_id, p_dataset.last_purchase USING ERRCODE = '22023';
  END IF;

  v_buckets := coalesce(v_opts->'buckets', '{}');
  IF jsonb_typeof(v_buckets) <> 'object' OR (v_buckets - 'quantiles' - 'amounts') <> '{}'
     OR (v_buckets ? 'quantiles' AND v_buckets ? 'amounts') THEN
    RAISE EXCEPTION 'option "buckets" must be {"quantiles": [q1, q2, q3]} or {"amounts": [c1, c2, c3]}, got %', v_buckets
      USING ERRCODE = '22023';
  END IF;

  IF v_buckets ? 'amounts' THEN
    BEGIN
      PERFORM ltv.spend_bucket(0, ARRAY(SELECT x::double precision FROM jsonb_array_elements_text(v_buckets->'amounts') x));
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'option "buckets": "amounts" must be three ascending amounts, got %', v_buckets->'amounts' USING ERRCODE = '22023';
    END;
  ELSIF v_buckets ? 'quantiles' THEN
    BEGIN
      PERFORM ltv.quantile_cut_points('{0}', ARRAY(SELECT x::double precision FROM jsonb_array_elements_text(v_buckets->'quantiles') x));
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'option "buckets": "quantiles" must be three ascending fractions in (0, 1), got %', v_buckets->'quantiles' USING ERRCODE = '22023';
    END;
  END IF;

  v_test_fraction := ltv._number_option(v_opts, 'test_fraction', 0.25, 0.05, 0.9);
  v_seed := ltv._number_option(v_opts, 'seed', 42, 0, 2147483647)::bigint;
  IF v_seed::double precision <> (ltv._number_option(v_opts, 'seed', 42, 0, 2147483647)) THEN
    RAISE EXCEPTION 'option "seed" must be a whole number' USING ERRCODE = '22023';
  END IF;
  v_evaluation := coalesce(v_opts->>'evaluation', 'split');
  IF v_evaluation NOT IN ('split', 'backtest') THEN
    RAISE EXCEPTION 'option "evaluation" must be "split" or "backtest", got %', v_opts->'evaluation' USING ERRCODE = '22023';
  END IF;
  v_folds := ltv._number_option(v_opts, 'backtest_folds', 3, 1, 12)::integer;
  -- Stacked snapshots pay off on small data (measured on Online Retail, README); on large
  -- datasets the extra rows cost minutes for no measurable gain, so the default is off there.
  v_stack := ltv._number_option(v_opts, 'stack_snapshots',
                                CASE WHEN p_dataset.customers > 100000 THEN 0 ELSE 3 END, 0, 24)::integer;
  v_min_customers := ltv._number_option(v_opts, 'min_customers', 20, 4, 1000000000)::integer;
  BEGIN
    v_backtest_step := coalesce(v_opts->>'backtest_step', '1 month')::interval;
    v_stack_step := coalesce(v_opts->>'stack_step', '1 month')::interval;
  EXCEPTION WHEN others THEN
    RAISE EXCEPTION 'options "backtest_step" and "stack_step" must be intervals such as "1 month"' USING ERRCODE = '22023';
  END;
  IF v_backtest_step <= interval '0' OR v_stack_step <= interval '0' THEN
    RAISE EXCEPTION 'options "backtest_step" and "stack_step" must be positive' USING ERRCODE = '22023';
  END IF;

  v_forest := coalesce(v_opts->'forest', '{}');
  IF jsonb_typeof(v_forest) <> 'object' THEN
    RAISE EXCEPTION 'option "forest" must be an object of ltv.rf_train parameters, got %', v_forest USING ERRCODE = '22023';
  END IF;
  IF v_forest ? 'feature_names' OR v_forest ? 'n_classes' THEN
    RAISE EXCEPTION 'option "forest" must not set "feature_names" or "n_classes": the analysis sets them' USING ERRCODE = '22023';
  END IF;
  -- Every feature at every split on small data: over six seeds on Online Retail it moved the
  -- lift over the baseline from -0.009 to -0.002 (README, "Model quality"). On large data it
  -- would make training several times slower for no measured gain, so sqrt there.
  v_forest := jsonb_build_object('n_trees', 200, 'min_samples_leaf', 3,
                                 'max_features', CASE WHEN p_dataset.customers > 100000 THEN 'sqrt' ELSE 'all' END,
                                 'class_weight', 'balanced', 'decision', 'tuned', 'seed', v_seed)
              || v_forest
              || jsonb_build_object('n_classes', 4, 'feature_names', to_jsonb(ltv.model_feature_names()));
  v_forest := ltv.rf_check_params(v_forest) - 'feature_names';

  RETURN jsonb_build_object(
    'cutoff', v_cutoff, 'horizon', v_horizon::text, 'buckets', v_buckets,
    'test_fraction', v_test_fraction, 'seed', v_seed, 'evaluation', v_evaluation,
    'backtest_folds', v_folds, 'backtest_step', v_backtest_step::text,
    'stack_snapshots', v_stack, 'stack_step', v_stack_step::text,
    'forest', v_forest, 'min_customers', v_min_customers,
    'as_of', date_trunc('day', p_dataset.last_purchase) + interval '1 day');
END
$$;

CREATE FUNCTION ltv._number_option(p_opts jsonb, p_key text, p_default double precision,
                                   p_min double precision, p_max double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v double precision;
BEGIN
  IF NOT p_opts ? p_key THEN RETURN p_default; END IF;
  IF jsonb_typeof(p_opts->p_key) <> 'number' THEN
    RAISE EXCEPTION 'option "%" must be a number, got %', p_key, p_opts->p_key USING ERRCODE = '22023';
  END IF;
  v := (p_opts->>p_key)::double precision;
  IF v < p_min OR v > p_max THEN
    RAISE EXCEPTION 'option "%" must be between % and %, got %', p_key, p_min, p_max, v USING ERRCODE = '22023';
  END IF;
  RETURN v;
END
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

-- One stage of a run. Every stage reads the run's settings and writes rows tagged with the
-- run id; the settings it adds (cut points) go back into ltv.analysis_runs.settings.
CREATE FUNCTION ltv._run_stage(p_run_id bigint, p_stage text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run ltv.analysis_runs;
  v_s jsonb;
  v_cutoff timestamp;
  v_horizon interval;
  v_result jsonb;
BEGIN
  SELECT * INTO STRICT v_run FROM ltv.analysis_runs WHERE run_id = p_run_id;
  v_s := v_run.settings;
  v_cutoff := (v_s->>'cutoff')::timestamp;
  v_horizon := (v_s->>'horizon')::interval;
  CASE p_stage
  WHEN 'features' THEN
    PERFORM ltv._stage_features(v_run, v_cutoff, v_horizon);
  WHEN 'labels' THEN
    PERFORM ltv._stage_labels(v_run, v_cutoff);
  WHEN 'training' THEN
    PERFORM ltv._stage_training(v_run);
  WHEN 'evaluation' THEN
    PERFORM ltv._stage_evaluation(v_run, v_cutoff, v_horizon);
  WHEN 'scoring' THEN
    -- Stored by the features stage, from the same scan as the training snapshot.
    IF NOT v_s ? 'scoring' THEN
      v_result := ltv.materialize_features(v_run.dataset_id, (v_s->>'as_of')::timestamp, v_horizon,
                                           v_s->'buckets', p_run_id);
      UPDATE ltv.analysis_runs SET settings = settings || jsonb_build_object('scoring', v_result)
       WHERE run_id = p_run_id;
    END IF;
  WHEN 'predictions' THEN
    PERFORM ltv._stage_predictions(v_run);
  ELSE
    RAISE EXCEPTION 'unknown analysis stage "%"', p_stage USING ERRCODE = 'XX000';
  END CASE;
END
$$;

-- Features and labels at the training cutoff, the stacked earlier snapshots, and the scoring
-- snapshot (features as of the run's as_of time, for the predictions), all from one scan of
-- the dataset's transactions (ltv._materialize_snapshots): the scoring stage finds its
-- snapshot stored already.
CREATE FUNCTION ltv._stage_features(v_run ltv.analysis_runs, v_cutoff timestamp, v_horizon interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_s jsonb := v_run.settings;
  v_cutoffs timestamp[] := ARRAY[v_cutoff];
  v_fractions double precision[] := ARRAY[(v_s->>'test_fraction')::double precision];
  v_results jsonb[];
  v_snapshots jsonb := '[]';
  v_first timestamp;
  v_at timestamp;
  k integer;
BEGIN
  SELECT d.first_purchase INTO v_first FROM ltv.datasets d WHERE d.dataset_id = v_run.dataset_id;
  FOR k IN 1 .. (v_s->>'stack_snapshots')::integer LOOP
    v_at := v_cutoff - k * (v_s->>'stack_step')::interval;
    EXIT WHEN v_at <= v_first;
    v_cutoffs := v_cutoffs || v_at;
    v_fractions := v_fractions || NULL::double precision;
  END LOOP;
  v_cutoffs := v_cutoffs || (v_s->>'as_of')::timestamp;
  v_fractions := v_fractions || NULL::double precision;
  v_results := ltv._materialize_snapshots(v_run.dataset_id, v_cutoffs, v_horizon, v_s->'buckets', v_run.run_id,
                                          v_fractions, (v_s->>'seed')::bigint);
  IF (v_results[1]->>'customers')::bigint < (v_s->>'min_customers')::bigint THEN
    RAISE EXCEPTION 'too few customers to train a model: % had purchases before the cutoff %, at least % are needed',
      v_results[1]->>'customers', v_cutoff, v_s->>'min_customers' USING ERRCODE = '22023',
      HINT = 'Import more data, or lower the option "min_customers".';
  END IF;
  FOR k IN 2 .. cardinality(v_results) - 1 LOOP
    v_snapshots := v_snapshots || jsonb_build_array(v_results[k]);
  END LOOP;
  UPDATE ltv.analysis_runs
     SET settings = settings || jsonb_build_object('training', v_results[1], 'stacked', v_snapshots,
                                                   'scoring', v_results[cardinality(v_results)])
   WHERE run_id = v_run.run_id;
END
$$;

-- The held-out split was drawn when the training snapshot was stored (materialize_features
-- with test_fraction and seed: stratified by true bucket, reproducible). Customers held out
-- there are left out of the stacked snapshots too.
-- (The feature rows were written in this run, before any ANALYZE: the planner thinks there
-- is one row and would pick a nested loop.)
CREATE FUNCTION ltv._stage_labels(v_run ltv.analysis_runs, v_cutoff timestamp)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = off
AS $$
DECLARE
  v_classes integer;
  v_test bigint;
BEGIN
  UPDATE ltv.customer_features cf SET split = 'train'
   WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff < v_cutoff
     AND cf.true_bucket IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM ltv.customer_features t
                      WHERE t.dataset_id = v_run.dataset_id AND coalesce(t.run_id, 0) = v_run.run_id
                        AND t.cutoff = v_cutoff AND t.customer_id = cf.customer_id AND t.split = 'test');
  SELECT count(DISTINCT true_bucket), count(*) FILTER (WHERE split = 'test') INTO v_classes, v_test
    FROM ltv.customer_features cf
   WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff = v_cutoff;
  IF v_classes < 2 THEN
    RAISE EXCEPTION 'every customer falls in the same bucket at cutoff %: there is nothing to learn', v_cutoff
      USING ERRCODE = '22023', HINT = 'Check the bucket cut points, or use more data.';
  END IF;
  IF v_test = 0 THEN
    RAISE EXCEPTION 'the held-out set is empty' USING ERRCODE = '22023',
      HINT = 'Raise the option "test_fraction" or use more data.';
  END IF;
END
$$;

-- Forest parameters for a training set of p_rows rows. Above 100,000 rows, unless the options
-- set them, each tree draws a bootstrap sample of 100,000 rows and leaves hold at least 10
-- customers: training time stops growing with the data while every row still reaches some
-- trees. Measured on 1M synthetic customers (438,013 training rows, held-out macro F1):
-- 200,000-row samples and leaves of 3 gave 0.552 in 57 s of training; 100,000 and 10 gave
-- 0.561 in 20 s (busy 2-core machine).
CREATE FUNCTION ltv._training_params(v_run ltv.analysis_runs, p_rows bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_params jsonb := v_run.settings->'forest';
  v_given jsonb := coalesce(v_run.options->'forest', '{}');
BEGIN
  IF p_rows > 100000 THEN
    IF NOT v_given ? 'sample_fraction' THEN
      v_params := v_params || jsonb_build_object('sample_fraction', round(100000.0 / p_rows, 6));
    END IF;
    IF NOT v_given ? 'min_samples_leaf' THEN
      v_params := v_params || jsonb_build_object('min_samples_leaf', 10);
    END IF;
  END IF;
  RETURN v_params;
END
$$;

-- The stored feature rows a run trains on: its training split (all snapshots up to the
-- training cutoff), or, for a backtest fold, every labelled row at p_cutoff. (A plain SQL
-- function: the planner inlines it, so the index on dataset, run and cutoff still applies;
-- the cutoff bound keeps the later scoring snapshot's rows out of the index scan.)
CREATE FUNCTION ltv._training_rows(v_run ltv.analysis_runs, p_cutoff timestamp)
RETURNS SETOF ltv.customer_features
LANGUAGE sql STABLE  -- no SET clause: a function with one is never inlined
AS $$
SELECT * FROM ltv.customer_features cf
 WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id
   AND cf.cutoff <= coalesce(p_cutoff, (v_run.settings->>'cutoff')::timestamp)
   AND CASE WHEN p_cutoff IS NULL THEN cf.split = 'train'
            ELSE cf.cutoff = p_cutoff AND cf.true_bucket IS NOT NULL END
$$;

-- Trains the run's forest on ltv._training_rows(v_run, p_cutoff).
CREATE FUNCTION ltv._train_model(v_run ltv.analysis_runs, p_cutoff timestamp,
                                 OUT model bytea, OUT parameters jsonb, OUT training_rows bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_params jsonb;
BEGIN
  SELECT count(*) INTO training_rows FROM ltv._training_rows(v_run, p_cutoff);
  parameters := ltv._training_params(v_run, training_rows);
  -- Built once: an aggregate's arguments are evaluated for every row, and building this
  -- jsonb took ~5 us a row (2.3 s of training on a million customers).
  v_params := parameters || jsonb_build_object('feature_names', to_jsonb(ltv.model_feature_names()));
  SELECT ltv.rf_train(ltv.feature_vector(cf), ltv._bucket_class(cf.true_bucket), v_params)
    INTO model
    FROM ltv._training_rows(v_run, p_cutoff) cf;
END
$$;

CREATE FUNCTION ltv._stage_training(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_trained record;
BEGIN
  v_trained := ltv._train_model(v_run, NULL);
  INSERT INTO ltv.models (run_id, dataset_id, parameters, feature_names, training_rows, model)
  VALUES (v_run.run_id, v_run.dataset_id, v_trained.parameters, ltv.model_feature_names(),
          v_trained.training_rows, v_trained.model);
END
$$;

-- Scores of the model and of the naive baseline on the held-out customers (and, in backtest
-- mode, on later snapshots with models trained on earlier ones).
CREATE FUNCTION ltv._stage_evaluation(v_run ltv.analysis_runs, v_cutoff timestamp, v_horizon interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_model bytea;
  v_eval jsonb;
  v_info jsonb;
  v_metrics jsonb;
  v_backtest jsonb;
BEGIN
  SELECT m.model INTO STRICT v_model FROM ltv.models m WHERE m.run_id = v_run.run_id;
  v_eval := ltv._evaluate(v_model, v_run.dataset_id, v_run.run_id, v_cutoff, true);
  v_info := ltv.rf_info(v_model);
  v_metrics := v_eval || jsonb_build_object(
    'evaluation', 'split',
    'feature_importance', v_info->'feature_importance',
    'out_of_bag', v_info->'training',
    'decision', v_info->'params'->'decision');
  IF v_run.settings->>'evaluation' = 'backtest' THEN
    v_backtest := ltv._backtest(v_run, v_cutoff, v_horizon);
    v_metrics := v_metrics || jsonb_build_object('evaluation', 'backtest', 'backtest', v_backtest);
  END IF;
  UPDATE ltv.models SET metrics = v_metrics WHERE run_id = v_run.run_id;
END
$$;

-- Model and baseline scores on the stored feature rows of a run at a cutoff: the held-out
-- rows (p_test_only) or all rows with an observed label.
CREATE FUNCTION ltv._evaluate(p_model bytea, p_dataset_id bigint, p_run_id bigint,
                              p_cutoff timestamp, p_test_only boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'  -- as _stage_predictions: the prediction rows stay in memory
AS $$
DECLARE
  v_truth integer[];
  v_pred integer[];
  v_base integer[];
  v_model jsonb;
  v_baseline jsonb;
BEGIN
  WITH rows AS (
    SELECT cf.customer_id, ltv.feature_vector(cf) AS v, ltv._bucket_class(cf.true_bucket) AS truth,
           ltv._bucket_class(cf.baseline_bucket) AS base
      FROM ltv.customer_features cf
     WHERE cf.dataset_id = p_dataset_id AND coalesce(cf.run_id, 0) = p_run_id AND cf.cutoff = p_cutoff
       AND cf.true_bucket IS NOT NULL AND (NOT p_test_only OR cf.split = 'test')),
  -- (No ORDER BY in these aggregates: arrays built from the same rows line up, and sorting
  -- a million feature vectors twice cost seconds.)
  batch AS (SELECT array_agg(customer_id) AS ids, array_agg(v) AS vs FROM rows)
  SELECT array_agg(r.truth), array_agg(p.class), array_agg(r.base)
    INTO v_truth, v_pred, v_base
    FROM batch CROSS JOIN LATERAL ltv.rf_predict_batch(p_model, batch.ids, batch.vs) p
    JOIN rows r ON r.customer_id = p.key
   WHERE batch.ids IS NOT NULL;
  IF v_truth IS NULL THEN
    RAISE EXCEPTION 'no customers with an observed label to evaluate at %', p_cutoff USING ERRCODE = '22023';
  END IF;
  v_model := ltv.classification_metrics(v_truth, v_pred, 4);
  v_baseline := ltv.classification_metrics(v_truth, v_base, 4);
  RETURN jsonb_build_object(
    'cutoff', p_cutoff,
    'test_customers', cardinality(v_truth),
    'macro_f1', v_model->'macro_f1',
    'accuracy', v_model->'accuracy',
    'per_class', v_model->'per_class',
    'confusion_matrix', v_model->'confusion_matrix',
    'baseline', v_baseline,
    'lift_macro_f1', (v_model->>'macro_f1')::double precision - (v_baseline->>'macro_f1')::double precision);
END
$$;

-- Temporal backtest: for each fold k, a model trained on the snapshot one horizon before the
-- evaluation cutoff (cutoff - k * step) is scored on every customer at that cutoff.
CREATE FUNCTION ltv._backtest(v_run ltv.analysis_runs, v_cutoff timestamp, v_horizon interval)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_s jsonb := v_run.settings;
  v_first timestamp;
  v_eval_at timestamp;
  v_train_at timestamp;
  v_model bytea;
  v_folds jsonb := '[]';
  v_fold jsonb;
  k integer;
BEGIN
  SELECT d.first_purchase INTO v_first FROM ltv.datasets d WHERE d.dataset_id = v_run.dataset_id;
  FOR k IN 0 .. (v_s->>'backtest_folds')::integer - 1 LOOP
    v_eval_at := v_cutoff - k * (v_s->>'backtest_step')::interval;
    v_train_at := v_eval_at - v_horizon;
    IF v_train_at <= v_first + interval '30 days' THEN
      IF k = 0 THEN
        RAISE EXCEPTION 'the data does not span enough time for a temporal backtest: training at % needs at least 30 days of history before it (the data starts %)',
          v_train_at, v_first USING ERRCODE = '22023',
          HINT = 'Use a shorter "horizon", fewer "backtest_folds", or "evaluation": "split".';
      END IF;
      EXIT;
    END IF;
    IF k > 0 THEN
      PERFORM ltv.materialize_features(v_run.dataset_id, v_eval_at, v_horizon, v_s->'buckets', v_run.run_id);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ltv.customer_features cf WHERE cf.dataset_id = v_run.dataset_id
                     AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff = v_train_at) THEN
      PERFORM ltv.materialize_features(v_run.dataset_id, v_train_at, v_horizon, v_s->'buckets', v_run.run_id);
    END IF;
    v_model := (ltv._train_model(v_run, v_train_at)).model;
    v_fold := ltv._evaluate(v_model, v_run.dataset_id, v_run.run_id, v_eval_at, false);
    v_folds := v_folds || jsonb_build_array(v_fold || jsonb_build_object('trained_at', v_train_at));
  END LOOP;
  RETURN jsonb_build_object(
    'folds', v_folds,
    'mean_macro_f1', (SELECT avg((f->>'macro_f1')::double precision) FROM jsonb_array_elements(v_folds) f),
    'mean_baseline_macro_f1', (SELECT avg((f->'baseline'->>'macro_f1')::double precision) FROM jsonb_array_elements(v_folds) f));
END
$$;

-- (work_mem 256MB: ltv.rf_predict_batch returns its rows through a tuplestore, which spilled a
-- million customers' predictions to disk at the usual 4-64MB. The setting holds for this
-- function's statements only; no hash or sort node here comes near it.)
CREATE FUNCTION ltv._stage_predictions(v_run ltv.analysis_runs)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
AS $$
DECLARE
  v_model bytea;
  v_as_of timestamp := (v_run.settings->>'as_of')::timestamp;
BEGIN
  SELECT m.model INTO STRICT v_model FROM ltv.models m WHERE m.run_id = v_run.run_id;
  INSERT INTO ltv.predictions (run_id, dataset_id, customer_id, as_of, bucket, p_low, p_medium, p_high, p_vip)
  WITH batch AS (
    SELECT array_agg(cf.customer_id) AS ids, array_agg(ltv.feature_vector(cf)) AS vs
      FROM ltv.customer_features cf
     WHERE cf.dataset_id = v_run.dataset_id AND coalesce(cf.run_id, 0) = v_run.run_id AND cf.cutoff = v_as_of)
  SELECT v_run.run_id, v_run.dataset_id, p.key, v_as_of, ltv._class_bucket(p.class),
         p.probabilities[1], p.probabilities[2], p.probabilities[3], p.probabilities[4]
    FROM batch CROSS JOIN LATERAL ltv.rf_predict_batch(v_model, batch.ids, batch.vs) p
   WHERE batch.ids IS NOT NULL;
END
$$;

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
  IF v_run.status NOT IN ('queued', 'running') THEN
    PERFORM ltv._reap_runs(v_run.dataset_id);
    RETURN (SELECT r.status FROM ltv.analysis_runs r WHERE r.run_id = cancel_analysis.run_id);
  END IF;
  UPDATE ltv.analysis_runs r SET cancel_requested = true WHERE r.run_id = cancel_analysis.run_id;
  IF v_run.worker_pid IS NOT NULL AND v_run.worker_pid <> pg_backend_pid() THEN
    PERFORM pg_cancel_backend(v_run.worker_pid);
  END IF;
  RETURN 'cancelling';
END
$$;
COMMENT ON FUNCTION ltv.cancel_analysis(bigint) IS
  'Asks a queued or running analysis to stop; it ends with status cancelled and its partial results deleted';
