// The four value groups, in order, with plain-words explanations.
export const BUCKETS = ['low', 'medium', 'high', 'vip'];

export const BUCKET_LABEL = { low: 'Low', medium: 'Medium', high: 'High', vip: 'VIP' };

export const BUCKET_COLOR = { low: '#94a3b8', medium: '#38bdf8', high: '#f59e0b', vip: '#7c3aed' };

export const BUCKET_TEXT = {
  low: 'Expected to spend little in the next 6 months (like the bottom half of customers).',
  medium: 'Expected to spend a moderate amount (like the next 30% of customers).',
  high: 'Expected to spend a lot (like the next 15% of customers).',
  vip: 'Expected to be among your top 5% of spenders.',
};

export const BUCKET_BADGE = {
  low: 'bg-slate-100 text-slate-700 ring-slate-300',
  medium: 'bg-sky-50 text-sky-800 ring-sky-300',
  high: 'bg-amber-50 text-amber-800 ring-amber-300',
  vip: 'bg-violet-50 text-violet-800 ring-violet-300',
};

// The 18 model inputs (docs/features.md) in plain words.
export const FEATURE_LABEL = {
  recency_days: ['Days since last purchase', 'days'],
  frequency: ['Number of orders', 'count'],
  monetary: ['Total spend (after returns)', 'money'],
  avg_order_value: ['Average order value', 'money'],
  tenure_days: ['Days since first purchase', 'days'],
  spend_30d: ['Spend in the last 30 days', 'money'],
  spend_90d: ['Spend in the last 90 days', 'money'],
  spend_180d: ['Spend in the last 180 days', 'money'],
  spend_365d: ['Spend in the last 365 days', 'money'],
  orders_30d: ['Orders in the last 30 days', 'count'],
  orders_90d: ['Orders in the last 90 days', 'count'],
  orders_180d: ['Orders in the last 180 days', 'count'],
  orders_365d: ['Orders in the last 365 days', 'count'],
  trend_90d: ['Spending trend (last 90 days vs the 90 before)', 'money'],
  returns_amount: ['Value of returns', 'money'],
  returns_count: ['Orders with returns', 'count'],
  distinct_products: ['Different products bought', 'count'],
  mean_days_between: ['Average days between orders', 'days'],
  // Extra model inputs of the analysis (ltv.model_feature_names()): "rank" is the customer's
  // position among all customers at the same date, 0 (lowest) to 1 (highest).
  baseline_spend: ['Spend in the last 6 months', 'money'],
  baseline_spend_rank: ['Last-6-months spend compared with other customers', 'rank'],
  monetary_rank: ['Total spend compared with other customers', 'rank'],
  frequency_rank: ['Number of orders compared with other customers', 'rank'],
  spend_90d_rank: ['Last-90-days spend compared with other customers', 'rank'],
  season_spend: ['Spend in the same 6 months a year earlier', 'money'],
  season_spend_rank: ['Same-season spend a year earlier compared with other customers', 'rank'],
  clv_expected_spend: ['Spend expected from the buying pattern (BG/NBD)', 'money'],
  clv_p_alive: ['Chance the customer is still active (BG/NBD)', 'chance'],
  clv_expected_spend_rank: ['Expected spend compared with other customers', 'rank'],
};

export function featureLabel(name) {
  return (FEATURE_LABEL[name] || [name.replace(/_/g, ' ')])[0];
}
