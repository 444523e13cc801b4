// Whole-table orderings of a feature snapshot that SQL would compute with window sorts:
// percent ranks of a column and a stratified, seeded holdout. Done here in one sort each
// instead of one Postgres sort per window carrying every row (a million customers: about
// 4 s of window sorts per snapshot against a few hundred ms).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ltv {

// The percent rank of each value among all of them, as SQL's
// percent_rank() OVER (ORDER BY value): (number of values strictly below) / (n - 1), so equal
// values share a rank; 0 when there is only one value. NaN orders above every number and
// equal to NaN, as in Postgres.
std::vector<double> PercentRanks(const std::vector<double>& values);

// The bucket rule of quantile buckets (labels and the naive rule alike): each value's percent
// rank is its average 1-based rank among all values (equal values share it) over n, as
// pandas' rank(pct=True) gives; its bucket is the number of quantiles below that rank. With
// quantiles {0.5, 0.8, 0.95}: rank <= 0.5 low (0), <= 0.8 medium, <= 0.95 high, above vip (3).
// Equal values always share a bucket. NaN orders above every number, as in Postgres.
std::vector<int32_t> RankBuckets(const std::vector<double>& values,
                                 const std::vector<double>& quantiles);

// The members to hold out, stratum by stratum: within a stratum, members ordered by key, then
// by tiebreak bytes (as COLLATE "C" orders text); the first floor(count * fraction + 0.5) are
// held out. A member without a stratum (nullopt) belongs to the stratum of those without.
// Equivalent to SQL's row_number() OVER (PARTITION BY stratum ORDER BY key, tiebreak)
// <= floor(count(*) OVER (PARTITION BY stratum) * fraction + 0.5).
// All three vectors must have the same size; fraction in [0, 1].
std::vector<bool> StratifiedHoldout(const std::vector<std::optional<int32_t>>& strata,
                                    const std::vector<int64_t>& keys,
                                    const std::vector<std::string_view>& tiebreaks,
                                    double fraction);

}  // namespace ltv
