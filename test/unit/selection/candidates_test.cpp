// Candidates (core/selection/candidates.h): names, the rank assignment by shares, and what
// each candidate gives, checked against hand-worked examples.
#include "core/selection/candidates.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ltv::selection {
namespace {

TEST(SelectionCandidates, StandardListStartsWithNaiveAndNamesParse) {
  const auto all = StandardCandidates(true, true);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().name, "naive");
  for (const auto& spec : all) EXPECT_EQ(ParseCandidate(spec.name).name, spec.name);
  EXPECT_EQ(StandardCandidates(false, false).size(), 1u);  // the naive rule alone
  for (const auto& spec : StandardCandidates(false, true))
    EXPECT_EQ(spec.weights[static_cast<int>(Source::kModel)], 0) << spec.name;
  EXPECT_THROW(ParseCandidate("blend_model_naive_0.33"), Error);
  EXPECT_THROW(ParseCandidate(""), Error);
}

TEST(SelectionCandidates, AssignBySharesGivesExactCounts) {
  // 20 customers, shares 50/30/15/5: 10 low, 6 medium, 3 high, 1 vip, by score.
  std::vector<double> score(20);
  for (int i = 0; i < 20; ++i) score[i] = 19 - i;  // customer 0 highest
  const std::vector<int> b = AssignByShares(score, {}, Shares{0.5, 0.3, 0.15, 0.05});
  EXPECT_EQ(b[0], 3);
  EXPECT_EQ(b[1], 2);
  EXPECT_EQ(b[3], 2);
  EXPECT_EQ(b[4], 1);
  EXPECT_EQ(b[9], 1);
  EXPECT_EQ(b[10], 0);
  EXPECT_EQ(b[19], 0);
  int counts[4] = {0};
  for (int x : b) counts[x]++;
  EXPECT_EQ(counts[0], 10);
  EXPECT_EQ(counts[1], 6);
  EXPECT_EQ(counts[2], 3);
  EXPECT_EQ(counts[3], 1);
}

TEST(SelectionCandidates, TiesAreBrokenByTiebreakThenPosition) {
  // All scores equal: the tiebreak orders them; equal tiebreaks keep input order.
  const std::vector<double> score(4, 1.0);
  const std::vector<double> tiebreak = {5, 1, 5, 0};
  const std::vector<int> b = AssignByShares(score, tiebreak, Shares{0.5, 0.25, 0.25, 0});
  // ascending: 3 (0), 1 (1), 0 (5), 2 (5) -> low, low, medium, high
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(b[1], 0);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[2], 2);
}

TEST(SelectionCandidates, EachKindGivesWhatItSays) {
  ScoreInputs in;
  in.naive_bucket = {0, 1, 2, 3};
  in.naive_score = {1, 2, 3, 4};
  in.model_class = {3, 2, 1, 0};
  in.model_score = {4, 3, 2, 1};  // the reverse of the naive order
  const Shares quarter{0.25, 0.25, 0.25, 0.25};
  EXPECT_EQ(Assign(ParseCandidate("naive"), in, quarter), in.naive_bucket);
  EXPECT_EQ(Assign(ParseCandidate("classifier"), in, quarter), in.model_class);
  EXPECT_EQ(Assign(ParseCandidate("model_rank"), in, quarter), (std::vector<int>{3, 2, 1, 0}));
  // The 50/50 blend of opposite orders ties everyone: the naive spend breaks the ties.
  EXPECT_EQ(Assign(ParseCandidate("blend_model_naive_0.50"), in, quarter),
            (std::vector<int>{0, 1, 2, 3}));
  // 75% model: the model's order wins.
  EXPECT_EQ(Assign(ParseCandidate("blend_model_naive_0.75"), in, quarter),
            (std::vector<int>{3, 2, 1, 0}));
  // No CLV scores: a CLV candidate is an error naming what is missing.
  EXPECT_THROW(Assign(ParseCandidate("clv_rank"), in, quarter), Error);
}

TEST(SelectionCandidates, InputsAndSharesAreValidated) {
  ScoreInputs in;
  in.naive_bucket = {0, 4};
  in.naive_score = {1, 2};
  EXPECT_THROW(in.Validate(), Error);
  in.naive_bucket = {0, 1};
  in.model_score = {1};
  EXPECT_THROW(in.Validate(), Error);
  EXPECT_THROW(NormalizedShares({1, 2, 3}), Error);
  EXPECT_THROW(NormalizedShares({0, 0, 0, 0}), Error);
  EXPECT_THROW(NormalizedShares({1, -1, 0, 0}), Error);
  const Shares s = NormalizedShares({2, 1, 1, 0});
  EXPECT_DOUBLE_EQ(s[0], 0.5);
  EXPECT_DOUBLE_EQ(s[3], 0);
}

}  // namespace
}  // namespace ltv::selection
