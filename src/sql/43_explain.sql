-- Explanations: why a model (or a run) gives a customer its bucket. Exact path-dependent
-- TreeSHAP for the forest (core/explain); see docs/explanations.md for what the numbers mean
-- and for the decompositions of the other candidates a run can serve.

CREATE FUNCTION ltv.rf_explain_batch(model bytea, keys text[], features double precision[],
                                     reference double precision[] DEFAULT NULL)
RETURNS TABLE (key text, class integer, base double precision, feature text,
               value double precision, contribution double precision)
AS 'MODULE_PATHNAME', 'ltv_rf_explain_batch' LANGUAGE C STABLE PARALLEL SAFE ROWS 10000;
COMMENT ON FUNCTION ltv.rf_explain_batch(bytea, text[], double precision[], double precision[]) IS
  'Exact TreeSHAP contributions of many rows (row i of the two-dimensional features array belongs to keys[i]): per row, class and model input, the input''s value and contribution; base + the sum of the contributions = the class probability. Node covers come from the reference rows (base = their mean probability), or equal splits when reference is NULL.';

CREATE FUNCTION ltv.rf_explain(model bytea, features double precision[],
                               reference double precision[] DEFAULT NULL)
RETURNS TABLE (bucket ltv.bucket, base double precision, feature text, value double precision,
               contribution double precision)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF model IS NULL OR features IS NULL THEN
    RAISE EXCEPTION 'ltv.rf_explain: model and features must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF array_ndims(features) IS DISTINCT FROM 1 THEN
    RAISE EXCEPTION 'ltv.rf_explain: features must be a one-dimensional array (one row)' USING ERRCODE = '2202E';
  END IF;
  RETURN QUERY
  SELECT ltv._class_bucket(e.class), e.base, e.feature, e.value, e.contribution
    FROM ltv.rf_explain_batch(model, ARRAY[''], ARRAY[features], reference) e;
END
$$;
COMMENT ON FUNCTION ltv.rf_explain(bytea, double precision[], double precision[]) IS
  'Why the model gives one row its probabilities: per bucket, the base value and, per model input, its value and exact TreeSHAP contribution (base + sum = the probability). Pass reference rows (a two-dimensional array) to weigh the trees'' splits by that population; without, every split weighs its two sides equally.';

-- Every customer asked for (p_asked, NULL = all) must be among those found.
CREATE FUNCTION ltv._explain_check_ids(p_asked text[], p_found text[], p_dataset_id bigint, p_cutoff timestamp)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_missing text[] := ARRAY(SELECT DISTINCT u.id FROM unnest(p_asked) u(id)
                             WHERE u.id IS NULL OR NOT u.id = ANY (coalesce(p_found, '{}')) ORDER BY 1);
BEGIN
  IF cardinality(v_missing) > 0 THEN
    RAISE EXCEPTION 'customer(s) % of dataset % have no purchase before %', ltv._excerpt(array_to_string(v_missing, ', ', 'NULL'), 200),
      p_dataset_id, p_cutoff USING ERRCODE = 'P0002';
  END IF;
END
$$;

-- At most about this many customers weigh the trees' splits (the reference population of
-- ltv.explain): beyond, every k-th customer by a hash of the id, so that building the
-- reference stays cheap on a million customers and stays the same for the same customers.
CREATE FUNCTION ltv._explain_reference_size() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 20000 $$;

-- The model's input vectors of a feature table's customers at a cutoff (in customer order):
-- those asked for (all when p_ids is NULL), and the reference population: all of them, or
-- with more than p_reference_size customers, those whose md5-derived number is a
-- multiple of ceil(n / that size). Every asked-for customer must be there.
CREATE FUNCTION ltv._explain_vectors(p_model bytea, p_source regclass, p_dataset_id bigint, p_run_id bigint,
                                     p_cutoff timestamp, p_ids text[],
                                     p_reference_size integer DEFAULT ltv._explain_reference_size(),
                                     OUT ids text[], OUT vectors double precision[],
                                     OUT reference double precision[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET work_mem = '256MB'
AS $$
BEGIN
  EXECUTE format($q$
  WITH snapshot AS (
    SELECT cf.* FROM %2$s cf
     WHERE cf.dataset_id = $1 AND coalesce(cf.run_id, 0) = coalesce($2, 0) AND cf.cutoff = $3),
  step AS (SELECT greatest(1, ceil(count(*) / $5::double precision))::bigint AS k FROM snapshot),
  rows AS (
    SELECT cf.customer_id, %1$s AS v, ($4 IS NULL OR cf.customer_id = ANY ($4)) AS asked
      FROM snapshot cf, step
     WHERE ($4 IS NULL OR cf.customer_id = ANY ($4))
        OR ('x' || '00000000' || substr(md5(cf.customer_id), 1, 8))::bit(64)::bigint %% step.k = 0
     ORDER BY cf.customer_id)
  SELECT (SELECT array_agg(r.customer_id) FROM rows r WHERE r.asked),
         (SELECT array_agg(r.v) FROM rows r WHERE r.asked),
         (SELECT array_agg(r.v) FROM rows r, step
           WHERE ('x' || '00000000' || substr(md5(r.customer_id), 1, 8))::bit(64)::bigint %% step.k = 0)$q$,
    ltv._feature_vector_sql(ltv.rf_feature_names(p_model), 'cf'), p_source)
    INTO ids, vectors, reference
    USING p_dataset_id, p_run_id, p_cutoff, p_ids, p_reference_size;
  IF reference IS NULL THEN
    RAISE EXCEPTION 'no customers to explain at %', p_cutoff USING ERRCODE = '22023';
  END IF;
  PERFORM ltv._explain_check_ids(p_ids, ids, p_dataset_id, p_cutoff);
END
$$;

-- With a model: exact TreeSHAP of the forest's probabilities for customers of a dataset, features
-- computed as ltv.predict computes them. The trees' splits are weighed by the dataset's
-- customers at as_of (ltv._explain_vectors' reference), whichever are asked for, so base is
-- their mean probability and a customer's explanation does not depend on who else is asked for.
CREATE FUNCTION ltv.explain(model bytea, dataset_id bigint, customer_ids text[] DEFAULT NULL,
                            as_of timestamp DEFAULT NULL, horizon interval DEFAULT '6 months')
RETURNS TABLE (customer_id text, bucket ltv.bucket, base double precision, feature text,
               value double precision, contribution double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
  v_as_of timestamp := ltv._predict_snapshot(explain.dataset_id, explain.as_of, explain.horizon, '{}');
  v_in record;
BEGIN
  v_in := ltv._explain_vectors(model, 'pg_temp.ltv_predict_features', explain.dataset_id, NULL, v_as_of,
                               customer_ids);
  RETURN QUERY
  SELECT e.key, ltv._class_bucket(e.class), e.base, e.feature, e.value, e.contribution
    FROM ltv.rf_explain_batch(model, v_in.ids, v_in.vectors, v_in.reference) e;
END
$$;
COMMENT ON FUNCTION ltv.explain(bytea, bigint, text[], timestamp, interval) IS
  'Why the model gives each customer of a dataset (or those listed) its probabilities: per bucket, base + one exact TreeSHAP contribution per model input (summing to the probability), with the input''s value; the splits are weighed by all the dataset''s customers at as_of';

-- With a run: why the run serves each customer (or those listed) its bucket and probabilities,
-- at the run's as_of, from the features the run stored. When the served candidate's
-- probabilities are the forest's (the classifier, and the rank candidates using the model):
-- TreeSHAP over the model's inputs, the splits weighed by the run's customers. Otherwise the
-- served probabilities are P(truth | served bucket) from the evaluation: base is the truth
-- distribution of the evaluated customers, and the one input that set the bucket (the naive
-- rule's recent spend, or the candidate's rank score) contributes the difference. Either way
-- base + the contributions = the probability stored in ltv.predictions (docs/explanations.md).
CREATE FUNCTION ltv.explain(run_id bigint, customer_ids text[] DEFAULT NULL)
RETURNS TABLE (customer_id text, bucket ltv.bucket, base double precision, feature text,
               value double precision, contribution double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
  v_run ltv.analysis_runs;
  v_model bytea;
  v_metrics jsonb;
  v_as_of timestamp;
  v_served text;
  v_in record;
  v_found text[];
BEGIN
  SELECT * INTO v_run FROM ltv.analysis_runs r WHERE r.run_id = explain.run_id;
  IF NOT FOUND OR v_run.status <> 'succeeded' THEN
    RAISE EXCEPTION 'analysis run % does not exist or did not succeed', explain.run_id USING ERRCODE = 'P0002';
  END IF;
  v_as_of := (v_run.settings->>'as_of')::timestamp;
  SELECT m.model, m.metrics INTO STRICT v_model, v_metrics FROM ltv.models m WHERE m.run_id = explain.run_id;
  v_served := v_metrics->>'served';
  IF ltv._candidate_uses_forest(v_served) THEN
    v_in := ltv._explain_vectors(v_model, 'ltv.customer_features', v_run.dataset_id, explain.run_id, v_as_of,
                                 customer_ids);
    RETURN QUERY
    SELECT e.key, ltv._class_bucket(e.class), e.base, e.feature, e.value, e.contribution
      FROM ltv.rf_explain_batch(v_model, v_in.ids, v_in.vectors, v_in.reference) e;
    RETURN;
  END IF;
  v_found := ARRAY(SELECT p.customer_id FROM ltv.predictions p
                    WHERE p.run_id = explain.run_id AND (customer_ids IS NULL OR p.customer_id = ANY (customer_ids)));
  PERFORM ltv._explain_check_ids(customer_ids, v_found, v_run.dataset_id, v_as_of);
  RETURN QUERY
  WITH cm AS (
    SELECT t, b, (v_metrics->'confusion_matrix'->t->>b)::double precision AS n
      FROM generate_series(0, 3) t, generate_series(0, 3) b),
  prior AS (SELECT cm.t, sum(cm.n) / nullif((SELECT sum(x.n) FROM cm x), 0) AS p FROM cm GROUP BY cm.t)
  SELECT p.customer_id, ltv._class_bucket(pr.t), pr.p,
         CASE WHEN v_served = 'naive' THEN 'baseline_spend' ELSE v_served || '_score' END,
         CASE WHEN v_served = 'naive' THEN cf.baseline_spend END,
         (ARRAY[p.p_low, p.p_medium, p.p_high, p.p_vip])[pr.t + 1] - pr.p
    FROM ltv.predictions p
    JOIN ltv.customer_features cf
      ON cf.dataset_id = v_run.dataset_id AND cf.run_id = explain.run_id AND cf.cutoff = v_as_of
     AND cf.customer_id = p.customer_id
    CROSS JOIN prior pr
   WHERE p.run_id = explain.run_id AND (customer_ids IS NULL OR p.customer_id = ANY (customer_ids))
   ORDER BY p.customer_id, pr.t;
END
$$;
COMMENT ON FUNCTION ltv.explain(bigint, text[]) IS
  'Why an analysis run serves each of its customers (or those listed) its bucket probabilities, at the run''s as_of: TreeSHAP over the model''s inputs when the served probabilities are the forest''s, else the one input that set the served bucket; base + the contributions = the stored probability (docs/explanations.md)';

-- One contribution in words a person reads: what the input is (its registry description),
-- its value in the input's units, and how far it moves the probability of the bucket:
-- "net spend in the 180 days before the cutoff: 2,104.00 (+0.18 toward High)". Percent ranks
-- and probabilities read as percentages; the registry's missing value as "none".
CREATE FUNCTION ltv._reason_text(p_feature text, p_value double precision, p_contribution double precision,
                                 p_bucket ltv.bucket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT format('%s: %s (%s%s toward %s)',
              coalesce(regexp_replace(r.description, '\s*\([^)]*\)$', ''), replace(p_feature, '_', ' ')),
              CASE WHEN p_value IS NULL THEN 'n/a'
                   WHEN r.name IS NOT NULL AND p_value = r.missing_value THEN 'none'
                   WHEN r.source = 'rank' OR r.name = 'clv_p_alive' THEN to_char(100 * p_value, 'FM990') || '%'
                   WHEN r.sql_type = 'integer' THEN to_char(p_value, 'FM999,999,999,990')
                   ELSE to_char(p_value, 'FM999,999,999,990.00') END,
              CASE WHEN p_contribution < 0 THEN '-' ELSE '+' END,
              to_char(abs(p_contribution), 'FM0.00'),
              initcap(p_bucket::text))
  FROM (SELECT 1) one
  LEFT JOIN ltv.feature_registry() r ON r.name = p_feature
$$;

-- The top reasons for the bucket a run serves each customer (or those listed): the inputs that
-- raise the probability of that bucket most (up to n_positive) and lower it most (up to
-- n_negative), from ltv.explain(run_id), in words. Ties are broken by input name, so the same
-- run gives the same reasons.
CREATE FUNCTION ltv.reasons(run_id bigint, customer_ids text[] DEFAULT NULL, n_positive integer DEFAULT 3,
                            n_negative integer DEFAULT 2)
RETURNS TABLE (customer_id text, bucket ltv.bucket, rank integer, feature text, value double precision,
               contribution double precision, reason text)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
WITH e AS (
  SELECT e.*, row_number() OVER (PARTITION BY e.customer_id ORDER BY e.contribution DESC, e.feature) AS up,
         row_number() OVER (PARTITION BY e.customer_id ORDER BY e.contribution, e.feature) AS down
    FROM ltv.explain(reasons.run_id, reasons.customer_ids) e
    JOIN ltv.predictions p ON p.run_id = reasons.run_id AND p.customer_id = e.customer_id AND p.bucket = e.bucket)
SELECT e.customer_id, e.bucket,
       row_number() OVER (PARTITION BY e.customer_id ORDER BY e.contribution DESC, e.feature)::integer,
       e.feature, e.value, e.contribution, ltv._reason_text(e.feature, e.value, e.contribution, e.bucket)
  FROM e
 WHERE (e.contribution > 0 AND e.up <= n_positive) OR (e.contribution < 0 AND e.down <= n_negative)
 ORDER BY e.customer_id, 3
$$;
COMMENT ON FUNCTION ltv.reasons(bigint, text[], integer, integer) IS
  'The top reasons for the bucket an analysis run serves each customer (or those listed): the inputs that raise its probability most and lower it most, with the contribution and a sentence a person reads';

-- Stored reasons (ltv.store_reasons): what a run stored, per customer, for the bucket it serves.
CREATE TABLE ltv.customer_reasons (
  run_id       bigint NOT NULL REFERENCES ltv.analysis_runs ON DELETE CASCADE,
  customer_id  text NOT NULL,
  rank         integer NOT NULL,
  bucket       ltv.bucket NOT NULL,
  feature      text NOT NULL,
  value        double precision,
  contribution double precision NOT NULL,
  reason       text NOT NULL,
  PRIMARY KEY (run_id, customer_id, rank)
);
COMMENT ON TABLE ltv.customer_reasons IS
  'The top reasons (ltv.reasons) for the bucket a run serves each customer, stored by ltv.store_reasons: rank 1 raises that bucket''s probability most; negative contributions lower it';
SELECT pg_catalog.pg_extension_config_dump('ltv.customer_reasons', '');

-- Stores ltv.reasons of a run's customers (those served one of `buckets`, all when NULL) in
-- ltv.customer_reasons, replacing what the run had stored; returns the rows stored. Exact
-- TreeSHAP visits every leaf of every tree per customer, so on large forests a run may store
-- the reasons of its high-value buckets only (docs/explanations.md).
CREATE FUNCTION ltv.store_reasons(run_id bigint, buckets ltv.bucket[] DEFAULT NULL, n_positive integer DEFAULT 3,
                                  n_negative integer DEFAULT 2)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_ids text[];
  v_rows bigint;
BEGIN
  v_ids := ARRAY(SELECT p.customer_id FROM ltv.predictions p
                  WHERE p.run_id = store_reasons.run_id AND (buckets IS NULL OR p.bucket = ANY (buckets))
                  ORDER BY p.customer_id);
  DELETE FROM ltv.customer_reasons r WHERE r.run_id = store_reasons.run_id;
  IF cardinality(v_ids) = 0 THEN
    RETURN 0;
  END IF;
  INSERT INTO ltv.customer_reasons (run_id, customer_id, rank, bucket, feature, value, contribution, reason)
  SELECT store_reasons.run_id, r.customer_id, r.rank, r.bucket, r.feature, r.value, r.contribution, r.reason
    FROM ltv.reasons(store_reasons.run_id, v_ids, n_positive, n_negative) r;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  RETURN v_rows;
END
$$;
COMMENT ON FUNCTION ltv.store_reasons(bigint, ltv.bucket[], integer, integer) IS
  'Stores ltv.reasons of a run''s customers (those served one of buckets; all when NULL) in ltv.customer_reasons, replacing what the run had stored; returns the rows stored';

-- The reasons of one customer for ltv_api.customer: the served candidate, the bucket, and the
-- top reasons as the dashboard draws and words them: the stored ones when the run stored
-- them (ltv.store_reasons), else computed now (up to 5 each way).
CREATE FUNCTION ltv._api_reasons(p_run_id bigint, p_customer_id text)
RETURNS json
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_items json;
  v_bucket ltv.bucket;
  v_stored boolean := true;
BEGIN
  SELECT min(r.bucket), json_agg(json_build_object('feature', r.feature, 'value', r.value,
                                                   'contribution', r.contribution, 'text', r.reason) ORDER BY r.rank)
    INTO v_bucket, v_items
    FROM ltv.customer_reasons r WHERE r.run_id = p_run_id AND r.customer_id = p_customer_id;
  IF v_items IS NULL THEN
    v_stored := false;
    SELECT min(r.bucket), json_agg(json_build_object('feature', r.feature, 'value', r.value,
                                                     'contribution', r.contribution, 'text', r.reason) ORDER BY r.rank)
      INTO v_bucket, v_items
      FROM ltv.reasons(p_run_id, ARRAY[p_customer_id], 5, 5) r;
  END IF;
  RETURN json_build_object('served', (SELECT m.metrics->>'served' FROM ltv.models m WHERE m.run_id = p_run_id),
                           'bucket', v_bucket, 'stored', v_stored, 'items', coalesce(v_items, '[]'));
END
$$;

-- Global importance of each input of what a run serves: the mean over customers of
-- |contribution| to the bucket the run serves each one (how far the input typically moves the
-- probability of the customer's own bucket), beside the forest's impurity importance. Exact
-- TreeSHAP visits every leaf of every tree per customer (docs/explanations.md, "Cost"), so at
-- most max_customers customers are explained (NULL = all), the same ones every time: the first
-- by md5 of the customer id.
CREATE FUNCTION ltv.explain_importance(run_id bigint, max_customers integer DEFAULT 500)
RETURNS TABLE (feature text, mean_abs_contribution double precision, impurity_importance double precision,
               customers integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_ids text[];
BEGIN
  IF max_customers IS NOT NULL AND max_customers < 1 THEN
    RAISE EXCEPTION 'max_customers must be at least 1 (or NULL for all), got %', max_customers USING ERRCODE = '22023';
  END IF;
  v_ids := ARRAY(SELECT p.customer_id FROM ltv.predictions p WHERE p.run_id = explain_importance.run_id
                  ORDER BY md5(p.customer_id), p.customer_id LIMIT max_customers);
  RETURN QUERY
  WITH e AS (
    SELECT e.feature, abs(e.contribution) AS a
      FROM ltv.explain(explain_importance.run_id, v_ids) e
      JOIN ltv.predictions p ON p.run_id = explain_importance.run_id AND p.customer_id = e.customer_id
                            AND p.bucket = e.bucket),
  impurity AS (
    SELECT i->>'feature' AS feature, (i->>'importance')::double precision AS importance
      FROM ltv.models m, jsonb_array_elements(ltv.rf_info(m.model)->'feature_importance') i
     WHERE m.run_id = explain_importance.run_id)
  SELECT e.feature, avg(e.a), min(i.importance), cardinality(v_ids)
    FROM e LEFT JOIN impurity i USING (feature)
   GROUP BY e.feature
   ORDER BY 2 DESC, 1;
END
$$;
COMMENT ON FUNCTION ltv.explain_importance(bigint, integer) IS
  'Global importance of each input of what a run serves: mean |contribution| to each customer''s served bucket (exact TreeSHAP or the served rule''s decomposition) over up to max_customers customers (NULL = all; chosen by md5 of the id), beside the forest''s impurity importance';
