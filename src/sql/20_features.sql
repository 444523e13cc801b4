-- Stage 3 and 4: customer features as a parallel aggregate, proxy labels, baseline.

-- The feature registry (src/core/features/registry.h) is the one list of features: the
-- composite type below, the columns of ltv.customer_features, the model inputs and
-- ltv.feature_vector are all created from it here, at install.
CREATE FUNCTION ltv._feature_registry_json() RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_feature_registry_json' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION ltv.feature_registry()
RETURNS TABLE (ordinal integer, name text, sql_type text, source text, model_input boolean,
               missing_value double precision, argument text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT r.ordinal::integer, r.name, r.sql_type, r.source, r.model_input, r.missing_value,
       r.argument, r.description
  FROM ROWS FROM (jsonb_to_recordset(ltv._feature_registry_json())
                  AS (name text, sql_type text, source text, model_input boolean,
                      missing_value double precision, argument text, description text))
       WITH ORDINALITY AS r(name, sql_type, source, model_input, missing_value, argument, description, ordinal)
$$;
COMMENT ON FUNCTION ltv.feature_registry() IS
  'Every customer feature: its name, SQL type, how it is computed (aggregate, window, rank, clv), whether models use it, the model value for NULL, and what it means';

-- The snapshot-level features (ranks among a snapshot's customers, the CLV fit), computed in
-- C++ from the members' input columns: see core/features/derived.h.
CREATE FUNCTION ltv._derived_inputs() RETURNS text[]
AS 'MODULE_PATHNAME', 'ltv_derived_inputs' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ltv._derived_names() RETURNS text[]
AS 'MODULE_PATHNAME', 'ltv_derived_names' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ltv._derived_features(positions integer[], inputs double precision[], horizon_days double precision)
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'ltv_derived_features' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._derived_features(integer[], double precision[], double precision) IS
  'Internal: row j = derived feature j (ltv._derived_names()) of the member at each position; inputs[i][c] = member i''s value of column c of ltv._derived_inputs()';

-- ltv.features: what the aggregate returns, the registry's aggregate rows and the cutoff.
DO $$
BEGIN
  EXECUTE (SELECT format('CREATE TYPE ltv.features AS (%s, cutoff timestamp)',
                         string_agg(format('%I %s', r.name, r.sql_type), ', ' ORDER BY r.ordinal))
             FROM ltv.feature_registry() r WHERE r.source = 'aggregate');
END
$$;
COMMENT ON TYPE ltv.features IS 'Features of one customer as of a cutoff (see docs/features.md)';

-- COST 10: one call per transaction line does about ten times the work of a built-in operator
-- (two key hashes, an invoice lookup, the product set, four window sums: 300-450 instructions
-- against 30-40 for float8pl). With the default cost 1 the planner undervalues splitting that
-- work across workers and runs large aggregations serially (docs/benchmarks.md, SQL).
CREATE FUNCTION ltv._features_transfn(internal, text, text, timestamp, double precision, timestamp)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_features_transfn' LANGUAGE C PARALLEL SAFE COST 10;
CREATE FUNCTION ltv._features_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_features_combinefn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION ltv._features_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'ltv_features_serialfn' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION ltv._features_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_features_deserialfn' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION ltv._features_finalfn(internal)
RETURNS ltv.features AS 'MODULE_PATHNAME', 'ltv_features_finalfn' LANGUAGE C PARALLEL SAFE;

CREATE AGGREGATE ltv.customer_features(invoice text, stock_code text, invoice_time timestamp,
                                       amount double precision, cutoff timestamp) (
  SFUNC = ltv._features_transfn,
  STYPE = internal,
  SSPACE = 512,
  FINALFUNC = ltv._features_finalfn,
  COMBINEFUNC = ltv._features_combinefn,
  SERIALFUNC = ltv._features_serialfn,
  DESERIALFUNC = ltv._features_deserialfn,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE ltv.customer_features(text, text, timestamp, double precision, timestamp) IS
  'Features of a customer as of cutoff, over the customer''s transaction lines (lines at or after the cutoff are ignored). Use with GROUP BY customer_id.';

-- The model inputs, in the order of ltv.feature_vector (see 25_customer_features.sql).
CREATE FUNCTION ltv.feature_names() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT array_agg(r.name ORDER BY r.ordinal) FROM ltv.feature_registry() r WHERE r.model_input $$;
COMMENT ON FUNCTION ltv.feature_names() IS
  'Names of the model inputs, in the order of ltv.feature_vector(ltv.customer_features)';

-- Stage 4: buckets. cut_points are three ascending amounts c1 <= c2 <= c3:
-- spend <= c1 low, <= c2 medium, <= c3 high, above vip. Ties at a cut point take the lower
-- bucket, so equal spend always means equal bucket.
CREATE FUNCTION ltv.spend_bucket(spend double precision, cut_points double precision[])
RETURNS ltv.bucket
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF array_length(cut_points, 1) IS DISTINCT FROM 3 OR array_position(cut_points, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'cut_points must be three amounts, got %', cut_points USING ERRCODE = '22023';
  END IF;
  IF NOT (cut_points[1] <= cut_points[2] AND cut_points[2] <= cut_points[3]) THEN
    RAISE EXCEPTION 'cut_points must be ascending, got %', cut_points USING ERRCODE = '22023';
  END IF;
  RETURN CASE WHEN spend <= cut_points[1] THEN 'low'
              WHEN spend <= cut_points[2] THEN 'medium'
              WHEN spend <= cut_points[3] THEN 'high'
              ELSE 'vip' END::ltv.bucket;
END
$$;
COMMENT ON FUNCTION ltv.spend_bucket(double precision, double precision[]) IS
  'Bucket of a spend amount under cut points [c1, c2, c3]: <= c1 low, <= c2 medium, <= c3 high, else vip';

-- Cut points from quantiles of the given spends (percentile_disc: each cut is a spend that
-- occurs). Default quantiles 0.5, 0.8, 0.95: bottom 50% low, next 30% medium, next 15% high,
-- top 5% vip, with ties kept together in the lower bucket.
CREATE FUNCTION ltv.quantile_cut_points(spends double precision[],
                                        quantiles double precision[] DEFAULT '{0.5,0.8,0.95}')
RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_cuts double precision[];
BEGIN
  IF array_length(quantiles, 1) IS DISTINCT FROM 3
     OR NOT (0 < quantiles[1] AND quantiles[1] <= quantiles[2] AND quantiles[2] <= quantiles[3] AND quantiles[3] < 1) THEN
    RAISE EXCEPTION 'quantiles must be three ascending fractions in (0, 1), got %', quantiles
      USING ERRCODE = '22023';
  END IF;
  SELECT percentile_disc(quantiles) WITHIN GROUP (ORDER BY s) INTO v_cuts
    FROM unnest(spends) AS s WHERE s IS NOT NULL;
  IF v_cuts IS NULL OR array_position(v_cuts, NULL) IS NOT NULL THEN
    RAISE EXCEPTION 'cannot compute cut points: no spends given' USING ERRCODE = '22023';
  END IF;
  RETURN v_cuts;
END
$$;
