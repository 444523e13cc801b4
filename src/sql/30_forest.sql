-- Stage 5-7: random forest training into bytea, prediction, model info.

CREATE FUNCTION ltv._rf_train_transfn(internal, double precision[], integer, jsonb)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_rf_train_transfn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION ltv._rf_train_combinefn(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_rf_train_combinefn' LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION ltv._rf_train_serialfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'ltv_rf_train_serialfn' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION ltv._rf_train_deserialfn(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'ltv_rf_train_deserialfn' LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION ltv._rf_train_finalfn(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'ltv_rf_train_finalfn' LANGUAGE C PARALLEL SAFE;

CREATE AGGREGATE ltv.rf_train(features double precision[], label integer, params jsonb) (
  SFUNC = ltv._rf_train_transfn,
  STYPE = internal,
  FINALFUNC = ltv._rf_train_finalfn,
  COMBINEFUNC = ltv._rf_train_combinefn,
  SERIALFUNC = ltv._rf_train_serialfn,
  DESERIALFUNC = ltv._rf_train_deserialfn,
  PARALLEL = SAFE
);
COMMENT ON AGGREGATE ltv.rf_train(double precision[], integer, jsonb) IS
  'Trains a random forest classifier on (features, label) rows; returns the model as bytea. Labels are 0..n_classes-1. params: see docs/forest.md (n_trees, max_depth, min_samples_leaf, min_samples_split, max_features, class_weight, bootstrap, sample_fraction, max_bins, seed, threads, decision, feature_names, n_classes).';

CREATE FUNCTION ltv.rf_predict(model bytea, features double precision[]) RETURNS integer
AS 'MODULE_PATHNAME', 'ltv_rf_predict' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv.rf_predict(bytea, double precision[]) IS
  'Predicted class of one feature row under the model''s decision rule (argmax, or the OOB-tuned rule when trained with "decision": "tuned")';

CREATE FUNCTION ltv.rf_predict_proba(model bytea, features double precision[]) RETURNS double precision[]
AS 'MODULE_PATHNAME', 'ltv_rf_predict_proba' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv.rf_predict_proba(bytea, double precision[]) IS
  'Class probabilities of one feature row (mean of the trees'' leaf distributions)';

CREATE FUNCTION ltv.rf_info(model bytea) RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_rf_info' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.rf_info(bytea) IS
  'Parameters, feature names, tree and depth statistics, out-of-bag scores and feature importances of a model';

CREATE FUNCTION ltv.rf_check_params(params jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_rf_check_params' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.rf_check_params(jsonb) IS
  'The rf_train parameters with defaults filled in; raises the error rf_train would for a bad key or value';

CREATE FUNCTION ltv.rf_predict_batch(model bytea, keys text[], features double precision[])
RETURNS TABLE (key text, class integer, probabilities double precision[])
AS 'MODULE_PATHNAME', 'ltv_rf_predict_batch' LANGUAGE C STABLE PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION ltv.rf_predict_batch(bytea, text[], double precision[]) IS
  'Predicted class and probabilities of many rows in one call: row i of the two-dimensional features array (e.g. array_agg(vector)) belongs to keys[i]. Decodes the model once and walks the trees block by block.';

CREATE FUNCTION ltv.classification_metrics(truth integer[], predicted integer[], n_classes integer DEFAULT 4)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_classification_metrics' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.classification_metrics(integer[], integer[], integer) IS
  'Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix (rows = truth, columns = prediction) of two label arrays, with scikit-learn''s conventions (a zero denominator gives 0)';

-- Predictions for every customer of a dataset as of a time (default: just after the last
-- purchase), from a model trained on ltv.feature_vector rows with labels 0..3 = low..vip.
CREATE FUNCTION ltv.predict(model bytea, dataset_id bigint, as_of timestamp DEFAULT NULL)
RETURNS TABLE (customer_id text, bucket ltv.bucket, p_low double precision,
               p_medium double precision, p_high double precision, p_vip double precision)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET jit = off  -- compiling this plan costs ~250 ms and saves nothing
AS $$
DECLARE
  v_as_of timestamp := as_of;
BEGIN
  IF v_as_of IS NULL THEN
    SELECT d.last_purchase + interval '1 second' INTO v_as_of FROM ltv.datasets d WHERE d.dataset_id = predict.dataset_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'dataset % does not exist', predict.dataset_id USING ERRCODE = 'P0002';
    END IF;
  END IF;
  RETURN QUERY
  WITH f AS (
    SELECT t.customer_id::text AS id,
           ltv.feature_vector(ltv.customer_features(t.invoice, t.stock_code, t.invoice_time, t.amount, v_as_of)) AS v
      FROM ltv.transactions t
     WHERE t.dataset_id = predict.dataset_id AND t.invoice_time < v_as_of
     GROUP BY t.customer_id),
  batch AS (SELECT array_agg(f.id ORDER BY f.id) AS ids, array_agg(f.v ORDER BY f.id) AS vs FROM f)
  SELECT p.key, (enum_range(NULL::ltv.bucket))[p.class + 1],
         p.probabilities[1], p.probabilities[2], p.probabilities[3], p.probabilities[4]
    FROM batch CROSS JOIN LATERAL ltv.rf_predict_batch(model, batch.ids, batch.vs) p
   WHERE batch.ids IS NOT NULL;
END
$$;
COMMENT ON FUNCTION ltv.predict(bytea, bigint, timestamp) IS
  'Predicted bucket and class probabilities of every customer of a dataset with a transaction before as_of (default: just after the last purchase)';
