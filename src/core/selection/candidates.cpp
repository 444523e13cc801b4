#include "core/selection/candidates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "core/ranking.h"

namespace ltv::selection {
namespace {

const char* SourceName(Source s) {
  switch (s) {
    case Source::kModel:
      return "model";
    case Source::kClv:
      return "clv";
    case Source::kNaive:
      return "naive";
  }
  return "?";
}

CandidateSpec Blend(Source a, Source b, double w) {
  CandidateSpec spec;
  spec.kind = CandidateSpec::Kind::kRank;
  spec.weights[static_cast<int>(a)] = w;
  spec.weights[static_cast<int>(b)] = 1 - w;
  char buf[64];
  std::snprintf(buf, sizeof buf, "blend_%s_%s_%.2f", SourceName(a), SourceName(b), w);
  spec.name = buf;
  return spec;
}

CandidateSpec Single(Source a, const char* name) {
  CandidateSpec spec;
  spec.kind = CandidateSpec::Kind::kRank;
  spec.weights[static_cast<int>(a)] = 1;
  spec.name = name;
  return spec;
}

// Blend weights offered: the first source's share of the score.
constexpr double kBlendWeights[] = {0.25, 0.5, 0.75};

}  // namespace

void ScoreInputs::Validate() const {
  const size_t n = naive_bucket.size();
  auto fail = [](const std::string& what) { throw Error(ErrorKind::kInvalidInput, what); };
  if (naive_score.size() != n) fail("naive_score and naive_bucket differ in length");
  if (!model_class.empty() && model_class.size() != n) fail("model_class has the wrong length");
  if (!model_score.empty() && model_score.size() != n) fail("model_score has the wrong length");
  if (!clv_score.empty() && clv_score.size() != n) fail("clv_score has the wrong length");
  if (model_class.empty() != model_score.empty())
    fail("model_class and model_score must both be given or both be empty");
  for (int b : naive_bucket)
    if (b < 0 || b > 3) fail("naive_bucket values must be 0..3");
  for (int b : model_class)
    if (b < 0 || b > 3) fail("model_class values must be 0..3");
  for (const auto* v : {&naive_score, &model_score, &clv_score})
    for (double x : *v)
      if (!std::isfinite(x)) fail("scores must be finite numbers");
}

std::vector<CandidateSpec> StandardCandidates(bool has_model, bool has_clv) {
  std::vector<CandidateSpec> out;
  CandidateSpec naive;
  naive.kind = CandidateSpec::Kind::kNaive;
  naive.name = "naive";
  out.push_back(naive);
  if (has_model) {
    CandidateSpec classifier;
    classifier.kind = CandidateSpec::Kind::kClassifier;
    classifier.name = "classifier";
    out.push_back(classifier);
    out.push_back(Single(Source::kModel, "model_rank"));
    for (double w : kBlendWeights) out.push_back(Blend(Source::kModel, Source::kNaive, w));
  }
  if (has_clv) {
    out.push_back(Single(Source::kClv, "clv_rank"));
    for (double w : kBlendWeights) out.push_back(Blend(Source::kClv, Source::kNaive, w));
  }
  if (has_model && has_clv)
    for (double w : kBlendWeights) out.push_back(Blend(Source::kModel, Source::kClv, w));
  return out;
}

CandidateSpec ParseCandidate(const std::string& name) {
  for (const CandidateSpec& spec : StandardCandidates(true, true))
    if (spec.name == name) return spec;
  throw Error(ErrorKind::kInvalidParameter,
              "unknown candidate \"" + name.substr(0, 64) +
                  "\"; expected naive, classifier, model_rank, clv_rank or "
                  "blend_<model|clv>_<clv|naive>_<0.25|0.50|0.75>");
}

Shares NormalizedShares(const std::vector<double>& shares) {
  if (shares.size() != 4)
    throw Error(ErrorKind::kInvalidParameter, "shares must be four numbers (low..vip)");
  double sum = 0;
  for (double s : shares) {
    if (!std::isfinite(s) || s < 0)
      throw Error(ErrorKind::kInvalidParameter, "shares must be finite and non-negative");
    sum += s;
  }
  if (!(sum > 0)) throw Error(ErrorKind::kInvalidParameter, "shares must not all be zero");
  Shares out;
  for (int b = 0; b < 4; ++b) out[b] = shares[b] / sum;
  return out;
}

std::vector<int> AssignByShares(const std::vector<double>& score,
                                const std::vector<double>& tiebreak, const Shares& shares) {
  const size_t n = score.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (score[a] != score[b]) return score[a] < score[b];
    if (!tiebreak.empty() && tiebreak[a] != tiebreak[b]) return tiebreak[a] < tiebreak[b];
    return a < b;
  });
  // Bucket ends: the first round(n * cumulative share) positions of the order.
  std::array<size_t, 4> ends{};
  double cumulative = 0;
  for (int b = 0; b < 4; ++b) {
    cumulative += shares[b];
    ends[b] = b == 3 ? n : std::min(n, static_cast<size_t>(std::llround(cumulative * n)));
  }
  std::vector<int> out(n);
  int bucket = 0;
  for (size_t i = 0; i < n; ++i) {
    while (bucket < 3 && i >= ends[bucket]) ++bucket;
    out[order[i]] = bucket;
  }
  return out;
}

std::vector<double> CandidateScore(const CandidateSpec& spec, const ScoreInputs& inputs) {
  switch (spec.kind) {
    case CandidateSpec::Kind::kNaive:
      return inputs.naive_score;
    case CandidateSpec::Kind::kClassifier:
      return inputs.model_score;
    case CandidateSpec::Kind::kRank:
      break;
  }
  const size_t n = inputs.size();
  std::vector<double> score(n, 0.0);
  const std::vector<double>* sources[kSources] = {&inputs.model_score, &inputs.clv_score,
                                                  &inputs.naive_score};
  for (int s = 0; s < kSources; ++s) {
    if (spec.weights[s] == 0) continue;
    if (sources[s]->size() != n)
      throw Error(ErrorKind::kInvalidParameter, "candidate \"" + spec.name + "\" needs the " +
                                                    SourceName(static_cast<Source>(s)) +
                                                    " scores, which this run does not have");
    std::vector<double> ranks = PercentRanks(*sources[s]);
    for (size_t i = 0; i < n; ++i) score[i] += spec.weights[s] * ranks[i];
  }
  return score;
}

std::vector<int> Assign(const CandidateSpec& spec, const ScoreInputs& inputs,
                        const Shares& shares) {
  inputs.Validate();
  switch (spec.kind) {
    case CandidateSpec::Kind::kNaive:
      return inputs.naive_bucket;
    case CandidateSpec::Kind::kClassifier:
      if (!inputs.has_model())
        throw Error(ErrorKind::kInvalidParameter,
                    "candidate \"classifier\" needs the model, which this run does not have");
      return inputs.model_class;
    case CandidateSpec::Kind::kRank:
      break;
  }
  // Ties (customers alike on every source, e.g. one-time buyers of equal amounts) are broken
  // by the naive rule's spend, then by position: the caller passes customers in a fixed order.
  return AssignByShares(CandidateScore(spec, inputs), inputs.naive_score, shares);
}

}  // namespace ltv::selection
