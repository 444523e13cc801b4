-- Materialised features and labels per dataset, cutoff (and run, once runs exist).

-- The columns of the features come from the registry (ltv.feature_registry()): the
-- aggregate's columns, then the label columns, then the window, rank and CLV columns.
DO $$
BEGIN
  EXECUTE format($t$
    CREATE TABLE ltv.customer_features (
      dataset_id         bigint NOT NULL,  -- rows go with their dataset: see ltv._cascade_delete
      run_id             bigint,
      cutoff             timestamp NOT NULL,
      horizon            interval NOT NULL,
      customer_id        text NOT NULL,
      %s,
      future_spend       double precision,
      true_bucket        ltv.bucket,
      baseline_bucket    ltv.bucket,
      %s,
      split              text CHECK (split IN ('train', 'test'))
    )$t$,
    (SELECT string_agg(format('%I %s', r.name, r.sql_type), ', ' ORDER BY r.ordinal)
       FROM ltv.feature_registry() r WHERE r.source = 'aggregate'),
    (SELECT string_agg(format('%I %s', r.name, r.sql_type), ', ' ORDER BY r.ordinal)
       FROM ltv.feature_registry() r WHERE r.source <> 'aggregate'));
  EXECUTE (SELECT string_agg(format('COMMENT ON COLUMN ltv.customer_features.%I IS %L', r.name, r.description), '; ')
             FROM ltv.feature_registry() r);
END
$$;
CREATE UNIQUE INDEX customer_features_key
  ON ltv.customer_features (dataset_id, coalesce(run_id, 0), cutoff, customer_id);
COMMENT ON TABLE ltv.customer_features IS
  'Features of each customer as of a cutoff (columns from ltv.feature_registry()), with the future spend over the horizon and its true bucket where the data covers the horizon, and the naive baseline''s bucket';
COMMENT ON COLUMN ltv.customer_features.future_spend IS
  'Net spend in [cutoff, cutoff + horizon); NULL when the data ends before cutoff + horizon';
COMMENT ON COLUMN ltv.customer_features.split IS
  'For a run''s training snapshot: whether the customer was used for training or held out for evaluation';
SELECT pg_catalog.pg_extension_config_dump('ltv.customer_features', '');

-- The model's input vector of a stored feature row: ltv.feature_names() in order, NULL as the
-- registry's missing value. Generated from the registry; not STRICT so that the planner
-- inlines it (a STRICT SQL function whose body is not strict is called row by row instead).
DO $$
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION ltv.feature_vector(cf ltv.customer_features) RETURNS double precision[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT ARRAY[%s]::double precision[]'$f$,
    (SELECT string_agg(format('coalesce(cf.%I, %s)', r.name, r.missing_value), ', ' ORDER BY r.ordinal)
       FROM ltv.feature_registry() r WHERE r.model_input));
END
$$;
COMMENT ON FUNCTION ltv.feature_vector(ltv.customer_features) IS
  'The model input vector of a stored feature row, in ltv.feature_names() order (NULL as the registry''s missing value)';

-- The same vector from a feature row, by the names a model was trained on (a model records
-- them; ltv.predict uses this to score any stored model). Unknown names are an error naming them.
CREATE FUNCTION ltv._feature_vector_sql(p_names text[], p_alias text DEFAULT 'cf')
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_unknown text[];
BEGIN
  SELECT array_agg(n) INTO v_unknown FROM unnest(p_names) n
   WHERE NOT EXISTS (SELECT 1 FROM ltv.feature_registry() r WHERE r.name = n AND r.model_input);
  IF v_unknown IS NOT NULL THEN
    RAISE EXCEPTION 'the model uses features this version does not compute: %', array_to_string(v_unknown, ', ')
      USING ERRCODE = '22023', HINT = 'See ltv.feature_registry() for the features of this version.';
  END IF;
  RETURN 'ARRAY[' || (SELECT string_agg(format('coalesce(%I.%I, %s)', p_alias, r.name, r.missing_value), ', ' ORDER BY k)
                        FROM unnest(p_names) WITH ORDINALITY u(n, k)
                        JOIN ltv.feature_registry() r ON r.name = u.n) || ']::double precision[]';
END
$$;

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

CREATE FUNCTION ltv._rank_buckets(positions integer[], vals double precision[], quantiles double precision[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'ltv_rank_buckets'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv._rank_buckets(integer[], double precision[], double precision[]) IS
  'Internal: result[positions[i]] = quantile bucket (0..3) of vals[i] by average percent rank (ties share it): the number of quantiles below rank/n';

-- ltv.spend_bucket without its checks of the cut points, for use once they are checked:
-- a SQL expression the planner inlines (spend_bucket is a PL/pgSQL call per row). Each
-- label is a constant of the enum: a cast of text to it at run time would call enum_in,
-- which is only STABLE, and an IMMUTABLE function using it is not inlined.
CREATE FUNCTION ltv._bucket_of(spend double precision, cut_points double precision[])
RETURNS ltv.bucket
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE WHEN spend IS NULL THEN NULL
            WHEN spend <= cut_points[1] THEN 'low'::ltv.bucket
            WHEN spend <= cut_points[2] THEN 'medium'::ltv.bucket
            WHEN spend <= cut_points[3] THEN 'high'::ltv.bucket
            ELSE 'vip'::ltv.bucket END
$$;

-- The registry's spend windows (source 'window') in registry order: slot i is element i of
-- the windows array of a snapshot row (see ltv._materialize_snapshots).
CREATE FUNCTION ltv._window_features()
RETURNS TABLE (slot integer, name text, argument text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT (row_number() OVER (ORDER BY r.ordinal))::integer, r.name, r.argument
  FROM ltv.feature_registry() r WHERE r.source = 'window'
$$;

-- A registry feature of a snapshot row as a SQL expression over the row's features composite
-- f and windows array (NULL for the derived features, which are not in the row).
CREATE FUNCTION ltv._snapshot_column(p_name text, p_f text, p_windows text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
SELECT CASE r.source WHEN 'aggregate' THEN format('(%s).%I', p_f, r.name)
                     WHEN 'window' THEN format('%s[%s]', p_windows, (SELECT w.slot FROM ltv._window_features() w WHERE w.name = r.name)) END
  FROM ltv.feature_registry() r WHERE r.name = p_name
$$;

-- The input vector of ltv._derived_features (the columns of ltv._derived_inputs(), NaN for
-- NULL) of a snapshot row. Generated from the registry; not STRICT so that it is inlined.
DO $do$
BEGIN
  EXECUTE format($f$
    CREATE FUNCTION ltv._derived_input_vector(f ltv.features, windows double precision[])
    RETURNS double precision[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $b$ SELECT ARRAY[%s]::double precision[] $b$ $f$,
    (SELECT string_agg(format('coalesce(%s::double precision, ''NaN'')', ltv._snapshot_column(u.n, 'f', 'windows')), ', ' ORDER BY u.k)
       FROM unnest(ltv._derived_inputs()) WITH ORDINALITY u(n, k)));
END
$do$;

-- The INSERT that stores one snapshot of ltv_snapshots_tmp into p_target (ltv.customer_features
-- or a temp table like it), with the parameters of ltv._store_snapshot's EXECUTE: the features
-- of the aggregate and the windows from the row, the derived ones from row j of $7 at the
-- row's position.
CREATE FUNCTION ltv._snapshot_insert_sql(p_target regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT format($q$
  INSERT INTO %1$s (dataset_id, run_id, cutoff, horizon, customer_id, %2$s,
                    future_spend, true_bucket, baseline_bucket, split)
  SELECT $1, $2, $3, $4, t.customer_id, %3$s,
         CASE WHEN $5 THEN t.future_spend END,
         CASE WHEN $5 THEN coalesce(ltv._class_bucket($9[t.row_position]), ltv._bucket_of(t.future_spend, $6)) END,
         coalesce(ltv._class_bucket($10[t.row_position]), ltv._bucket_of(t.windows[$12], $6)),
         CASE WHEN $8 IS NULL THEN NULL WHEN $8[t.row_position] THEN 'test' ELSE 'train' END
    FROM ltv_snapshots_tmp t WHERE t.k = $11$q$,
  p_target,
  string_agg(format('%I', r.name), ', ' ORDER BY r.ordinal),
  string_agg(coalesce(ltv._snapshot_column(r.name, 't.f', 't.windows'),
                      format('$7[%s][t.row_position]', array_position(ltv._derived_names(), r.name))),
             ', ' ORDER BY r.ordinal))
  FROM ltv.feature_registry() r
$$;

-- Internal: stores snapshot p_snapshot of the temp table ltv_snapshots_tmp (one row per
-- snapshot k and member customer: row_position 1..n within the snapshot, customer_id,
-- first_time, the aggregate's features composite f, future_spend and the registry's window
-- spends as the array windows, see ltv._window_features), whose members are the customers
-- active before the cutoff, into the target of p_insert (ltv._snapshot_insert_sql). Returns
-- the summary materialize_features returns. Two scans of the snapshot: one into arrays (cut
-- points, the split and the derived features come from those), one for the INSERT.
CREATE FUNCTION ltv._store_snapshot(p_dataset_id bigint, p_cutoff timestamp, p_horizon interval,
                                    p_buckets jsonb, p_run_id bigint, p_test_fraction double precision,
                                    p_seed bigint, p_observed boolean, p_snapshot integer,
                                    p_insert text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
SET work_mem = '256MB'
AS $$
DECLARE
  v_observed boolean := p_observed;
  v_rows bigint;
  v_cuts double precision[];
  v_true_classes integer[];
  v_base_classes integer[];
  v_member_classes integer[];
  v_quantiles double precision[];
  v_counts jsonb := '{}';
  v_positions integer[];
  v_future double precision[];
  v_baseline double precision[];
  v_inputs double precision[];
  v_derived double precision[];
  v_strata integer[];
  v_keys bigint[];
  v_ids text[];
  v_held_out boolean[];
  v_baseline_slot integer := (SELECT w.slot FROM ltv._window_features() w WHERE w.name = 'baseline_spend');
BEGIN
  -- The derived features (ranks among the snapshot's customers, the CLV fit) are computed in
  -- C++ (ltv._derived_features) from the members' input columns and read back by each row's
  -- position; so is the held-out split (ltv._stratified_holdout): window sorts carrying the
  -- rows took 4 s per snapshot of a million customers. The split is drawn here rather than by
  -- a later UPDATE (which would rewrite every row): per true bucket, the customers first in a
  -- seeded hash order are held out (test_fraction of the bucket, rounded half up), so it is
  -- stratified and reproducible.
  SELECT count(*), array_agg(t.row_position), array_agg(t.future_spend),
         array_agg(t.windows[v_baseline_slot]), array_agg(ltv._derived_input_vector(t.f, t.windows)),
         array_agg(hashtextextended(t.customer_id, p_seed)) FILTER (WHERE p_test_fraction IS NOT NULL),
         array_agg(t.customer_id) FILTER (WHERE p_test_fraction IS NOT NULL)
    INTO v_rows, v_positions, v_future, v_baseline, v_inputs, v_keys, v_ids
    FROM ltv_snapshots_tmp t WHERE t.k = p_snapshot;

  IF p_buckets ? 'amounts' THEN
    SELECT array_agg(x::double precision) INTO v_cuts FROM jsonb_array_elements_text(p_buckets->'amounts') x;
    PERFORM ltv.spend_bucket(0, v_cuts);  -- validates
  ELSIF v_rows > 0 THEN
    v_quantiles := coalesce((SELECT array_agg(x::double precision) FROM jsonb_array_elements_text(p_buckets->'quantiles') x),
                            '{0.5,0.8,0.95}');
    -- Quantiles of the future spend when observed; otherwise of the baseline window's spend,
    -- so that predictions for an unobserved future still use comparable cut points.
    v_cuts := ltv.quantile_cut_points(CASE WHEN v_observed THEN v_future ELSE v_baseline END, v_quantiles);
    PERFORM ltv.spend_bucket(0, v_cuts);  -- validates them once; _bucket_of does not
  END IF;

  IF v_rows > 0 THEN
    -- The bucket rule (one place each way): quantile buckets by average percent rank
    -- (ltv._rank_buckets, core RankBuckets), fixed amounts by ltv._bucket_of. The naive rule
    -- buckets the last window's spend by the same rule among the same customers, not by the
    -- future's cut points, which are unknown when it is used.
    IF v_quantiles IS NOT NULL THEN
      IF v_observed THEN
        v_true_classes := ltv._rank_buckets(v_positions, v_future, v_quantiles);
        v_member_classes := ltv._rank_buckets(ARRAY(SELECT generate_series(1, v_rows::integer)), v_future, v_quantiles);
      END IF;
      v_base_classes := ltv._rank_buckets(v_positions, v_baseline, v_quantiles);
    ELSIF v_observed THEN
      v_member_classes := ARRAY(SELECT ltv._bucket_class(ltv._bucket_of(x, v_cuts))
                                  FROM unnest(v_future) WITH ORDINALITY u(x, k) ORDER BY k);
    END IF;
    IF v_observed THEN
      SELECT jsonb_object_agg(ltv._class_bucket(c)::text, n) INTO v_counts
        FROM (SELECT c, count(*) AS n FROM unnest(v_member_classes) c GROUP BY c) x;
    END IF;
    IF p_test_fraction IS NOT NULL THEN
      v_strata := CASE WHEN v_observed THEN v_member_classes
                       ELSE array_fill(NULL::integer, ARRAY[v_rows::integer]) END;
      v_held_out := ltv._stratified_holdout(v_positions, v_strata, v_keys, v_ids, p_test_fraction);
    END IF;
    v_derived := ltv._derived_features(v_positions, v_inputs,
                                       extract(epoch FROM p_horizon) / 86400.0);
  END IF;
  -- Free the inputs before the INSERT.
  v_positions := NULL; v_future := NULL; v_baseline := NULL; v_inputs := NULL;
  v_strata := NULL; v_keys := NULL; v_ids := NULL; v_member_classes := NULL;

  EXECUTE p_insert
    USING p_dataset_id, p_run_id, p_cutoff, p_horizon, v_observed, v_cuts, v_derived, v_held_out,
          v_true_classes, v_base_classes, p_snapshot, v_baseline_slot;

  RETURN jsonb_build_object('dataset_id', p_dataset_id, 'cutoff', p_cutoff,
                            'horizon', p_horizon::text, 'customers', v_rows,
                            'labels_observed', v_observed, 'cut_points', to_jsonb(v_cuts),
                            'bucket_counts', v_counts);
END
$$;

-- The registry's spend windows (source 'window'), as a SQL condition on t.invoice_time for a
-- cutoff and horizon given as SQL expressions:
--   baseline  [cutoff - horizon, cutoff): what the naive rule looks at;
--   season    [cutoff - 1 year, cutoff - 1 year + horizon): the same season a year earlier.
CREATE FUNCTION ltv._window_filter(p_window text, p_cutoff text, p_horizon text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_window = 'baseline' THEN
    RETURN format('t.invoice_time >= %1$s - %2$s AND t.invoice_time < %1$s', p_cutoff, p_horizon);
  ELSIF p_window = 'season' THEN
    RETURN format('t.invoice_time >= %1$s - interval ''1 year'' AND t.invoice_time < %1$s - interval ''1 year'' + %2$s',
                  p_cutoff, p_horizon);
  END IF;
  RAISE EXCEPTION 'unknown feature window "%"', p_window USING ERRCODE = 'XX000';
END
$$;

-- Internal: materialize_features for several cutoffs at once (NULL: the default cutoff), each
-- with its test_fraction (NULL: no split), from ONE scan of the dataset's transactions,
-- grouped by snapshot and customer. A run needs its training snapshot, its stacked earlier
-- ones and the scoring snapshot; the transactions are read once for all of them. Returns one
-- summary per cutoff, in order.
CREATE FUNCTION ltv._materialize_snapshots(p_dataset_id bigint, p_cutoffs timestamp[],
                                           p_horizon interval, p_buckets jsonb, p_run_id bigint,
                                           p_test_fractions double precision[], p_seed bigint,
                                           p_target regclass DEFAULT 'ltv.customer_features')
RETURNS jsonb[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
SET work_mem = '256MB'
SET default_statistics_target = 10
SET enable_sort = off
AS $$
DECLARE
  v_dataset ltv.datasets;
  v_buckets jsonb := coalesce(p_buckets, '{}');
  v_cutoffs timestamp[];
  v_n integer := coalesce(cardinality(p_cutoffs), 0);
  v_partition text;
  v_insert text;
  v_results jsonb[] := '{}';
  i integer;
BEGIN
  SELECT * INTO v_dataset FROM ltv.datasets d WHERE d.dataset_id = p_dataset_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'dataset % does not exist', p_dataset_id USING ERRCODE = 'P0002';
  END IF;
  IF p_horizon IS NULL OR p_horizon <= interval '0' THEN
    RAISE EXCEPTION 'horizon must be positive, got %', p_horizon USING ERRCODE = '22023';
  END IF;
  PERFORM ltv._check_buckets(v_buckets);  -- as the analysis option "buckets" is checked
  IF v_n = 0 OR array_ndims(p_cutoffs) > 1 OR coalesce(cardinality(p_test_fractions), 0) <> v_n THEN
    RAISE EXCEPTION 'one test_fraction (or NULL) per cutoff is needed, and at least one cutoff' USING ERRCODE = '22023';
  END IF;
  FOR i IN 1 .. v_n LOOP
    IF p_test_fractions[i] IS NOT NULL AND NOT (p_test_fractions[i] > 0 AND p_test_fractions[i] < 1) THEN
      RAISE EXCEPTION 'test_fraction must be between 0 and 1 (exclusive), got %', p_test_fractions[i] USING ERRCODE = '22023';
    END IF;
  END LOOP;
  IF p_seed IS NULL AND EXISTS (SELECT 1 FROM unnest(p_test_fractions) f WHERE f IS NOT NULL) THEN
    RAISE EXCEPTION 'seed must not be NULL when a test_fraction is given' USING ERRCODE = '22023';
  END IF;
  IF v_dataset.last_purchase IS NULL THEN
    RAISE EXCEPTION 'dataset % has no transactions', p_dataset_id USING ERRCODE = '22023';
  END IF;
  v_cutoffs := ARRAY(SELECT coalesce(c, v_dataset.last_purchase - p_horizon)
                       FROM unnest(p_cutoffs) WITH ORDINALITY u(c, k) ORDER BY k);
  IF (SELECT count(DISTINCT c) FROM unnest(v_cutoffs) c) <> v_n THEN
    RAISE EXCEPTION 'cutoffs must be distinct, got %', v_cutoffs USING ERRCODE = '22023';
  END IF;

  IF p_target = 'ltv.customer_features'::regclass THEN
    DELETE FROM ltv.customer_features cf
     WHERE cf.dataset_id = p_dataset_id AND cf.cutoff = ANY (v_cutoffs)
       AND cf.run_id IS NOT DISTINCT FROM p_run_id;
  END IF;

  -- The dataset's own partition is queried directly: its statistics (gathered here if no
  -- ANALYZE ran yet) tell the planner how many customers to expect. Through the parent table
  -- it would guess 200 groups and size a hash aggregate that spills millions of customers.
  v_partition := format('ltv.%I', 'transactions_' || p_dataset_id);
  IF (SELECT coalesce(last_analyze, last_autoanalyze) IS NULL FROM pg_stat_user_tables
       WHERE relid = v_partition::regclass) THEN
    -- Only the columns the plan depends on (half the time of a full ANALYZE on the UCI
    -- data), from a sample of 3,000 rows (statistics target 10, set below): the planner needs
    -- the row count, the customer count (set exactly at import as n_distinct) and a rough
    -- time histogram, and the default 30,000-row sample took 0.5 s on a million customers'
    -- 20 million lines (55 ms this way). Autovacuum analyzes everything fully later.
    PERFORM ltv._analyze_partition(p_dataset_id);  -- ANALYZE is the table owner's
  END IF;

  -- One row per snapshot k (cutoff $1[k]) and customer active before that cutoff
  -- (first_time < cutoff), from one scan: each line goes to the snapshots whose cutoff +
  -- horizon ($3[k]) it precedes, the only ones it counts in. The row holds the features, the
  -- future spend in [cutoff, cutoff + horizon) and the registry's window spends in slot order
  -- (ltv._window_features, ltv._window_filter). The spends are summed in exact integer
  -- micro-units (amounts are stored rounded to 1e-6): a float sum would depend on the order
  -- rows arrive in (parallel workers), and so would the labels. row_position, the row's place
  -- in its snapshot (1..n), is how _store_snapshot reads its rank arrays back. Sorting is off:
  -- the planner deems the (snapshot, customer) groups' states too big for a hash table and
  -- would sort every joined line instead, much slower; the hash aggregate spills by
  -- partition when it must.
  EXECUTE format($q$
    CREATE TEMP TABLE ltv_snapshots_tmp ON COMMIT DROP AS
    SELECT a.k, (row_number() OVER (PARTITION BY a.k))::integer AS row_position, a.customer_id,
           a.first_time, a.f, a.future_spend, a.windows
      FROM (SELECT c.k::integer AS k, t.customer_id::text AS customer_id, min(t.invoice_time) AS first_time,
                   ltv.customer_features(t.invoice, t.stock_code, t.invoice_time, t.amount, c.cutoff) AS f,
                   coalesce(sum((t.amount * 1e6)::bigint) FILTER (WHERE t.invoice_time >= c.cutoff), 0)::double precision / 1e6 AS future_spend,
                   ARRAY[%s]::double precision[] AS windows
              FROM %s t
              JOIN unnest($1, $3) WITH ORDINALITY c(cutoff, stop, k) ON t.invoice_time < c.stop
             GROUP BY c.k, t.customer_id
            HAVING min(t.invoice_time) < $1[c.k]) a$q$,
    (SELECT coalesce(string_agg(format('coalesce(sum((t.amount * 1e6)::bigint) FILTER (WHERE %s), 0)::double precision / 1e6',
                                       ltv._window_filter(w.argument, 'c.cutoff', '$2')), ', ' ORDER BY w.slot), '')
       FROM ltv._window_features() w),
    v_partition)
    USING v_cutoffs, p_horizon, ARRAY(SELECT c + p_horizon FROM unnest(v_cutoffs) WITH ORDINALITY u(c, k) ORDER BY k);
  v_insert := ltv._snapshot_insert_sql(p_target);
  FOR i IN 1 .. v_n LOOP
    v_results := v_results || ltv._store_snapshot(p_dataset_id, v_cutoffs[i], p_horizon, v_buckets, p_run_id,
                                                  p_test_fractions[i], p_seed,
                                                  v_cutoffs[i] + p_horizon <= v_dataset.last_purchase, i,
                                                  v_insert);
  END LOOP;
  DROP TABLE ltv_snapshots_tmp;
  RETURN v_results;
END
$$;

-- Computes features for every customer with a transaction before the cutoff, the future
-- spend and true bucket (when cutoff + horizon is within the data), and the baseline bucket,
-- storing them in ltv.customer_features. Returns a summary with the cut points used.
--   cutoff      default: the dataset's last purchase minus the horizon (labels fully observed)
--   horizon     default 6 months; must be positive
--   buckets     {"quantiles": [0.5, 0.8, 0.95]} (default) or {"amounts": [c1, c2, c3]}
--   run_id      the run the rows belong to (NULL for ad hoc use); rows of the same
--               dataset, run and cutoff are replaced
--   test_fraction, seed  when given, each row's split column is set: a stratified, seeded
--               held-out set of that fraction of each true bucket (see ltv._store_snapshot)
CREATE FUNCTION ltv.materialize_features(dataset_id bigint,
                                         cutoff timestamp DEFAULT NULL,
                                         horizon interval DEFAULT '6 months',
                                         buckets jsonb DEFAULT '{}',
                                         run_id bigint DEFAULT NULL,
                                         test_fraction double precision DEFAULT NULL,
                                         seed bigint DEFAULT 0)
RETURNS jsonb
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
SELECT (ltv._materialize_snapshots(dataset_id, ARRAY[cutoff], horizon, buckets, run_id,
                                   ARRAY[test_fraction], seed))[1]
$$;
CREATE FUNCTION ltv._percent_ranks(positions integer[], vals double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'ltv_percent_ranks'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv._percent_ranks(integer[], double precision[]) IS
  'Internal: result[positions[i]] = percent_rank() OVER (ORDER BY vals) of vals[i]; positions are distinct, 1 or more; the result has greatest(positions) elements (0 where no position)';

CREATE FUNCTION ltv._stratified_holdout(positions integer[], strata integer[], keys bigint[],
                                        tiebreaks text[], fraction double precision)
RETURNS boolean[]
AS 'MODULE_PATHNAME', 'ltv_stratified_holdout'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv._stratified_holdout(integer[], integer[], bigint[], text[], double precision) IS
  'Internal: result[positions[i]] is true when member i is among the first floor(count * fraction + 0.5) of its stratum (NULL strata form one) ordered by key, then tiebreak bytes; positions as for ltv._percent_ranks (false where no position)';

COMMENT ON FUNCTION ltv.materialize_features(bigint, timestamp, interval, jsonb, bigint, double precision, bigint) IS
  'Stores features, future spend, true bucket and baseline bucket of every customer active before the cutoff in ltv.customer_features (with a test_fraction, also a stratified seeded test/train split); returns the cut points and bucket counts';

-- The scoring time of a dataset's predictions: just after its last purchase, so that the
-- last window (what the naive rule and the window features look at) ends with the data
-- (an analysis's as_of, and ltv.predict's default).
CREATE FUNCTION ltv._default_as_of(last_purchase timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT last_purchase + interval '1 second' $$;
