import { useEffect, useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { BucketBadge, Button, Card, Empty, ErrorBox, Spinner } from '../components/ui.jsx';
import { BUCKETS, BUCKET_COLOR, BUCKET_LABEL, BUCKET_TEXT, featureLabel } from '../lib/buckets.js';
import { fmtDate, fmtInt, fmtMoney, fmtMonth, fmtNum, fmtPct, isoDay } from '../lib/format.js';
import { candidateLabel, checkLabel, fmtPoints, liftText, rankCandidates, usesLearnedModel, verdictOf } from '../lib/quality.js';
import { navigate, rememberDataset } from '../lib/router.js';
import { useRpc } from '../lib/useRpc.js';
import { explainError, rpcCsv } from '../lib/api.js';
import RunHistory, { runHref } from '../components/RunHistory.jsx';

function addMonths(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1 + n, d));
  return t.toISOString().slice(0, 10);
}

function Filters({ dataset, value, onChange }) {
  const min = isoDay(dataset && dataset.first_purchase);
  const max = isoDay(dataset && dataset.last_purchase);
  const presets = max ? [
    ['All customers', '', ''],
    ['New in the last 3 months', addMonths(max, -3), max],
    ['New in the last 12 months', addMonths(max, -12), max],
  ] : [];
  const set = (patch) => onChange({ ...value, ...patch });
  return (
    <Card className="!p-4">
      <div className="flex flex-col gap-4 lg:flex-row lg:items-end">
        <fieldset className="flex flex-col gap-2 sm:flex-row sm:items-end">
          <legend className="mb-1 text-sm font-medium text-slate-700">Customers whose first purchase was</legend>
          <label className="text-sm text-slate-600">
            from
            <input type="date" className="mt-1 block w-full rounded-lg border border-slate-300 px-2 py-1.5 sm:w-40" min={min} max={max}
              value={value.from} onChange={(e) => set({ from: e.target.value })} data-testid="filter-from" />
          </label>
          <label className="text-sm text-slate-600">
            to
            <input type="date" className="mt-1 block w-full rounded-lg border border-slate-300 px-2 py-1.5 sm:w-40" min={min} max={max}
              value={value.to} onChange={(e) => set({ to: e.target.value })} data-testid="filter-to" />
          </label>
        </fieldset>
        <label className="text-sm font-medium text-slate-700">
          Value group
          <select className="mt-1 block w-full rounded-lg border border-slate-300 bg-white px-2 py-1.5 font-normal sm:w-44"
            value={value.segment} onChange={(e) => set({ segment: e.target.value })} data-testid="filter-segment">
            <option value="">All groups</option>
            {BUCKETS.map((b) => <option key={b} value={b}>{BUCKET_LABEL[b]} only</option>)}
          </select>
        </label>
        <div className="flex flex-wrap gap-2 lg:ml-auto">
          {presets.map(([label, from, to]) => (
            <Button key={label} variant="secondary" className="!px-3 !py-1.5 text-xs"
              onClick={() => onChange({ ...value, from, to })}>{label}</Button>
          ))}
          {(value.from || value.to || value.segment) && (
            <Button variant="link" className="text-xs" onClick={() => onChange({ from: '', to: '', segment: '' })} data-testid="filter-reset">Clear filters</Button>
          )}
        </div>
      </div>
    </Card>
  );
}

function SegmentCards({ segments }) {
  return (
    <div className="grid grid-cols-2 gap-3 lg:grid-cols-4" data-testid="segment-cards">
      {segments.segments.map((s) => (
        <div key={s.bucket} className="rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200" style={{ borderTop: `4px solid ${BUCKET_COLOR[s.bucket]}` }}>
          <BucketBadge bucket={s.bucket} />
          <div className="mt-2 text-2xl font-bold tabular-nums text-slate-900" data-testid={`segment-count-${s.bucket}`} data-count={s.customers}>
            {fmtInt(s.customers)}
          </div>
          <div className="text-xs text-slate-500">customers · {fmtPct(s.share, 1)}</div>
          <dl className="mt-3 space-y-1 text-xs text-slate-600">
            <div className="flex justify-between gap-2"><dt>Avg. spent so far</dt><dd className="tabular-nums">{fmtMoney(s.avg_past_spend)}</dd></div>
            <div className="flex justify-between gap-2"><dt>Avg. orders</dt><dd className="tabular-nums">{fmtNum(s.avg_orders)}</dd></div>
            <div className="flex justify-between gap-2"><dt>Days since last order</dt><dd className="tabular-nums">{fmtNum(s.avg_recency_days)}</dd></div>
            <div className="flex justify-between gap-2" title="How sure the model was, on average, about putting these customers in this group">
              <dt>How sure we are</dt><dd className="tabular-nums">{fmtPct(s.avg_probability)}</dd>
            </div>
          </dl>
        </div>
      ))}
    </div>
  );
}

function SegmentsChart({ segments }) {
  const data = segments.segments.map((s) => ({ bucket: s.bucket, name: BUCKET_LABEL[s.bucket], customers: s.customers }));
  return (
    <Card title="Customers per value group" subtitle={`What we expect each customer to spend in the next 6 months, from ${fmtDate(segments.as_of)}.`}>
      <div className="h-64 sm:h-72" data-testid="segments-chart" data-values={data.map((d) => `${d.bucket}:${d.customers}`).join(',')}>
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" />
            <YAxis allowDecimals={false} width={48} />
            <Tooltip formatter={(v) => [fmtInt(v), 'Customers']} />
            <Bar dataKey="customers" radius={[6, 6, 0, 0]} isAnimationActive={false}>
              {data.map((d) => <Cell key={d.bucket} fill={BUCKET_COLOR[d.bucket]} />)}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ul className="mt-3 grid gap-1 text-xs text-slate-500 sm:grid-cols-2">
        {BUCKETS.map((b) => <li key={b}><b className="text-slate-700">{BUCKET_LABEL[b]}:</b> {BUCKET_TEXT[b]}</li>)}
      </ul>
    </Card>
  );
}

function Cohorts({ cohorts }) {
  const months = cohorts.months || [];
  const monthLabel = (m) => (m ? fmtMonth(m) : 'No purchase yet');
  const data = months.map((m) => ({ ...m, label: monthLabel(m.cohort_month) }));
  return (
    <Card title="Groups by month of first purchase"
      subtitle="Each bar is the customers who first bought in that month, split by their predicted value group.">
      {months.length === 0 ? <Empty title="No customers match these filters." /> : (
        <>
          <div className="h-72" data-testid="cohorts-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="label" interval="preserveStartEnd" tick={{ fontSize: 12 }} />
                <YAxis allowDecimals={false} width={48} />
                <Tooltip formatter={(v, n) => [fmtInt(v), n]} />
                <Legend itemSorter={(item) => BUCKETS.indexOf(item.dataKey)} />
                {BUCKETS.map((b, i) => (
                  <Bar key={b} dataKey={b} name={BUCKET_LABEL[b]} stackId="a" fill={BUCKET_COLOR[b]} isAnimationActive={false}
                    radius={i === BUCKETS.length - 1 ? [4, 4, 0, 0] : undefined} />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </div>
          <div className="mt-4 overflow-x-auto">
            <table className="w-full min-w-[28rem] text-sm" data-testid="cohorts-table">
              <thead>
                <tr className="border-b text-left text-slate-500">
                  <th className="py-2 pr-2 font-medium">First purchase</th>
                  <th className="py-2 pr-2 text-right font-medium">Customers</th>
                  {BUCKETS.map((b) => <th key={b} className="py-2 pr-2 text-right font-medium">{BUCKET_LABEL[b]}</th>)}
                </tr>
              </thead>
              <tbody>
                {months.map((m) => (
                  <tr key={m.cohort_month || 'none'} className="border-b border-slate-100" data-month={m.cohort_month || ''}>
                    <td className="py-1.5 pr-2" title={m.cohort_month ? undefined : 'Customers with only returns or cancellations so far'}>{monthLabel(m.cohort_month)}</td>
                    <td className="py-1.5 pr-2 text-right tabular-nums font-medium">{fmtInt(m.customers)}</td>
                    {BUCKETS.map((b) => <td key={b} className="py-1.5 pr-2 text-right tabular-nums">{fmtInt(m[b])}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}

function Matrix({ cm, title }) {
  if (!cm || !cm.matrix) return null;
  const labels = cm.labels || BUCKETS;
  const max = Math.max(1, ...cm.matrix.flat());
  return (
    <div className="overflow-x-auto">
      <p className="mb-1 text-sm font-medium text-slate-700">{title}</p>
      <table className="text-sm" data-testid="confusion-matrix">
        <thead>
          <tr>
            <th className="p-1 text-left text-xs font-normal text-slate-500">Really was ↓ / predicted →</th>
            {labels.map((l) => <th key={l} className="p-1 text-center text-xs font-medium text-slate-600">{BUCKET_LABEL[l] || l}</th>)}
          </tr>
        </thead>
        <tbody>
          {cm.matrix.map((row, i) => (
            <tr key={labels[i]}>
              <th className="p-1 text-left text-xs font-medium text-slate-600">{BUCKET_LABEL[labels[i]] || labels[i]}</th>
              {row.map((v, j) => (
                <td key={j} className={`h-9 w-14 p-1 text-center tabular-nums ${i === j ? 'font-semibold' : ''}`}
                  style={{ background: i === j ? `rgba(16,185,129,${0.1 + 0.6 * v / max})` : `rgba(239,68,68,${0.05 + 0.5 * v / max})` }}>
                  {fmtInt(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const VERDICT_TEXT = {
  better: 'Our prediction does better than the simple rule when each group counts equally.',
  unsure: 'Our prediction did a little better than the simple rule in the check, but the difference may be luck.',
  same: 'On this data our prediction does about as well as the simple rule.',
  worse: 'On this data our prediction does worse than the simple rule; treat its groups with care.',
};

function checkedHow(m) {
  const n = fmtInt(m.test_customers);
  const dates = m.folds > 1 ? ` We repeated this at ${fmtInt(m.folds)} different dates.` : '';
  if (m.evaluation === 'out_of_time') {
    return `We made predictions as of ${fmtDate(m.cutoff)} using only what was known then, and compared them with what customers really spent in the following 6 months (${n} customers checked).${dates}`;
  }
  if (m.evaluation === 'customer_split' || m.evaluation === 'split') {
    return `We hid ${n} customers while learning, predicted their group as of ${fmtDate(m.cutoff)}, and compared with what they really spent in the following 6 months.${dates}`;
  }
  return `We hid the last 6 months of ${n} customers from the model (everything after ${fmtDate(m.cutoff)}), asked it to predict their group, and compared with what they really spent.`;
}

function Candidates({ m }) {
  const rows = rankCandidates(m.candidates, m.served);
  if (rows.length === 0) return null;
  return (
    <div>
      <p className="mb-1 text-sm font-medium text-slate-700">All the predictions we compared</p>
      <p className="mb-2 text-xs text-slate-500">
        Balanced score out of 100 (higher is better) and the gain over the simple rule, with the range it likely lies in (90% of the time).
      </p>
      <div className="overflow-x-auto">
        <table className="w-full min-w-[30rem] text-sm" data-testid="candidates-table">
          <thead>
            <tr className="border-b text-left text-slate-500">
              <th className="py-2 pr-2 font-medium">Prediction</th>
              <th className="py-2 pr-2 text-right font-medium">Balanced score</th>
              <th className="py-2 pr-2 text-right font-medium">Gain over the simple rule</th>
              <th className="py-2 text-right font-medium">Likely range</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => {
              const inUse = c.name === m.served;
              const ci = Array.isArray(c.lift_ci90) ? c.lift_ci90 : null;
              return (
                <tr key={c.name} className={`border-b border-slate-100 ${inUse ? 'bg-emerald-50 font-medium' : ''}`}
                  data-candidate={c.name} data-served={inUse ? 'true' : 'false'}>
                  <td className="py-1.5 pr-2" title={c.name}>
                    {candidateLabel(c.name).short}
                    {inUse && <span className="ml-2 rounded bg-emerald-600 px-1.5 py-0.5 text-xs text-white">in use</span>}
                  </td>
                  <td className="py-1.5 pr-2 text-right tabular-nums">{c.macro_f1 == null ? '–' : fmtNum(c.macro_f1 * 100)}</td>
                  <td className="py-1.5 pr-2 text-right tabular-nums">{c.name === 'naive' ? '—' : fmtPoints(c.lift)}</td>
                  <td className="py-1.5 text-right tabular-nums">{c.name === 'naive' || !ci ? '—' : `${fmtPoints(ci[0])} to ${fmtPoints(ci[1])}`}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function ModelQuality({ datasetId, runId }) {
  const { data: m, error, loading, reload } = useRpc('model_summary', runId ? { dataset_id: datasetId, run_id: runId } : { dataset_id: datasetId });
  const [open, setOpen] = useState(false);
  if (loading && !m) return <Card title="How good are the predictions?"><Spinner /></Card>;
  if (error) return <Card title="How good are the predictions?"><ErrorBox error={error} onRetry={reload} /></Card>;
  if (!m) return null;
  const model = (m.right_per_10 && m.right_per_10.model) ?? (m.model && m.model.accuracy * 10);
  const base = (m.right_per_10 && m.right_per_10.baseline) ?? (m.baseline && m.baseline.accuracy * 10);
  const servesNaive = m.serves_naive === true || m.served === 'naive';
  const served = m.served || servesNaive ? candidateLabel(m.served || 'naive') : null;
  const check = checkLabel(m.evaluation);
  const verdict = verdictOf(m);
  const lift = m.lift_macro_f1 ?? (m.model && m.baseline ? m.model.macro_f1 - m.baseline.macro_f1 : null);
  const liftWords = liftText(lift, m.lift_ci90);
  const hasRanking = m.spearman != null || m.gini != null;
  return (
    <Card title="How good are the predictions?" subtitle={checkedHow(m)} data-testid="model-card"
      data-served={m.served || ''} data-serves-naive={servesNaive ? 'true' : 'false'}>
      {served && (
        <div className="mb-3" data-testid="served">
          <p className="text-base font-semibold text-slate-900" data-testid="served-label" data-served={served.name}>{served.label}</p>
          {served.mix && <p className="text-sm text-slate-600" data-testid="served-mix">Mix: {served.mix}.</p>}
          {check && (
            <p className="text-sm text-slate-600" data-testid="served-check">
              {check.charAt(0).toUpperCase() + check.slice(1)}{m.folds > 1 ? ` (${fmtInt(m.folds)} checks)` : ''}.
            </p>
          )}
        </div>
      )}
      {servesNaive && (
        <div className="mb-4 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-amber-900" role="status" data-testid="naive-notice">
          <p className="font-semibold">We are using the simple rule for this dataset.</p>
          <p className="mt-1 text-sm">
            None of our models predicted future spending better than the simple rule when they were {check || 'checked'}, so the
            value groups on this page come from what each customer spent in the last 6 months. This is not an error: on some
            data, recent spending already says most of what can be known.
          </p>
        </div>
      )}
      <p className="text-lg text-slate-900" data-testid="model-quality">
        Right for <b className="tabular-nums">{fmtNum(model)}</b> of 10 customers; the simple rule is right for{' '}
        <b className="tabular-nums">{fmtNum(base)}</b>.
      </p>
      <p className="mt-1 text-sm text-slate-600">
        The <i>simple rule</i> assumes each customer will spend in the next 6 months what they spent in the last 6.
      </p>
      {!servesNaive && verdict && (
        <div className={`mt-3 rounded-lg px-3 py-2 text-sm ${verdict === 'better' ? 'bg-emerald-50 text-emerald-800' : 'bg-amber-50 text-amber-800'}`} data-verdict={verdict}>
          <p>
            {VERDICT_TEXT[verdict]}
            {liftWords && <> Gain over the simple rule: <b className="tabular-nums" data-testid="lift">{liftWords}</b> on a balanced score out of 100.</>}
          </p>
          {m.model && m.baseline && m.model.macro_f1 != null && m.baseline.macro_f1 != null && (
            <p className="mt-1">
              Balanced score across the four groups: {fmtNum(m.model.macro_f1 * 100)} vs {fmtNum(m.baseline.macro_f1 * 100)} out of 100
              <span className="text-xs opacity-80"> (“macro F1”: it counts each group equally, so a prediction cannot score well by only getting the big Low group right)</span>.
            </p>
          )}
        </div>
      )}
      <Button variant="link" className="mt-3" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="model-details-toggle">
        {open ? 'Hide details' : 'Show details'}
      </Button>
      {open && (
        <div className="mt-4 space-y-6" data-testid="model-details">
          <Candidates m={m} />
          {hasRanking && (
            <p className="text-sm text-slate-600" data-testid="ranking-quality">
              How well {servesNaive ? 'the simple rule' : 'our prediction'} puts customers in order of what they really spent next:
              rank correlation <b className="tabular-nums">{m.spearman == null ? '–' : Number(m.spearman).toFixed(2)}</b>,
              Gini <b className="tabular-nums">{m.gini == null ? '–' : Number(m.gini).toFixed(2)}</b>
              <span className="text-xs text-slate-500"> (1 is a perfect order, 0 no better than chance)</span>.
            </p>
          )}
          {m.served_reason && <p className="text-xs text-slate-500" data-testid="served-reason">Why this one: {String(m.served_reason).replace(/\.\s*$/, '')}.</p>}
          <div className="grid gap-6 md:grid-cols-2">
            <Matrix cm={m.confusion_matrix} title={`${servesNaive ? 'The simple rule' : 'Our prediction'}: customers by real group (rows) and predicted group (columns)`} />
            <Matrix cm={m.baseline_confusion_matrix} title="The simple rule, on the same customers" />
          </div>
          <p className="text-xs text-slate-500">Green cells on the diagonal are right guesses; red cells are customers put in the wrong group.</p>
          {m.model && m.model.per_class && (
            <div className="overflow-x-auto">
              <table className="w-full min-w-[28rem] text-sm">
                <thead>
                  <tr className="border-b text-left text-slate-500">
                    <th className="py-2 pr-2 font-medium">Group</th>
                    <th className="py-2 pr-2 text-right font-medium" title="Of the customers we put in this group, how many really were in it (precision)">Predictions that were right</th>
                    <th className="py-2 pr-2 text-right font-medium" title="Of the customers really in this group, how many we found (recall)">Customers we found</th>
                    <th className="py-2 text-right font-medium">Customers checked</th>
                  </tr>
                </thead>
                <tbody>
                  {m.model.per_class.map((c) => (
                    <tr key={c.bucket} className="border-b border-slate-100">
                      <td className="py-1.5 pr-2"><BucketBadge bucket={c.bucket} /></td>
                      <td className="py-1.5 pr-2 text-right tabular-nums">{fmtPct(c.precision)}</td>
                      <td className="py-1.5 pr-2 text-right tabular-nums">{fmtPct(c.recall)}</td>
                      <td className="py-1.5 text-right tabular-nums">{fmtInt(c.support)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {m.feature_importance && m.feature_importance.length > 0 && (
            <div>
              <p className="mb-2 text-sm font-medium text-slate-700">
                What the learned model looks at most
                {m.served && !usesLearnedModel(m.served) && <span className="font-normal text-slate-500"> (it is not used for the groups on this page)</span>}
              </p>
              <ul className="space-y-1">
                {m.feature_importance.slice(0, 6).map((f) => (
                  <li key={f.feature} className="flex items-center gap-2 text-sm">
                    <span className="w-56 shrink-0 truncate text-slate-600 sm:w-72">{featureLabel(f.feature)}</span>
                    <span className="h-2 rounded bg-indigo-400" style={{ width: `${Math.max(2, f.importance * 100 / m.feature_importance[0].importance) * 0.6}%` }} />
                    <span className="text-xs tabular-nums text-slate-400">{fmtPct(f.importance)}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
      )}
    </Card>
  );
}

// Downloads the predictions of the shown run for the current filters as CSV
// (ltv_api.export_predictions, the same filters as the cards above).
function DownloadCsv({ args, runId }) {
  const [state, setState] = useState({ busy: false, error: null });
  async function download() {
    setState({ busy: true, error: null });
    try {
      const blob = await rpcCsv('export_predictions', { ...args, run_id: runId });
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `predictions-dataset-${args.dataset_id}-run-${runId}${args.segment ? `-${args.segment}` : ''}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      setState({ busy: false, error: null });
    } catch (err) {
      setState({ busy: false, error: err });
    }
  }
  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="secondary" onClick={download} disabled={state.busy} data-testid="download-csv">
        {state.busy ? 'Preparing the file…' : 'Download these customers (CSV)'}
      </Button>
      {state.error && <span className="text-sm text-red-700" role="alert" data-testid="download-error">{explainError(state.error).title}</span>}
    </span>
  );
}

export default function Insights({ datasetId, runId = null }) {
  const [filters, setFilters] = useState({ from: '', to: '', segment: '' });
  const datasets = useRpc('datasets', {});
  const dataset = useMemo(() => (datasets.data || []).find((d) => d.dataset_id === datasetId), [datasets.data, datasetId]);
  useEffect(() => { rememberDataset(datasetId); }, [datasetId]);

  const args = useMemo(() => {
    const a = { dataset_id: datasetId };
    if (runId) a.run_id = runId;
    if (filters.from) a.first_purchase_from = filters.from;
    if (filters.to) a.first_purchase_to = filters.to;
    if (filters.segment) a.segment = filters.segment;
    return a;
  }, [datasetId, runId, filters]);
  const segments = useRpc('segments', args);
  const cohorts = useRpc('cohorts', args);

  const noRun = !runId && segments.error && segments.error.status === 404 && !/customer/i.test(segments.error.message);

  return (
    <div className="space-y-6" data-testid="insights">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-2xl font-bold text-slate-900">Insights{dataset ? `: ${dataset.name}` : ''}</h1>
          {dataset && (
            <p className="text-sm text-slate-600">
              {fmtInt(dataset.customers)} customers, sales from {fmtDate(dataset.first_purchase)} to {fmtDate(dataset.last_purchase)}.
            </p>
          )}
        </div>
        <Button variant="secondary" onClick={() => navigate(`/customers/${datasetId}`)}>Look up a customer</Button>
      </div>
      {runId && (
        <p className="text-sm text-slate-700" data-testid="run-pinned">
          Showing analysis run #{runId} (chosen below, under "Analysis runs").{' '}
          <a className="text-indigo-700 underline" href={runHref(datasetId, null)}>Show the latest run</a>
        </p>
      )}

      {noRun ? (
        <Empty title="There are no predictions for this dataset yet.">
          <p>Run the analysis first; it takes a few seconds to a few minutes.</p>
          <Button className="mt-3" onClick={() => navigate(`/processing/${datasetId}`)}>Go to the analysis</Button>
        </Empty>
      ) : (
        <>
          <Filters dataset={dataset} value={filters} onChange={setFilters} />
          {segments.error && <ErrorBox error={segments.error} onRetry={segments.reload} />}
          {segments.loading && !segments.data && <Spinner label="Loading the value groups…" />}
          {segments.data && (
            <div className={`space-y-6 transition-opacity ${segments.loading ? 'opacity-60' : ''}`} data-loading={segments.loading ? 'true' : 'false'}
              data-testid="segments" data-run={segments.data.run_id}>
              <div className="flex flex-wrap items-center justify-between gap-3">
                <p className="text-sm text-slate-600" data-testid="filtered-total">
                  Showing <b>{fmtInt(segments.data.customers)}</b> customers{filters.from || filters.to || filters.segment ? ' matching the filters' : ''}.
                </p>
                {segments.data.customers > 0 && <DownloadCsv args={args} runId={segments.data.run_id} />}
              </div>
              {segments.data.customers === 0 ? <Empty title="No customers match these filters.">Widen the time range or choose all groups.</Empty> : (
                <>
                  <SegmentCards segments={segments.data} />
                  <SegmentsChart segments={segments.data} />
                </>
              )}
            </div>
          )}
          {cohorts.error && <ErrorBox error={cohorts.error} onRetry={cohorts.reload} />}
          {cohorts.loading && !cohorts.data && <Spinner label="Loading the cohorts…" />}
          {cohorts.data && <div className={cohorts.loading ? 'opacity-60' : ''} data-loading={cohorts.loading ? 'true' : 'false'}><Cohorts cohorts={cohorts.data} /></div>}
          <ModelQuality datasetId={datasetId} runId={runId} />
          <RunHistory datasetId={datasetId} shownRunId={segments.data ? segments.data.run_id : runId} />
        </>
      )}
    </div>
  );
}
