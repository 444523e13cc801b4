-- ltv.predict: scores a dataset's customers as of any time, with a stored model or with what a
-- run serves. Features are computed as the analysis computes them (ltv._materialize_snapshots,
-- into a temp table) and the model's input vectors are built by the names the model records,
-- so any stored model can be scored.

CREATE FUNCTION ltv._predict_snapshot(p_dataset_id bigint, p_as_of timestamp, p_horizon interval,
                                      p_buckets jsonb)
RETURNS timestamp
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_dataset ltv.datasets;
  v_as_of timestamp := p_as_of;
BEGIN
  SELECT * INTO v_dataset FROM ltv.datasets d WHERE d.dataset_id = p_dataset_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset % does not exist', p_dataset_id USING ERRCODE = 'P0002';
  END IF;
  IF v_dataset.last_purchase IS NULL THEN
    RAISE EXCEPTION 'dataset % has no transactions', p_dataset_id USING ERRCODE = '22023';
  END IF;
  v_as_of := coalesce(v_as_of, ltv._default_as_of(v_dataset.last_purchase));
  DROP TABLE IF EXISTS pg_temp.ltv_predict_features;
  CREATE TEMP TABLE ltv_predict_features (LIKE ltv.customer_features) ON COMMIT DROP;
  PERFORM ltv._materialize_snapshots(p_dataset_id, ARRAY[v_as_of], p_horizon, coalesce(p_buckets, '{}'), NULL,
                                     ARRAY[NULL::double precision], 0, 'pg_temp.ltv_predict_features'::regclass);
  RETURN v_as_of;
END
$$;

-- With a model: the forest's own decision and probabilities.
CREATE FUNCTION ltv.predict(model bytea, dataset_id bigint, as_of timestamp DEFAULT NULL,
                            horizon interval DEFAULT '6 months')
RETURNS TABLE (customer_id text, bucket ltv.bucket, p_low double precision,
               p_medium double precision, p_high double precision, p_vip double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
  v_as_of timestamp := ltv._predict_snapshot(predict.dataset_id, predict.as_of, predict.horizon, '{}');
  v_in record;
BEGIN
  v_in := ltv._snapshot_inputs(model, 'pg_temp.ltv_predict_features', predict.dataset_id, NULL, v_as_of, false);
  RETURN QUERY
  SELECT u.id, ltv._class_bucket(u.c), u.pl, u.pm, u.ph, u.pv
    FROM unnest(v_in.ids, v_in.model_class, v_in.p_low, v_in.p_medium, v_in.p_high, v_in.p_vip) u(id, c, pl, pm, ph, pv);
END
$$;
COMMENT ON FUNCTION ltv.predict(bytea, bigint, timestamp, interval) IS
  'The model''s bucket and class probabilities for every customer of a dataset with a purchase before as_of (default: the day after the last purchase); features as the analysis computes them (horizon sets the window features), input vectors by the names the model records';

-- With a run: what the run serves (its chosen candidate: the forest, a rank blend, or the naive
-- rule), for any time; at the run's own as_of it returns ltv.predictions of the run.
CREATE FUNCTION ltv.predict(run_id bigint, as_of timestamp DEFAULT NULL)
RETURNS TABLE (customer_id text, bucket ltv.bucket, p_low double precision,
               p_medium double precision, p_high double precision, p_vip double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
  v_run ltv.analysis_runs;
  v_as_of timestamp;
BEGIN
  SELECT * INTO v_run FROM ltv.analysis_runs r WHERE r.run_id = predict.run_id;
  IF NOT FOUND OR v_run.status <> 'succeeded' THEN
    RAISE EXCEPTION 'analysis run % does not exist or did not succeed', predict.run_id USING ERRCODE = 'P0002';
  END IF;
  v_as_of := ltv._predict_snapshot(v_run.dataset_id, coalesce(predict.as_of, (v_run.settings->>'as_of')::timestamp),
                                   (v_run.settings->>'horizon')::interval, v_run.settings->'buckets');
  RETURN QUERY SELECT * FROM ltv._served(predict.run_id, 'pg_temp.ltv_predict_features', NULL, v_as_of);
END
$$;
COMMENT ON FUNCTION ltv.predict(bigint, timestamp) IS
  'What an analysis run serves (its chosen candidate) for every customer of its dataset as of a time (default: the run''s own as_of)';
