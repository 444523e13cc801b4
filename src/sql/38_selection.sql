-- The candidate predictors of a run and the out-of-time scores they are chosen by
-- (src/core/selection: candidates.h names them, evaluate.h scores and chooses).

CREATE FUNCTION ltv._evaluate_candidates(fold integer[], labels text[], truth integer[],
                                         future_spend double precision[], naive_bucket integer[],
                                         naive_score double precision[], model_class integer[],
                                         model_score double precision[], clv_score double precision[],
                                         shares double precision[], seed bigint, bootstrap_rounds integer)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_evaluate_candidates' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._evaluate_candidates(integer[], text[], integer[], double precision[], integer[], double precision[], integer[], double precision[], double precision[], double precision[], bigint, integer) IS
  'Internal: every candidate''s macro F1, lift over the naive rule (90% bootstrap interval), Spearman and normalized Gini per fold and on average, and the one to serve; element i belongs to fold fold[i] (labels[fold[i]]); shares: 4 per fold; model and CLV arrays may be empty';

CREATE FUNCTION ltv._assign_candidate(candidate text, naive_bucket integer[], naive_score double precision[],
                                      model_class integer[], model_score double precision[],
                                      clv_score double precision[], shares double precision[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'ltv_assign_candidates' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ltv._assign_candidate(text, integer[], double precision[], integer[], double precision[], double precision[], double precision[]) IS
  'Internal: the buckets (0..3) a candidate gives the customers of one snapshot, in the order given';

CREATE FUNCTION ltv._candidates_json() RETURNS jsonb
AS 'MODULE_PATHNAME', 'ltv_candidates_json' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ltv.candidates()
RETURNS TABLE (name text, uses_model boolean, uses_clv boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT c.name, c.uses_model, c.uses_clv
        FROM jsonb_to_recordset(ltv._candidates_json()) AS c(name text, uses_model boolean, uses_clv boolean) $$;
COMMENT ON FUNCTION ltv.candidates() IS
  'The candidate predictors an analysis evaluates (naive first), with the sources each uses: the random forest (model), the BG/NBD x Gamma-Gamma expected spend (clv)';
