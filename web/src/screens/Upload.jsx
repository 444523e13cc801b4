import { useEffect, useRef, useState } from 'react';
import { BucketBadge, Button, Card, ErrorBox, Spinner, Stat } from '../components/ui.jsx';
import { rpc } from '../lib/api.js';
import { readCsvFile } from '../lib/decode.js';
import { fmtBytes, fmtDate, fmtInt } from '../lib/format.js';
import { navigate, rememberDataset } from '../lib/router.js';

export const RULE_WORDS = {
  missing_customer: ['No customer ID', 'Sales without a customer ID (for example guest checkouts) cannot be tied to a customer.'],
  non_product_code: ['Not a product', 'Postage, fees, bank charges and manual adjustments are not purchases of products.'],
  zero_quantity: ['Quantity of zero', 'Lines where nothing was bought or returned.'],
  non_positive_price: ['Price of zero or less', 'Free items and bookkeeping corrections.'],
  exact_duplicate: ['Exact duplicates', 'The same line appearing twice; it is counted once.'],
};

function baseName(fileName) {
  return fileName.replace(/\.gz$/i, '').replace(/\.(csv|txt|tsv)$/i, '').trim() || 'my sales';
}

function freeName(wanted, taken) {
  if (!taken.has(wanted)) return wanted;
  for (let i = 2; ; i++) if (!taken.has(`${wanted} (${i})`)) return `${wanted} (${i})`;
}

function DatasetSummary({ result }) {
  const d = result.dataset;
  const r = d.cleaning_report || {};
  const rules = r.excluded_by_rule || {};
  return (
    <div className="space-y-6" data-testid="upload-result">
      <Card title={`“${d.name}” is uploaded`} subtitle="Here is what we found in your file.">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4">
          <Stat label="Rows read" value={fmtInt(d.rows_read)} testId="rows-read" />
          <Stat label="Rows used" value={fmtInt(d.rows_loaded)} hint="sales lines kept for the analysis" testId="rows-loaded" />
          <Stat label="Customers" value={fmtInt(d.customers)} testId="customers" />
          <Stat label="Period" value={`${fmtDate(d.first_purchase)} – ${fmtDate(d.last_purchase)}`} />
        </div>
        {r.columns && (
          <p className="mt-4 text-sm text-slate-600">
            Columns we used: {Object.entries(r.columns).map(([k, v]) => `${v} (${k.replace(/_/g, ' ')})`).join(', ')}.
            {r.encoding ? ` Text encoding: ${r.encoding}.` : ''}
          </p>
        )}
      </Card>

      <Card title="Cleaning" subtitle={`${fmtInt(d.rows_excluded)} rows were set aside on purpose, for these reasons. Every row is accounted for: used + set aside + unreadable = rows read.`}>
        <table className="w-full text-sm" data-testid="cleaning-report">
          <thead><tr className="border-b text-left text-slate-500"><th className="py-2 pr-2 font-medium">Reason</th><th className="py-2 text-right font-medium">Rows</th></tr></thead>
          <tbody>
            {Object.keys({ ...RULE_WORDS, ...rules }).map((k) => (
              <tr key={k} className="border-b border-slate-100 align-top" data-rule={k}>
                <td className="py-2 pr-2">
                  <div className="font-medium text-slate-800">{(RULE_WORDS[k] || [k.replace(/_/g, ' ')])[0]}</div>
                  <div className="text-slate-500">{(RULE_WORDS[k] || [null, ''])[1]}</div>
                </td>
                <td className="py-2 text-right tabular-nums">{fmtInt(rules[k] ?? 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {r.cancellation_return_kept > 0 && (
          <p className="mt-3 text-sm text-slate-600">
            {fmtInt(r.cancellation_return_kept)} returns and cancellations were kept: they are subtracted from what those customers spent.
          </p>
        )}
      </Card>

      <Card title="Rows we could not read" subtitle={result.rejected_rows_total ? `${fmtInt(result.rejected_rows_total)} rows could not be read. The first ones are below with the reason.` : 'Every row could be read.'}>
        {result.rejected_rows_total > 0 ? (
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="rejected-rows">
              <thead><tr className="border-b text-left text-slate-500"><th className="py-2 pr-3 font-medium">Line</th><th className="py-2 pr-3 font-medium">Why</th><th className="py-2 font-medium">The line as written</th></tr></thead>
              <tbody>
                {result.rejected_rows.map((row) => (
                  <tr key={row.line_no} className="border-b border-slate-100 align-top">
                    <td className="py-2 pr-3 tabular-nums">{row.line_no}</td>
                    <td className="py-2 pr-3">{row.reason}</td>
                    <td className="max-w-xs truncate py-2 font-mono text-xs text-slate-500" title={row.raw}>{row.raw}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : <p className="text-sm text-emerald-700">No problems.</p>}
      </Card>
    </div>
  );
}

export default function Upload() {
  const [file, setFile] = useState(null);
  const [name, setName] = useState('');
  const [dateOrder, setDateOrder] = useState('auto');
  const [replace, setReplace] = useState(false);
  const [phase, setPhase] = useState('idle'); // idle | reading | uploading | done | starting
  const [error, setError] = useState(null);
  const [startError, setStartError] = useState(null);
  const [result, setResult] = useState(null);
  const [info, setInfo] = useState(null);
  const [dragging, setDragging] = useState(false);
  const [taken, setTaken] = useState(new Set());
  const [elapsed, setElapsed] = useState(0);
  const inputRef = useRef(null);

  useEffect(() => {
    rpc('datasets').then((ds) => setTaken(new Set(ds.map((d) => d.name))), () => {});
  }, []);

  useEffect(() => {
    if (phase !== 'uploading' && phase !== 'reading') return undefined;
    const t0 = Date.now();
    const id = setInterval(() => setElapsed(Math.round((Date.now() - t0) / 1000)), 500);
    return () => clearInterval(id);
  }, [phase]);

  function choose(f) {
    if (!f) return;
    setFile(f);
    setError(null);
    setResult(null);
    setPhase('idle');
    setName(freeName(baseName(f.name), taken));
  }

  async function upload() {
    if (!file) return;
    setError(null);
    setStartError(null);
    setResult(null);
    setElapsed(0);
    try {
      setPhase('reading');
      const read = await readCsvFile(file);
      setInfo(read);
      setPhase('uploading');
      const options = {};
      if (dateOrder !== 'auto') options.date_order = dateOrder;
      if (replace) options.replace = true;
      const res = await rpc('upload_dataset', { name: name.trim(), csv: read.text, options });
      setResult(res);
      rememberDataset(res.dataset.dataset_id);
      setTaken((t) => new Set([...t, res.dataset.name]));
      setPhase('done');
    } catch (err) {
      setError(err);
      setPhase('idle');
    }
  }

  async function startAnalysis() {
    const id = result.dataset.dataset_id;
    setPhase('starting');
    setStartError(null);
    try {
      await rpc('run_analysis', { dataset_id: id, options: {} });
    } catch (err) {
      if (!(err.status === 409 || err.code === 'PT409')) { setStartError(err); setPhase('done'); return; }
    }
    navigate(`/processing/${id}`);
  }

  const busy = phase === 'reading' || phase === 'uploading' || phase === 'starting';

  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold text-slate-900">Upload your sales</h1>
        <p className="mt-1 text-slate-600">
          A CSV file with one line per item sold: invoice number, product code, quantity, price, date and customer ID
          (for example the “Online Retail” export). Compressed <code>.csv.gz</code> files work too.
        </p>
      </div>

      <Card>
        <div
          className={`flex flex-col items-center justify-center rounded-xl border-2 border-dashed px-4 py-10 text-center transition ${dragging ? 'border-indigo-500 bg-indigo-50' : 'border-slate-300 bg-slate-50'}`}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => { e.preventDefault(); setDragging(false); choose(e.dataTransfer.files && e.dataTransfer.files[0]); }}
          data-testid="dropzone"
        >
          <svg className="h-10 w-10 text-slate-400" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
            <path d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v2a2 2 0 002 2h12a2 2 0 002-2v-2" />
          </svg>
          <p className="mt-3 font-medium text-slate-800">Drag your CSV file here</p>
          <p className="text-sm text-slate-500">or</p>
          <Button variant="secondary" className="mt-2" onClick={() => inputRef.current && inputRef.current.click()} disabled={busy}>Choose a file</Button>
          <input ref={inputRef} type="file" className="sr-only" accept=".csv,.txt,.tsv,.gz,text/csv" data-testid="file-input"
            onChange={(e) => { choose(e.target.files[0]); e.target.value = ''; }} />
          {file && (
            <p className="mt-3 text-sm text-slate-700" data-testid="chosen-file">
              Chosen: <b>{file.name}</b> ({fmtBytes(file.size)})
            </p>
          )}
        </div>

        {file && phase !== 'done' && phase !== 'starting' && (
          <div className="mt-5 grid gap-4 sm:grid-cols-2">
            <label className="block text-sm">
              <span className="font-medium text-slate-700">Name for this dataset</span>
              <input className="mt-1 w-full rounded-lg border border-slate-300 px-3 py-2 focus:border-indigo-500 focus:outline-none"
                value={name} onChange={(e) => setName(e.target.value)} data-testid="dataset-name" maxLength={200} />
            </label>
            <label className="block text-sm">
              <span className="font-medium text-slate-700">Dates like 1/12/2010 mean</span>
              <select className="mt-1 w-full rounded-lg border border-slate-300 bg-white px-3 py-2" value={dateOrder} onChange={(e) => setDateOrder(e.target.value)}>
                <option value="auto">Work it out from the file</option>
                <option value="mdy">January 12 (month first, US style)</option>
                <option value="dmy">1 December (day first)</option>
              </select>
            </label>
            <label className="flex items-center gap-2 text-sm text-slate-700 sm:col-span-2">
              <input type="checkbox" checked={replace} onChange={(e) => setReplace(e.target.checked)} className="h-4 w-4" />
              Replace the existing dataset with the same name
            </label>
            <div className="sm:col-span-2">
              <Button onClick={upload} disabled={busy || !name.trim()} data-testid="upload-button" className="w-full sm:w-auto">
                {busy ? 'Uploading…' : 'Upload and check the file'}
              </Button>
            </div>
          </div>
        )}
        {phase === 'reading' && <Spinner label={`Reading ${file.name}…`} />}
        {phase === 'uploading' && (
          <Spinner label={`Sending ${info ? fmtBytes(info.text.length) : ''} to the database and checking every row… ${elapsed ? `(${elapsed} s)` : ''}`} />
        )}
      </Card>

      {error && <ErrorBox error={error} testId="upload-error" />}

      {result && <DatasetSummary result={result} />}

      {result && (
        <Card className="flex flex-col items-start gap-3 sm:flex-row sm:items-center sm:justify-between">
          <div>
            <p className="font-semibold text-slate-900">Ready to predict</p>
            <p className="text-sm text-slate-600">
              We will learn from your customers' past and sort every customer into <BucketBadge bucket="low" />{' '}
              <BucketBadge bucket="medium" /> <BucketBadge bucket="high" /> <BucketBadge bucket="vip" />. This takes from a few seconds to a few minutes.
            </p>
          </div>
          <Button onClick={startAnalysis} disabled={phase === 'starting'} data-testid="start-analysis" className="shrink-0 px-6 py-3">
            {phase === 'starting' ? 'Starting…' : 'Start the analysis'}
          </Button>
        </Card>
      )}
      {startError && (
        <ErrorBox error={startError} testId="start-error"
          title={startError.code === '22023' ? 'This dataset cannot be analysed as it is' : undefined} />
      )}
    </div>
  );
}
