// The predictors a run chooses between, and the one place that turns each into buckets.
//
// Every candidate maps the customers of one snapshot to buckets 0..3 (low..vip):
//  * "naive"       the naive rule: the bucket of the spend in the last horizon-length window
//                  under the snapshot's cut points (what the dashboard compares with);
//  * "classifier"  the random forest's own decision per customer;
//  * rank candidates: a score per customer, then buckets by rank so that the predicted shares
//                  equal the bucket shares of the labels (the bottom shares[0] of customers
//                  low, ...). The score is a weighted sum of percent ranks of up to three
//                  sources: the forest's expected class (sum of k * p_k), the BG/NBD expected
//                  spend, and the naive rule's spend. "model_rank", "clv_rank" and
//                  "blend_<a>_<b>_<w>" (w of a, 1 - w of b) name them.
// Evaluation and serving both call Assign(), so a candidate means the same thing in both.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace ltv::selection {

enum class Source { kModel = 0, kClv = 1, kNaive = 2 };
constexpr int kSources = 3;

struct CandidateSpec {
  enum class Kind { kNaive, kClassifier, kRank };
  Kind kind = Kind::kNaive;
  std::array<double, kSources> weights{};  // kRank: weight of each source's percent rank
  std::string name;
};

// Per-customer inputs of one snapshot. naive_bucket and naive_score are required; the model
// and CLV vectors are empty when that source is not available (candidates needing them are
// then not offered).
struct ScoreInputs {
  std::vector<int> naive_bucket;    // 0..3
  std::vector<double> naive_score;  // spend in [cutoff - horizon, cutoff)
  std::vector<int> model_class;     // the classifier's decision, 0..3
  std::vector<double> model_score;  // the classifier's expected class
  std::vector<double> clv_score;    // BG/NBD + Gamma-Gamma expected spend over the horizon
  size_t size() const { return naive_bucket.size(); }
  bool has_model() const { return !model_score.empty(); }
  bool has_clv() const { return !clv_score.empty(); }
  void Validate() const;  // equal lengths, buckets in range, finite scores; throws kInvalidInput
};

using Shares = std::array<double, 4>;  // fraction of customers per bucket, summing to 1

// The candidates offered when the model and/or CLV scores exist, naive first (it wins ties).
std::vector<CandidateSpec> StandardCandidates(bool has_model, bool has_clv);
// The spec of a candidate name as StandardCandidates names them; throws kInvalidParameter.
CandidateSpec ParseCandidate(const std::string& name);

// Checks and normalizes shares: four non-negative finite numbers with a positive sum.
Shares NormalizedShares(const std::vector<double>& shares);

// Buckets of every customer under a candidate.
std::vector<int> Assign(const CandidateSpec& spec, const ScoreInputs& inputs, const Shares& shares);

// The score a candidate ranks customers by (for rank correlations): the weighted percent
// ranks for rank candidates, the expected class for the classifier, the spend for naive.
std::vector<double> CandidateScore(const CandidateSpec& spec, const ScoreInputs& inputs);

// Buckets by rank: customers ordered by score ascending (ties by tiebreak ascending, then by
// position), the first round(n * shares[0]) low, up to round(n * (shares[0] + shares[1]))
// medium, and so on.
std::vector<int> AssignByShares(const std::vector<double>& score,
                                const std::vector<double>& tiebreak, const Shares& shares);

}  // namespace ltv::selection
