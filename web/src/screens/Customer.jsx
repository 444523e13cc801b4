import { useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { BucketBadge, Button, Card, Empty, ErrorBox, Spinner, Stat } from '../components/ui.jsx';
import { BUCKETS, BUCKET_COLOR, BUCKET_LABEL, BUCKET_TEXT, FEATURE_LABEL, featureLabel } from '../lib/buckets.js';
import { fmtDate, fmtInt, fmtMoney, fmtMonth, fmtNum, fmtPct } from '../lib/format.js';
import { navigate, rememberDataset } from '../lib/router.js';
import { useRpc } from '../lib/useRpc.js';

function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => { const t = setTimeout(() => setV(value), ms); return () => clearTimeout(t); }, [value, ms]);
  return v;
}

function fmtFeature(name, value) {
  const kind = (FEATURE_LABEL[name] || [])[1];
  if (value === null || value === undefined) return '–';
  if ((kind === 'days') && Number(value) < 0) return 'n/a';
  if (kind === 'money') return fmtMoney(value);
  if (kind === 'count') return fmtInt(value);
  if (kind === 'rank') return `above ${fmtPct(value)} of customers`;
  if (kind === 'chance') return fmtPct(value);
  return fmtNum(value);
}

// One reason in words, with the same labels and units as the facts list below: "Total spend
// compared with other customers is above 93% of customers: raises the chance of High by 19
// points". The numbers are ltv.explain's (docs/explanations.md).
function reasonWords(item, bucket) {
  const points = Math.abs(Number(item.contribution) * 100);
  const amount = points >= 1 ? `${Math.round(points)} points` : 'less than 1 point';
  const verb = item.contribution > 0 ? 'raises' : 'lowers';
  const value = item.value === null || item.value === undefined ? '' : ` is ${fmtFeature(item.feature, item.value)}`;
  return `${featureLabel(item.feature)}${value}: ${verb} the chance of ${BUCKET_LABEL[bucket] || bucket} by ${amount}`;
}

const SERVED_TEXT = {
  naive: 'This run uses the simple rule (the bucket of the last 6 months\' spend), because no model beat it, so the spend of the last 6 months is the one reason.',
};

function Reasons({ reasons }) {
  const items = (reasons.items || []).map((it) => ({ ...it, label: featureLabel(it.feature), points: Number(it.contribution) * 100 }));
  const bucket = reasons.bucket;
  if (items.length === 0) return null;
  return (
    <Card title={`Why ${BUCKET_LABEL[bucket] || bucket}?`}
      subtitle="How much each fact moves the chance of this group, compared with an average customer (in percentage points).">
      {SERVED_TEXT[reasons.served] && <p className="mb-3 text-sm text-slate-600">{SERVED_TEXT[reasons.served]}</p>}
      <div style={{ height: 56 + 36 * items.length }} data-testid="reasons-chart">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={items} layout="vertical" margin={{ top: 8, right: 24, left: 8, bottom: 0 }}>
            <CartesianGrid strokeDasharray="3 3" horizontal={false} />
            <XAxis type="number" tickFormatter={(v) => `${v > 0 ? '+' : ''}${Math.round(v)}`} />
            <YAxis type="category" dataKey="label" width={180} tick={{ fontSize: 11 }} />
            <Tooltip formatter={(v) => [`${v > 0 ? '+' : ''}${Number(v).toFixed(1)} points`, 'Effect']} />
            <Bar dataKey="points" isAnimationActive={false}>
              {items.map((it) => <Cell key={it.feature} fill={it.contribution > 0 ? BUCKET_COLOR[bucket] : '#94a3b8'} />)}
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ul className="mt-3 space-y-1 text-sm text-slate-700" data-testid="reasons">
        {items.map((it) => (
          <li key={it.feature} data-feature={it.feature} data-contribution={it.contribution} title={it.text}>
            <span className={it.contribution > 0 ? 'text-emerald-700' : 'text-slate-500'}>{it.contribution > 0 ? '▲' : '▼'}</span>{' '}
            {reasonWords(it, bucket)}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Search({ datasetId, customerId }) {
  const [q, setQ] = useState(customerId || '');
  const dq = useDebounced(q.trim(), 250);
  const sugg = useRpc('customer_search', { dataset_id: datasetId, query: dq, max_results: 8 });
  const go = (id) => navigate(`/customers/${datasetId}/${encodeURIComponent(id)}`);
  return (
    <Card title="Find a customer" subtitle="Type the start of a customer ID.">
      <form className="flex gap-2" onSubmit={(e) => { e.preventDefault(); if (q.trim()) go(q.trim()); }} role="search">
        <input className="min-w-0 flex-1 rounded-lg border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none"
          value={q} onChange={(e) => setQ(e.target.value)} placeholder="Customer ID, e.g. 12347" aria-label="Customer ID"
          data-testid="customer-search" autoComplete="off" inputMode="search" />
        <Button type="submit" data-testid="customer-go">Show</Button>
      </form>
      <div className="mt-3 min-h-10">
        {sugg.error && <ErrorBox error={sugg.error} onRetry={sugg.reload} />}
        {sugg.data && sugg.data.length === 0 && <p className="text-sm text-slate-500">No customer ID starts with “{dq}”.</p>}
        {sugg.data && sugg.data.length > 0 && (
          <ul className="flex flex-wrap gap-2" data-testid="customer-suggestions">
            {sugg.data.map((s) => (
              <li key={s.customer_id}>
                <button type="button" onClick={() => { setQ(s.customer_id); go(s.customer_id); }}
                  className={`flex items-center gap-2 rounded-lg px-3 py-1.5 text-sm ring-1 ring-slate-200 hover:bg-slate-50 ${s.customer_id === customerId ? 'bg-indigo-50 ring-indigo-300' : 'bg-white'}`}
                  data-customer={s.customer_id}>
                  <span className="font-mono">{s.customer_id}</span>
                  {s.predicted_bucket && <BucketBadge bucket={s.predicted_bucket} className="!text-xs" />}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </Card>
  );
}

function Detail({ datasetId, customerId }) {
  const { data: c, error, loading, reload } = useRpc('customer', { dataset_id: datasetId, customer_id: customerId });
  if (loading && !c) return <Spinner label={`Loading customer ${customerId}…`} />;
  if (error) {
    if (error.status === 404) return <Empty title={`We found no customer “${customerId}” in this dataset.`}>Check the ID, or pick one of the suggestions above.</Empty>;
    return <ErrorBox error={error} onRetry={reload} />;
  }
  if (!c) return null;
  const h = c.history || {};
  const probs = BUCKETS.map((b) => ({ bucket: b, name: BUCKET_LABEL[b], p: c.probabilities ? Number(c.probabilities[b]) || 0 : 0 }));
  const monthly = (h.monthly || []).map((m) => ({ ...m, label: fmtMonth(m.month) }));
  return (
    <div className="space-y-6" data-testid="customer-detail" data-customer={c.customer_id}>
      <Card>
        <div className="flex flex-col gap-6 md:flex-row">
          <div className="md:w-1/3">
            <p className="text-sm text-slate-500">Customer</p>
            <p className="font-mono text-2xl font-bold text-slate-900">{c.customer_id}</p>
            <p className="mt-4 text-sm text-slate-500">Expected value in the next 6 months</p>
            {c.predicted_bucket ? (
              <>
                <BucketBadge bucket={c.predicted_bucket} className="mt-1 !text-lg !px-4 !py-1" data-testid="predicted-bucket" />
                <p className="mt-2 text-sm text-slate-600">{BUCKET_TEXT[c.predicted_bucket]}</p>
                <p className="mt-2 text-xs text-slate-400">Based on everything up to {fmtDate(c.as_of)}.</p>
              </>
            ) : (
              <p className="mt-1 text-sm text-slate-600" data-testid="predicted-bucket" data-bucket="">
                No prediction yet: run the analysis to get one.
              </p>
            )}
          </div>
          {c.probabilities && (
            <div className="md:flex-1">
              <p className="text-sm font-medium text-slate-700">How likely each group is</p>
              <div className="h-48" data-testid="probabilities-chart">
                <ResponsiveContainer width="100%" height="100%">
                  <BarChart data={probs} layout="vertical" margin={{ top: 8, right: 24, left: 8, bottom: 0 }}>
                    <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                    <XAxis type="number" domain={[0, 1]} tickFormatter={(v) => fmtPct(v)} />
                    <YAxis type="category" dataKey="name" width={64} />
                    <Tooltip formatter={(v) => [fmtPct(v, 1), 'Chance']} />
                    <Bar dataKey="p" radius={[0, 6, 6, 0]} isAnimationActive={false}>
                      {probs.map((p) => <Cell key={p.bucket} fill={BUCKET_COLOR[p.bucket]} />)}
                    </Bar>
                  </BarChart>
                </ResponsiveContainer>
              </div>
            </div>
          )}
        </div>
      </Card>

      {c.reasons && <Reasons reasons={c.reasons} />}

      <Card title="Purchase history">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <Stat label="First purchase" value={fmtDate(h.first_purchase)} />
          <Stat label="Last purchase" value={fmtDate(h.last_purchase)} />
          <Stat label="Orders" value={fmtInt(h.orders)} hint={`${fmtInt(h.lines)} lines`} />
          <Stat label="Net spend" value={fmtMoney(h.net_spend)} hint={h.returns_amount ? `after ${fmtMoney(h.returns_amount)} of returns` : 'no returns'} />
        </div>
        {h.countries && h.countries.length > 0 && <p className="mt-3 text-sm text-slate-600">Country: {h.countries.join(', ')}</p>}
        {monthly.length > 0 && (
          <div className="mt-4 h-56" data-testid="monthly-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={monthly} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="label" tick={{ fontSize: 12 }} />
                <YAxis width={56} />
                <Tooltip formatter={(v, n) => [n === 'spend' ? fmtMoney(v) : fmtInt(v), n === 'spend' ? 'Spend' : 'Orders']} />
                <Bar dataKey="spend" fill="#6366f1" radius={[4, 4, 0, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </Card>

      {c.features && (
        <Card title="What we know about this customer" subtitle={`The facts the prediction is based on, as of ${fmtDate(c.as_of)}.`}>
          <dl className="grid gap-x-8 sm:grid-cols-2" data-testid="features">
            {Object.entries(c.features).map(([k, v]) => (
              <div key={k} className="flex justify-between gap-4 border-b border-slate-100 py-1.5 text-sm">
                <dt className="text-slate-600">{featureLabel(k)}</dt>
                <dd className="tabular-nums font-medium text-slate-900">{fmtFeature(k, v)}</dd>
              </div>
            ))}
          </dl>
        </Card>
      )}
    </div>
  );
}

export default function Customer({ datasetId, customerId }) {
  useEffect(() => { rememberDataset(datasetId); }, [datasetId]);
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-2xl font-bold text-slate-900">Customer detail</h1>
        <Button variant="secondary" onClick={() => navigate(`/insights/${datasetId}`)}>Back to insights</Button>
      </div>
      <Search key={datasetId} datasetId={datasetId} customerId={customerId} />
      {customerId ? <Detail datasetId={datasetId} customerId={customerId} /> : (
        <Empty title="Choose a customer to see their details." />
      )}
    </div>
  );
}
