// Every analysis run of a dataset (ltv_api.runs): when, with which options, what it serves and
// its lift over the simple rule on its own evaluation. A succeeded run opens in insights
// (#/insights/<dataset>?run=<run>, so the choice is in the address).
import { Card, ErrorBox, Spinner } from './ui.jsx';
import { fmtDate } from '../lib/format.js';
import { candidateLabel, fmtPoints } from '../lib/quality.js';
import { useRpc } from '../lib/useRpc.js';

export function runHref(datasetId, runId) {
  return `#/insights/${datasetId}${runId ? `?run=${runId}` : ''}`;
}

function optionsText(options) {
  const keys = Object.keys(options || {});
  return keys.length ? keys.map((k) => `${k}: ${typeof options[k] === 'object' ? JSON.stringify(options[k]) : options[k]}`).join('; ') : 'defaults';
}

export default function RunHistory({ datasetId, shownRunId = null }) {
  const { data, error, loading, reload } = useRpc('runs', { dataset_id: datasetId });
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  if (loading && !data) return <Spinner label="Loading the runs…" />;
  if (!data || data.length === 0) return null;
  return (
    <Card title="Analysis runs" subtitle="Every analysis of this dataset, newest first. Lift: points out of 100 over the simple rule, on the run's own check.">
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm" data-testid="run-history">
          <thead className="text-xs uppercase text-slate-600">
            <tr><th className="py-1 pr-3">Run</th><th className="pr-3">Started</th><th className="pr-3">Status</th><th className="pr-3">Horizon</th>
              <th className="pr-3">Options</th><th className="pr-3">Serves</th><th className="pr-3 text-right">Lift</th><th /></tr>
          </thead>
          <tbody>
            {data.map((r) => (
              <tr key={r.run_id} className={`border-t border-slate-100 ${r.run_id === shownRunId ? 'bg-indigo-50' : ''}`}
                data-testid="run-row" data-run={r.run_id} data-status={r.status} data-lift={r.lift_macro_f1 ?? ''} data-served={r.served ?? ''}>
                <td className="py-1.5 pr-3 tabular-nums">#{r.run_id}{r.is_latest ? ' (latest)' : ''}</td>
                <td className="pr-3">{fmtDate(r.created_at)}</td>
                <td className="pr-3">{r.status}</td>
                <td className="pr-3">{r.horizon || '–'}</td>
                <td className="pr-3 text-xs text-slate-600">{optionsText(r.options)}</td>
                <td className="pr-3">{r.served ? candidateLabel(r.served).short : '–'}</td>
                <td className="pr-3 text-right tabular-nums">{r.status === 'succeeded' ? fmtPoints(r.lift_macro_f1) : '–'}</td>
                <td className="text-right">
                  {r.status === 'succeeded' && r.run_id !== shownRunId && (
                    <a className="text-indigo-700 underline" href={runHref(datasetId, r.is_latest ? null : r.run_id)} data-testid="run-open">Show</a>
                  )}
                  {r.run_id === shownRunId && <span className="text-xs text-slate-600">shown</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
