// Model quality in plain words: what a run serves, how it was checked, how much better it is
// than the simple rule. Pure functions (no React, no fetch), unit-tested in
// test/browser/unit.test.mjs. Inputs are the fields of ltv_api.model_summary (docs/api.md).

/** The parts a candidate is made of ("blend_<a>_<b>_<w>"), in plain words. */
export const SOURCE_LABEL = {
  model: 'the learned model',
  clv: 'the buying-pattern model',
  naive: 'recent spending',
};

const SOURCE_SHORT = { model: 'learned model', clv: 'buying-pattern model', naive: 'recent spending' };

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const pct = (x) => `${Math.round(x * 100)}%`;

/**
 * A candidate's name -> {name, kind, label, short, mix}:
 *   kind  'naive' (the simple rule) or 'prediction' (anything else, unknown names included);
 *   label a sentence for the page ("Our prediction: a blend of the learned model and recent spending");
 *   short a few words for a table row ("Learned model + recent spending (50/50)");
 *   mix   for blends, the shares in words ("50% the learned model, 50% recent spending"), else null.
 */
export function candidateLabel(name) {
  const n = typeof name === 'string' ? name : '';
  if (n === 'naive') {
    return {
      name: n, kind: 'naive', mix: null,
      label: "The simple rule: each customer's group comes from what they spent in the last 6 months",
      short: "Simple rule (last 6 months' spend)",
    };
  }
  if (n === 'classifier') {
    return { name: n, kind: 'prediction', mix: null, label: "Our prediction: the learned model's own choice of group", short: 'Learned model (its own choice)' };
  }
  if (n === 'model_rank') {
    return { name: n, kind: 'prediction', mix: null, label: 'Our prediction: customers ranked by the learned model', short: 'Learned model (ranking)' };
  }
  if (n === 'clv_rank') {
    return {
      name: n, kind: 'prediction', mix: null,
      label: 'Our prediction: customers ranked by how often and how recently they buy (the buying-pattern model)',
      short: 'Buying-pattern model',
    };
  }
  const b = /^blend_(model|clv|naive)_(model|clv|naive)_([01](?:\.\d+)?)$/.exec(n);
  if (b && b[1] !== b[2] && Number(b[3]) >= 0 && Number(b[3]) <= 1) {
    const [, a, c, w] = b;
    const wa = Number(w);
    const split = `${Math.round(wa * 100)}/${Math.round((1 - wa) * 100)}`;
    return {
      name: n, kind: 'prediction',
      label: `Our prediction: a blend of ${SOURCE_LABEL[a]} and ${SOURCE_LABEL[c]}`,
      short: `${cap(SOURCE_SHORT[a])} + ${SOURCE_SHORT[c]} (${split})`,
      mix: `${pct(wa)} ${SOURCE_LABEL[a]}, ${pct(1 - wa)} ${SOURCE_LABEL[c]}`,
    };
  }
  return { name: n, kind: 'prediction', mix: null, label: n ? `Our prediction (${n})` : 'Our prediction', short: n || 'Prediction' };
}

/** How the run checked its predictions, in words: model_summary.evaluation -> text or null. */
export function checkLabel(evaluation) {
  if (evaluation === 'out_of_time') return 'checked on the months after the training data';
  if (evaluation === 'customer_split' || evaluation === 'split') return 'checked on customers held out';
  return null;
}

const isNum = (x) => x !== null && x !== undefined && x !== '' && Number.isFinite(Number(x));

/** A macro-F1 difference (0..1 scale) as signed points out of 100: 0.052 -> "+5.2". */
export function fmtPoints(x) {
  if (!isNum(x)) return '–';
  const v = Math.round(Number(x) * 1000) / 10;
  if (v === 0) return '0.0';
  return `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}

/**
 * The lift over the simple rule with its 90% interval, in words:
 * (0.05, [0.02, 0.08]) -> "+5.0 points (likely between +2.0 and +8.0)".
 */
export function liftText(lift, ci) {
  if (!isNum(lift)) return null;
  let s = `${fmtPoints(lift)} points`;
  if (Array.isArray(ci) && ci.length === 2 && isNum(ci[0]) && isNum(ci[1])) {
    s += ` (likely between ${fmtPoints(ci[0])} and ${fmtPoints(ci[1])})`;
  }
  return s;
}

/**
 * The verdict shown beside the scores: 'naive' when the run serves the simple rule, else
 * 'better' / 'same' / 'worse' from the lift (one point out of 100 either way is "the same"),
 * and 'unsure' when the 90% interval reaches zero or below although the lift is positive.
 */
export function verdictOf(m) {
  if (!m) return null;
  if (m.serves_naive === true || m.served === 'naive') return 'naive';
  const lift = isNum(m.lift_macro_f1) ? Number(m.lift_macro_f1)
    : m.model && m.baseline && isNum(m.model.macro_f1) && isNum(m.baseline.macro_f1) ? m.model.macro_f1 - m.baseline.macro_f1 : null;
  if (lift === null) return null;
  if (lift <= -0.01) return 'worse';
  if (lift < 0.01) return 'same';
  const ci = m.lift_ci90;
  if (Array.isArray(ci) && isNum(ci[0]) && Number(ci[0]) <= 0) return 'unsure';
  return 'better';
}

/** The candidates sorted best first (by macro F1, the served one first among equals). */
export function rankCandidates(candidates, served) {
  if (!Array.isArray(candidates)) return [];
  const f = (c) => (isNum(c.macro_f1) ? Number(c.macro_f1) : -Infinity);
  return [...candidates].sort((x, y) => f(y) - f(x) || (y.name === served) - (x.name === served) || String(x.name).localeCompare(String(y.name)));
}

/** Whether a candidate uses the learned model (random forest), so its feature importance applies. */
export function usesLearnedModel(name) {
  return name === 'classifier' || (typeof name === 'string' && /(^|_)model(_|$)/.test(name));
}
