import { Button, Card, ErrorBox, Spinner } from '../components/ui.jsx';
import { BUCKETS, BUCKET_LABEL, BUCKET_TEXT } from '../lib/buckets.js';
import { fmtDate, fmtInt } from '../lib/format.js';
import { navigate, rememberDataset } from '../lib/router.js';
import { useRpc } from '../lib/useRpc.js';
import { BucketBadge } from '../components/ui.jsx';

const STEPS = [
  ['Upload your sales', 'A CSV export of your order lines: who bought what, when, for how much.'],
  ['We learn from the past', 'We look at what customers did before and what they spent afterwards, and learn the patterns.'],
  ['See who matters next', 'Each customer gets a value group for the next 6 months, with charts you can filter.'],
];

function runLabel(run) {
  if (!run) return 'Not analysed yet';
  return { queued: 'Waiting to start', running: 'Being analysed', succeeded: 'Ready', failed: 'Analysis failed', cancelled: 'Analysis stopped' }[run.status] || run.status;
}

export default function Welcome() {
  const { data, error, loading, reload } = useRpc('datasets', {});
  return (
    <div className="space-y-8">
      <section className="rounded-2xl bg-gradient-to-br from-indigo-600 to-violet-700 px-5 py-10 text-white shadow sm:px-10">
        <h1 className="text-2xl font-bold sm:text-4xl">Know which customers will matter most next</h1>
        <p className="mt-3 max-w-2xl text-indigo-100 sm:text-lg">
          Upload your sales history and we predict, for every customer, how much they are likely to spend over
          the next 6 months, grouped as Low, Medium, High or VIP. Your data stays in your own database.
        </p>
        <Button className="mt-6 bg-white !text-indigo-700 hover:!bg-indigo-50 px-6 py-3 text-base" onClick={() => navigate('/upload')} data-testid="start">
          Get started
        </Button>
      </section>

      <div className="grid gap-4 sm:grid-cols-3">
        {STEPS.map(([t, d], i) => (
          <Card key={t}>
            <div className="mb-2 inline-flex h-8 w-8 items-center justify-center rounded-full bg-indigo-100 font-semibold text-indigo-700">{i + 1}</div>
            <h2 className="font-semibold text-slate-900">{t}</h2>
            <p className="mt-1 text-sm text-slate-600">{d}</p>
          </Card>
        ))}
      </div>

      <Card title="The four value groups" subtitle="Based on how much a customer is likely to spend in the next 6 months, compared with your other customers.">
        <ul className="grid gap-3 sm:grid-cols-2">
          {BUCKETS.map((b) => (
            <li key={b} className="flex items-start gap-3">
              <BucketBadge bucket={b} className="mt-0.5 shrink-0" />
              <span className="text-sm text-slate-600"><span className="sr-only">{BUCKET_LABEL[b]}: </span>{BUCKET_TEXT[b]}</span>
            </li>
          ))}
        </ul>
      </Card>

      <Card title="Your datasets" subtitle="Files you uploaded before.">
        {loading && <Spinner label="Loading your datasets…" />}
        {error && <ErrorBox error={error} onRetry={reload} />}
        {data && data.length === 0 && (
          <p className="text-sm text-slate-600">Nothing uploaded yet. Click <b>Get started</b> to upload your first file.</p>
        )}
        {data && data.length > 0 && (
          <ul className="divide-y divide-slate-100" data-testid="dataset-list">
            {data.map((d) => (
              <li key={d.dataset_id} className="flex flex-wrap items-center justify-between gap-3 py-3">
                <div className="min-w-0">
                  <p className="truncate font-medium text-slate-900">{d.name}</p>
                  <p className="text-sm text-slate-500">
                    {fmtInt(d.customers)} customers · {fmtDate(d.first_purchase)} – {fmtDate(d.last_purchase)} · {runLabel(d.latest_run)}
                  </p>
                </div>
                <div className="flex gap-2">
                  {d.latest_run && d.latest_run.status === 'succeeded' ? (
                    <Button onClick={() => { rememberDataset(d.dataset_id); navigate(`/insights/${d.dataset_id}`); }}>See insights</Button>
                  ) : (
                    <Button variant="secondary" onClick={() => { rememberDataset(d.dataset_id); navigate(`/processing/${d.dataset_id}`); }}>
                      {d.latest_run && ['queued', 'running'].includes(d.latest_run.status) ? 'Follow progress' : 'Analyse'}
                    </Button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
      </Card>
    </div>
  );
}
