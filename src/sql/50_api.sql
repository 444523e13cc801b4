-- Schema ltv_api: one function per endpoint of the dashboard's HTTP API (PostgREST
-- conventions, shapes in docs/api.md). They run as the caller (the role the request's token
-- names, ltv_web without one), so the privileges and row-level security of
-- src/sql/55_security.sql decide what each role may do; search_path is pinned and every
-- argument is a value.
--
-- SQLSTATEs follow PostgREST's mapping to HTTP: PT404 -> 404, PT409 -> 409, PT429 -> 429,
-- 22xxx / 42703 -> 400, 54000 -> 413, 42501 -> 401 without a token, 403 with one.

CREATE SCHEMA ltv_api;
COMMENT ON SCHEMA ltv_api IS 'retail_ltv HTTP API for PostgREST (POST /rpc/<function>); see docs/api.md';

-- Dataset row as the API shows it.
CREATE FUNCTION ltv._api_dataset_json(p_dataset_id bigint)
RETURNS json
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT json_build_object(
         'dataset_id', d.dataset_id, 'name', d.name, 'source', d.source, 'status', d.status, 'owner', d.owner,
         'created_at', d.created_at, 'rows_read', d.rows_read, 'rows_loaded', d.rows_loaded,
         'rows_rejected', d.rows_rejected, 'rows_excluded', d.rows_excluded,
         'customers', d.customers, 'first_purchase', d.first_purchase,
         'last_purchase', d.last_purchase, 'cleaning_report', d.cleaning_report,
         'latest_run', (SELECT json_build_object('run_id', r.run_id, 'status', r.status,
                                                 'finished_at', r.finished_at)
                          FROM ltv.runs r WHERE r.dataset_id = d.dataset_id
                         ORDER BY r.run_id DESC LIMIT 1))
  FROM ltv.datasets d
 WHERE d.dataset_id = p_dataset_id
$$;

CREATE FUNCTION ltv._api_require_dataset(p_dataset_id bigint)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_dataset_id IS NULL THEN
    RAISE EXCEPTION 'dataset_id is required' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM ltv.datasets d WHERE d.dataset_id = p_dataset_id AND d.status = 'ready') THEN
    RAISE EXCEPTION 'dataset % does not exist', p_dataset_id USING ERRCODE = 'PT404';
  END IF;
END
$$;

-- The succeeded run to show: the given one (which must belong to the dataset) or the latest.
CREATE FUNCTION ltv._api_pick_run(p_dataset_id bigint, p_run_id bigint)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
BEGIN
  PERFORM ltv._api_require_dataset(p_dataset_id);
  IF p_run_id IS NULL THEN
    v_run := ltv.latest_run(p_dataset_id);
    IF v_run IS NULL THEN
      RAISE EXCEPTION 'dataset % has no finished analysis yet', p_dataset_id USING ERRCODE = 'PT404',
        HINT = 'Start one with run_analysis and wait until analysis_status says succeeded.';
    END IF;
    RETURN v_run;
  END IF;
  SELECT r.run_id INTO v_run FROM ltv.analysis_runs r
   WHERE r.run_id = p_run_id AND r.dataset_id = p_dataset_id AND r.status = 'succeeded';
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset % has no succeeded analysis run %', p_dataset_id, p_run_id USING ERRCODE = 'PT404';
  END IF;
  RETURN v_run;
END
$$;

CREATE FUNCTION ltv._api_check_segment(p_segment text)
RETURNS ltv.bucket
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_segment IS NULL OR p_segment = '' THEN RETURN NULL; END IF;
  IF NOT p_segment = ANY (enum_range(NULL::ltv.bucket)::text[]) THEN
    RAISE EXCEPTION 'segment must be one of low, medium, high, vip; got "%"', ltv._excerpt(p_segment) USING ERRCODE = '22023';
  END IF;
  RETURN p_segment::ltv.bucket;
END
$$;

-- What both uploads check before importing: a file that is not empty, options that are an
-- object, and the role's upload quota (admins have none).
CREATE FUNCTION ltv._api_check_upload(p_size bigint, p_options jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_size = 0 THEN
    RAISE EXCEPTION 'the uploaded file is empty' USING ERRCODE = '22023';
  END IF;
  IF jsonb_typeof(p_options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF NOT ltv.is_admin() AND p_size > ltv._quota('api_max_upload_megabytes')::bigint * 1048576 THEN
    RAISE EXCEPTION 'the uploaded file (% bytes) is larger than the quota of role "%" (ltv.api_max_upload_megabytes = %)',
      p_size, current_user, ltv._quota('api_max_upload_megabytes') USING ERRCODE = '54000';
  END IF;
END
$$;

CREATE FUNCTION ltv_api.upload_dataset(name text, csv text, options jsonb DEFAULT '{}')
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_options jsonb := coalesce(options, '{}');
  v_id bigint;
BEGIN
  PERFORM ltv._api_check_upload(coalesce(octet_length(csv), 0), v_options);
  -- The text is already decoded (to the database encoding); its bytes are in that encoding.
  IF getdatabaseencoding() = 'UTF8' AND NOT v_options ? 'encoding' THEN
    v_options := v_options || '{"encoding": "utf-8"}';
  END IF;
  v_id := ltv.import_csv(upload_dataset.name, convert_to(csv, getdatabaseencoding()), v_options);
  RETURN ltv._api_upload_result(v_id);
END
$$;

-- What an upload returns: the dataset and its first rejected rows.
CREATE FUNCTION ltv._api_upload_result(p_dataset_id bigint)
RETURNS json
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT json_build_object(
    'dataset', ltv._api_dataset_json(p_dataset_id),
    'rejected_rows', (SELECT coalesce(json_agg(json_build_object('line_no', r.line_no, 'reason', r.reason, 'raw', r.raw)
                                               ORDER BY r.line_no), '[]')
                        FROM (SELECT * FROM ltv.rejected_rows rr WHERE rr.dataset_id = p_dataset_id
                               ORDER BY rr.line_no LIMIT 20) r),
    'rejected_rows_total', (SELECT count(*) FROM ltv.rejected_rows rr WHERE rr.dataset_id = p_dataset_id))
$$;

-- The same upload from a large object that the calling transaction created and filled
-- (lo_from_bytea / lo_put, in pieces as the file arrives): the file's bytes are never one
-- argument, so neither the client nor the server holds the whole upload twice. The local
-- server turns POST /rpc/upload_dataset into this call as the body streams in (docs/api.md).
-- Only an object created by this very transaction is read, so a call cannot import an object
-- someone else left behind. The object is deleted after the import. Runs as the caller, like
-- every ltv_api function: the upload quota of ltv_api.upload_dataset applies.
CREATE FUNCTION ltv_api.upload_dataset_object(name text, object oid, options jsonb DEFAULT '{}')
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_options jsonb := coalesce(options, '{}');
  v_id bigint;
  v_size bigint;
BEGIN
  IF object IS NULL OR NOT EXISTS (SELECT 1 FROM pg_largeobject_metadata m
                                    WHERE m.oid = upload_dataset_object.object AND age(m.xmin) = 0) THEN
    RAISE EXCEPTION 'large object % was not created by this transaction', object USING ERRCODE = '22023',
      HINT = 'Create it with lo_from_bytea or lo_create in the same transaction as this call.';
  END IF;
  v_size := lo_lseek64(lo_open(object, x'40000'::integer), 0, 2);  -- read mode; seek to the end
  PERFORM ltv._api_check_upload(v_size, v_options);
  -- lo_get's result goes straight into the call: a plpgsql variable would copy it.
  v_id := ltv.import_csv(upload_dataset_object.name, lo_get(object), v_options);
  PERFORM lo_unlink(object);
  RETURN ltv._api_upload_result(v_id);
END
$$;

CREATE FUNCTION ltv_api.datasets()
RETURNS json
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce(json_agg(ltv._api_dataset_json(d.dataset_id) ORDER BY d.dataset_id DESC), '[]')
  FROM ltv.datasets d WHERE d.status = 'ready'
$$;

CREATE FUNCTION ltv_api.run_analysis(dataset_id bigint, options jsonb DEFAULT '{}')
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- What a user chooses (the options marked api in core/analysis/options.h); the forest's
  -- internals and the evaluation's sizes are SQL's (ltv.start_analysis), within the role's quotas.
  c_api_options constant text[] := ARRAY(SELECT o.name FROM ltv.analysis_options() o WHERE o.api);
  v_options jsonb := coalesce(options, '{}');
  v_key text;
  v_run bigint;
  v_message text;
  v_hint text;
BEGIN
  IF jsonb_typeof(v_options) <> 'object' THEN
    RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
  END IF;
  SELECT k INTO v_key FROM jsonb_object_keys(v_options) k WHERE NOT k = ANY (c_api_options) ORDER BY k LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the API does not accept analysis option "%"', ltv._excerpt(v_key) USING ERRCODE = '22023',
      HINT = 'Options of the API: ' || array_to_string(c_api_options, ', ') || '. The others are set from SQL (ltv.start_analysis).';
  END IF;
  PERFORM ltv._api_require_dataset(run_analysis.dataset_id);
  BEGIN
    v_run := ltv.start_analysis(run_analysis.dataset_id, v_options);
  EXCEPTION WHEN object_in_use THEN
    RAISE EXCEPTION 'an analysis of dataset % is already in progress', run_analysis.dataset_id
      USING ERRCODE = 'PT409', HINT = 'Follow it with analysis_status, or cancel it with cancel_analysis.';
  WHEN configuration_limit_exceeded THEN
    GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_hint = PG_EXCEPTION_HINT;
    RAISE EXCEPTION '%', v_message USING ERRCODE = 'PT429', HINT = v_hint;
  END;
  RETURN json_build_object('run_id', v_run, 'dataset_id', run_analysis.dataset_id, 'status', 'queued');
END
$$;

CREATE FUNCTION ltv_api.cancel_analysis(run_id bigint)
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_dataset bigint;
  v_status text;
BEGIN
  SELECT r.dataset_id INTO v_dataset FROM ltv.analysis_runs r WHERE r.run_id = cancel_analysis.run_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'analysis run % does not exist', cancel_analysis.run_id USING ERRCODE = 'PT404';
  END IF;
  v_status := ltv.cancel_analysis(cancel_analysis.run_id);
  RETURN json_build_object('run_id', cancel_analysis.run_id, 'dataset_id', v_dataset, 'status', v_status);
END
$$;

CREATE FUNCTION ltv_api.delete_dataset(dataset_id bigint)
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM ltv._api_require_dataset(delete_dataset.dataset_id);
  PERFORM ltv.delete_dataset(delete_dataset.dataset_id);
  RETURN json_build_object('dataset_id', delete_dataset.dataset_id, 'deleted', true);
END
$$;

CREATE FUNCTION ltv_api.analysis_status(dataset_id bigint)
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run ltv.runs;
  v_index integer;
BEGIN
  PERFORM ltv._api_require_dataset(analysis_status.dataset_id);
  PERFORM ltv._reap_runs(analysis_status.dataset_id);
  SELECT * INTO v_run FROM ltv.runs r WHERE r.dataset_id = analysis_status.dataset_id
   ORDER BY r.run_id DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN json_build_object(
      'dataset_id', analysis_status.dataset_id, 'run_id', NULL, 'status', 'none', 'stage', NULL,
      'stage_label', NULL, 'progress', 0, 'error', NULL, 'created_at', NULL, 'started_at', NULL,
      'finished_at', NULL, 'timings_ms', '{}'::json,
      'stages', (SELECT json_agg(json_build_object('stage', s.stage, 'label', s.label, 'state', 'pending')
                                 ORDER BY s.starts_at) FROM ltv._analysis_stages() s));
  END IF;
  SELECT n INTO v_index FROM (SELECT s.stage, row_number() OVER (ORDER BY s.starts_at) AS n
                                FROM ltv._analysis_stages() s) x WHERE x.stage = v_run.stage;
  RETURN json_build_object(
    'dataset_id', v_run.dataset_id, 'run_id', v_run.run_id, 'status', v_run.status,
    'stage', v_run.stage,
    'stage_label', (SELECT s.label FROM ltv._analysis_stages() s WHERE s.stage = v_run.stage),
    'progress', v_run.progress, 'error', v_run.error,
    'created_at', v_run.created_at, 'started_at', v_run.started_at, 'finished_at', v_run.finished_at,
    'timings_ms', v_run.timings,
    'stages', (SELECT json_agg(json_build_object(
                 'stage', x.stage, 'label', x.label,
                 'state', CASE WHEN v_run.status = 'succeeded' THEN 'done'
                               WHEN v_index IS NULL THEN 'pending'
                               WHEN x.n < v_index THEN 'done'
                               WHEN x.n = v_index THEN
                                 CASE WHEN v_run.status IN ('failed', 'cancelled') THEN 'failed' ELSE 'running' END
                               ELSE 'pending' END) ORDER BY x.n)
                 FROM (SELECT s.stage, s.label, row_number() OVER (ORDER BY s.starts_at) AS n
                         FROM ltv._analysis_stages() s) x));
END
$$;

-- The customers of a run that pass the dashboard's filters (first purchase in
-- [from, to], one bucket): shared by segments and cohorts.
CREATE FUNCTION ltv._api_filtered_customers(p_run_id bigint, p_from date, p_to date, p_segment ltv.bucket)
RETURNS SETOF ltv.customer_detail
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT * FROM ltv.customer_detail d
 WHERE d.run_id = p_run_id
   AND (p_from IS NULL OR d.first_purchase >= p_from)
   AND (p_to IS NULL OR d.first_purchase < p_to + 1)
   AND (p_segment IS NULL OR d.bucket = p_segment)
$$;

CREATE FUNCTION ltv_api.segments(dataset_id bigint, run_id bigint DEFAULT NULL,
                                 first_purchase_from date DEFAULT NULL,
                                 first_purchase_to date DEFAULT NULL,
                                 segment text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint := ltv._api_pick_run(segments.dataset_id, segments.run_id);
  v_segment ltv.bucket := ltv._api_check_segment(segment);
  v_total bigint;
BEGIN
  SELECT count(*) INTO v_total FROM ltv._api_filtered_customers(v_run, first_purchase_from, first_purchase_to, v_segment) d;
  RETURN json_build_object(
    'dataset_id', segments.dataset_id, 'run_id', v_run,
    'as_of', (SELECT r.settings->>'as_of' FROM ltv.analysis_runs r WHERE r.run_id = v_run),
    'customers', v_total,
    'segments', (
      SELECT json_agg(json_build_object(
               'bucket', b.bucket, 'customers', coalesce(a.customers, 0),
               'share', CASE WHEN v_total > 0 THEN round(coalesce(a.customers, 0)::numeric / v_total, 4) ELSE 0 END,
               'past_spend', coalesce(a.past_spend, 0), 'avg_past_spend', a.avg_past_spend,
               'avg_orders', a.avg_orders, 'avg_recency_days', a.avg_recency_days,
               'avg_probability', a.avg_probability) ORDER BY b.bucket)
        FROM unnest(enum_range(NULL::ltv.bucket)) AS b(bucket)
        LEFT JOIN (
          SELECT d.bucket, count(*) AS customers, round(sum(d.past_spend)::numeric, 2) AS past_spend,
                 round(avg(d.past_spend)::numeric, 2) AS avg_past_spend,
                 round(avg(d.orders)::numeric, 2) AS avg_orders,
                 round(avg(d.recency_days)::numeric, 1) AS avg_recency_days,
                 round(avg(d.bucket_probability)::numeric, 4) AS avg_probability
            FROM ltv._api_filtered_customers(v_run, first_purchase_from, first_purchase_to, v_segment) d
           GROUP BY d.bucket) a ON a.bucket = b.bucket));
END
$$;

CREATE FUNCTION ltv_api.cohorts(dataset_id bigint, run_id bigint DEFAULT NULL,
                                first_purchase_from date DEFAULT NULL,
                                first_purchase_to date DEFAULT NULL,
                                segment text DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint := ltv._api_pick_run(cohorts.dataset_id, cohorts.run_id);
  v_segment ltv.bucket := ltv._api_check_segment(segment);
BEGIN
  RETURN (
    WITH cells AS (
      SELECT d.cohort_month, d.bucket, count(*) AS customers,
             round(sum(d.past_spend)::numeric, 2) AS past_spend,
             round(avg(d.bucket_probability)::numeric, 4) AS mean_probability
        FROM ltv._api_filtered_customers(v_run, first_purchase_from, first_purchase_to, v_segment) d
       GROUP BY d.cohort_month, d.bucket),
    months AS (
      SELECT c.cohort_month, sum(c.customers) AS customers,
             coalesce(sum(c.customers) FILTER (WHERE c.bucket = 'low'), 0) AS low,
             coalesce(sum(c.customers) FILTER (WHERE c.bucket = 'medium'), 0) AS medium,
             coalesce(sum(c.customers) FILTER (WHERE c.bucket = 'high'), 0) AS high,
             coalesce(sum(c.customers) FILTER (WHERE c.bucket = 'vip'), 0) AS vip
        FROM cells c GROUP BY c.cohort_month)
    SELECT json_build_object(
      'dataset_id', cohorts.dataset_id, 'run_id', v_run,
      'months', (SELECT coalesce(json_agg(json_build_object(
                          'cohort_month', m.cohort_month, 'customers', m.customers, 'low', m.low,
                          'medium', m.medium, 'high', m.high, 'vip', m.vip) ORDER BY m.cohort_month), '[]')
                   FROM months m),
      'cells', (SELECT coalesce(json_agg(json_build_object(
                         'cohort_month', c.cohort_month, 'bucket', c.bucket, 'customers', c.customers,
                         'share', round(c.customers::numeric / m.customers, 4),
                         'past_spend', c.past_spend, 'mean_probability', c.mean_probability)
                         ORDER BY c.cohort_month, c.bucket), '[]')
                  FROM cells c JOIN months m USING (cohort_month))));
END
$$;

CREATE FUNCTION ltv_api.customer(dataset_id bigint, customer_id text)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
  v_detail ltv.customer_detail;
  v_features json;
  v_history json;
BEGIN
  PERFORM ltv._api_require_dataset(customer.dataset_id);
  IF customer.customer_id IS NULL OR btrim(customer.customer_id) = '' THEN
    RAISE EXCEPTION 'customer_id is required' USING ERRCODE = '22023';
  END IF;
  SELECT json_build_object(
           'first_purchase', min(t.invoice_time), 'last_purchase', max(t.invoice_time),
           'orders', count(DISTINCT t.invoice) FILTER (WHERE NOT t.is_return),
           'lines', count(*),
           'net_spend', round(sum(t.amount)::numeric, 2),
           'returns_amount', round(coalesce(-sum(t.amount) FILTER (WHERE t.is_return), 0)::numeric, 2),
           'countries', (SELECT json_agg(DISTINCT c.country) FROM ltv.transactions c
                          WHERE c.dataset_id = customer.dataset_id AND c.customer_id = btrim(customer.customer_id)),
           'monthly', (SELECT json_agg(json_build_object('month', m.month, 'spend', m.spend, 'orders', m.orders) ORDER BY m.month)
                         FROM (SELECT date_trunc('month', x.invoice_time)::date AS month,
                                      round(sum(x.amount)::numeric, 2) AS spend,
                                      count(DISTINCT x.invoice) FILTER (WHERE NOT x.is_return) AS orders
                                 FROM ltv.transactions x
                                WHERE x.dataset_id = customer.dataset_id AND x.customer_id = btrim(customer.customer_id)
                                GROUP BY 1) m))
    INTO v_history
    FROM ltv.transactions t
   WHERE t.dataset_id = customer.dataset_id AND t.customer_id = btrim(customer.customer_id)
  HAVING count(*) > 0;
  IF v_history IS NULL THEN
    RAISE EXCEPTION 'customer "%" is not in dataset %', customer.customer_id, customer.dataset_id USING ERRCODE = 'PT404';
  END IF;
  v_run := ltv.latest_run(customer.dataset_id);
  SELECT * INTO v_detail FROM ltv.customer_detail d
   WHERE d.run_id = v_run AND d.customer_id = btrim(customer.customer_id);
  IF FOUND THEN
    -- Every model input by its registry name (ltv.feature_registry()).
    v_features := (SELECT json_object_agg(r.name, to_jsonb(v_detail)->r.name ORDER BY r.ordinal)
                     FROM ltv.feature_registry() r WHERE r.model_input);
  END IF;
  RETURN json_build_object(
    'dataset_id', customer.dataset_id,
    'run_id', CASE WHEN v_detail.customer_id IS NOT NULL THEN v_run END,
    'customer_id', btrim(customer.customer_id),
    'as_of', v_detail.as_of,
    'predicted_bucket', v_detail.bucket,
    'probabilities', CASE WHEN v_detail.customer_id IS NOT NULL THEN
                       json_build_object('low', v_detail.p_low, 'medium', v_detail.p_medium,
                                         'high', v_detail.p_high, 'vip', v_detail.p_vip) END,
    'features', v_features,
    -- why this bucket (ltv.reasons, docs/explanations.md)
    'reasons', CASE WHEN v_detail.customer_id IS NOT NULL THEN ltv._api_reasons(v_run, v_detail.customer_id) END,
    'history', v_history);
END
$$;

CREATE FUNCTION ltv_api.customer_search(dataset_id bigint, query text DEFAULT '', max_results integer DEFAULT 10)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint;
  v_query text := btrim(coalesce(query, ''));
BEGIN
  PERFORM ltv._api_require_dataset(customer_search.dataset_id);
  IF max_results IS NULL OR max_results < 1 OR max_results > 100 THEN
    RAISE EXCEPTION 'max_results must be between 1 and 100, got %', max_results USING ERRCODE = '22023';
  END IF;
  v_run := ltv.latest_run(customer_search.dataset_id);
  IF v_run IS NOT NULL THEN
    RETURN (SELECT coalesce(json_agg(json_build_object('customer_id', x.customer_id, 'predicted_bucket', x.bucket)
                                     ORDER BY x.customer_id), '[]')
              FROM (SELECT p.customer_id, p.bucket FROM ltv.predictions p
                     WHERE p.run_id = v_run AND starts_with(p.customer_id, v_query)
                     ORDER BY p.customer_id LIMIT max_results) x);
  END IF;
  RETURN (SELECT coalesce(json_agg(json_build_object('customer_id', x.customer_id, 'predicted_bucket', NULL)
                                   ORDER BY x.customer_id), '[]')
            FROM (SELECT DISTINCT t.customer_id FROM ltv.transactions t
                   WHERE t.dataset_id = customer_search.dataset_id AND starts_with(t.customer_id, v_query)
                   ORDER BY t.customer_id LIMIT max_results) x);
END
$$;

-- Per-class scores with bucket names instead of class numbers.
CREATE FUNCTION ltv._api_per_class(p_scores jsonb)
RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT json_agg(json_build_object('bucket', ltv._class_bucket((s->>'class')::integer),
                                  'precision', s->'precision', 'recall', s->'recall',
                                  'f1', s->'f1', 'support', s->'support') ORDER BY (s->>'class')::integer)
  FROM jsonb_array_elements(p_scores) s
$$;

CREATE FUNCTION ltv_api.model_summary(dataset_id bigint, run_id bigint DEFAULT NULL)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint := ltv._api_pick_run(model_summary.dataset_id, model_summary.run_id);
  m ltv.model_summary;
BEGIN
  SELECT * INTO STRICT m FROM ltv.model_summary s WHERE s.run_id = v_run;
  RETURN json_build_object(
    'dataset_id', m.dataset_id, 'run_id', m.run_id, 'cutoff', m.cutoff, 'horizon', m.horizon::text,
    'test_customers', m.test_customers, 'training_rows', m.training_rows,
    'model', json_build_object('macro_f1', m.macro_f1, 'accuracy', m.accuracy,
                               'per_class', ltv._api_per_class(m.per_class)),
    'baseline', json_build_object('macro_f1', m.baseline_macro_f1, 'accuracy', m.baseline_accuracy,
                                  'per_class', ltv._api_per_class(m.baseline_per_class)),
    'lift_macro_f1', m.lift_macro_f1,
    'right_per_10', json_build_object('model', round((m.accuracy * 10)::numeric, 1),
                                      'baseline', round((m.baseline_accuracy * 10)::numeric, 1)),
    'confusion_matrix', json_build_object('labels', enum_range(NULL::ltv.bucket), 'rows', 'true bucket',
                                          'columns', 'predicted bucket', 'matrix', m.confusion_matrix),
    'baseline_confusion_matrix', json_build_object('labels', enum_range(NULL::ltv.bucket), 'rows', 'true bucket',
                                                   'columns', 'predicted bucket', 'matrix', m.baseline_confusion_matrix),
    'feature_importance', m.feature_importance,
    'evaluation', m.evaluation,
    'served', m.served,
    'serves_naive', m.serves_naive,
    'served_reason', m.served_reason,
    'folds', m.folds,
    'lift_ci90', m.lift_ci90,
    'spearman', m.spearman,
    'gini', m.gini,
    'candidates', (SELECT json_agg(json_build_object('name', c->>'name', 'macro_f1', (c->>'mean_macro_f1')::double precision,
                                                     'lift', (c->>'mean_lift')::double precision, 'lift_ci90', c->'lift_ci90'))
                     FROM jsonb_array_elements(m.candidates) c),
    'parameters', m.parameters,
    'timings_ms', m.timings);
END
$$;

-- The predictions of a run (the latest succeeded one when run_id is NULL) as rows, one per
-- customer passing the dashboard's filters (those of ltv_api.segments), for download:
-- PostgREST and the local server serve a set-returning function as CSV with
-- "Accept: text/csv". The customer's facts come from ltv.customer_detail; the stored reasons
-- (ltv.store_reasons) are joined in rank order, NULL when the run stored none.
CREATE FUNCTION ltv_api.export_predictions(dataset_id bigint, run_id bigint DEFAULT NULL,
                                           first_purchase_from date DEFAULT NULL,
                                           first_purchase_to date DEFAULT NULL,
                                           segment text DEFAULT NULL)
RETURNS TABLE (customer_id text, bucket ltv.bucket, bucket_probability double precision,
               p_low double precision, p_medium double precision, p_high double precision,
               p_vip double precision, as_of timestamp, first_purchase timestamp,
               last_purchase timestamp, orders double precision, past_spend numeric,
               recency_days double precision, baseline_bucket ltv.bucket, reasons text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_run bigint := ltv._api_pick_run(export_predictions.dataset_id, export_predictions.run_id);
  v_segment ltv.bucket := ltv._api_check_segment(segment);
BEGIN
  RETURN QUERY
  SELECT d.customer_id, d.bucket, d.bucket_probability, d.p_low, d.p_medium, d.p_high, d.p_vip,
         d.as_of, d.first_purchase, d.last_purchase, d.orders::double precision,
         round(d.past_spend::numeric, 2), d.recency_days::double precision, d.baseline_bucket, r.reasons
    FROM ltv._api_filtered_customers(v_run, first_purchase_from, first_purchase_to, v_segment) d
    LEFT JOIN (SELECT c.customer_id, string_agg(c.reason, '; ' ORDER BY c.rank) AS reasons
                 FROM ltv.customer_reasons c WHERE c.run_id = v_run
                GROUP BY c.customer_id) r ON r.customer_id = d.customer_id
   ORDER BY d.customer_id;
END
$$;

-- Every analysis run of a dataset, newest first: when, the options asked for and the settings
-- they resolved to (horizon, cutoff, as_of), and for succeeded runs the served
-- candidate and its evaluation, as ltv.model_summary has them. Reaps dead workers first, like
-- analysis_status, so it is VOLATILE (POST only).
CREATE FUNCTION ltv_api.runs(dataset_id bigint)
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM ltv._api_require_dataset(runs.dataset_id);
  PERFORM ltv._reap_runs(runs.dataset_id);
  RETURN (
    SELECT coalesce(json_agg(json_build_object(
             'run_id', r.run_id, 'status', r.status, 'error', r.error,
             'created_at', r.created_at, 'finished_at', r.finished_at,
             'requested_by', r.requested_by,
             'options', r.options,
             'horizon', r.settings->>'horizon', 'cutoff', r.settings->>'cutoff', 'as_of', r.settings->>'as_of',
             'customers', (SELECT count(*) FROM ltv.predictions p WHERE p.run_id = r.run_id),
             'served', m.served, 'serves_naive', m.serves_naive, 'evaluation', m.evaluation,
             'folds', m.folds, 'macro_f1', m.macro_f1, 'baseline_macro_f1', m.baseline_macro_f1,
             'lift_macro_f1', m.lift_macro_f1, 'lift_ci90', m.lift_ci90,
             'is_latest', r.run_id = ltv.latest_run(runs.dataset_id)) ORDER BY r.run_id DESC), '[]')
      FROM ltv.runs r
      LEFT JOIN ltv.model_summary m ON m.run_id = r.run_id
     WHERE r.dataset_id = runs.dataset_id);
END
$$;

-- Who may call which function: src/sql/55_security.sql.
