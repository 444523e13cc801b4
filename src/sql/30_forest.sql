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

CREATE FUNCTION ltv.rf_feature_names(model bytea) RETURNS text[]
AS 'MODULE_PATHNAME', 'ltv_rf_feature_names' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ltv.rf_feature_names(bytea) IS
  'Names of the features a model was trained on, in its input order';
