import { useEffect, useRef, useState } from 'react';
import { Button, Card, ErrorBox, ProgressBar, Spinner } from '../components/ui.jsx';
import { rpc } from '../lib/api.js';
import { fmtDuration } from '../lib/format.js';
import { navigate, rememberDataset } from '../lib/router.js';
import RunHistory from '../components/RunHistory.jsx';

const POLL_MS = 1000;

function StageIcon({ state }) {
  if (state === 'done') {
    return <span className="flex h-6 w-6 items-center justify-center rounded-full bg-emerald-500 text-white" aria-label="done">✓</span>;
  }
  if (state === 'running') {
    return <span className="h-6 w-6 animate-spin rounded-full border-2 border-indigo-200 border-t-indigo-600" aria-label="in progress" />;
  }
  if (state === 'failed') {
    return <span className="flex h-6 w-6 items-center justify-center rounded-full bg-red-500 text-white" aria-label="failed">!</span>;
  }
  return <span className="h-6 w-6 rounded-full border-2 border-slate-300" aria-label="waiting" />;
}

const HEADLINE = {
  none: 'No analysis has been started for this dataset yet',
  queued: 'Getting ready…',
  running: 'Analysing your customers…',
  succeeded: 'Done! Opening your insights…',
  failed: 'The analysis did not finish',
  cancelled: 'The analysis was stopped',
};

export default function Processing({ datasetId }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState(false);
  const failures = useRef(0);

  useEffect(() => { rememberDataset(datasetId); }, [datasetId]);

  useEffect(() => {
    let stop = false;
    let timer;
    async function poll() {
      try {
        const s = await rpc('analysis_status', { dataset_id: datasetId });
        if (stop) return;
        failures.current = 0;
        setStatus(s);
        setError(null);
        if (s.status === 'succeeded') {
          timer = setTimeout(() => navigate(`/insights/${datasetId}`), 800);
          return;
        }
        if (s.status === 'failed' || s.status === 'cancelled' || s.status === 'none') return;
      } catch (err) {
        if (stop) return;
        failures.current += 1;
        // A 404 will not heal; a network hiccup might: keep polling a little.
        if (err.status === 404 || failures.current >= 5) { setError(err); return; }
      }
      timer = setTimeout(poll, POLL_MS);
    }
    poll();
    return () => { stop = true; clearTimeout(timer); };
  }, [datasetId, tick]);

  async function start() {
    setBusy(true);
    setActionError(null);
    try {
      await rpc('run_analysis', { dataset_id: datasetId, options: {} });
      setStatus(null);
      setTick((t) => t + 1);
    } catch (err) {
      if (err.status === 409) setTick((t) => t + 1);
      else setActionError(err);
    } finally {
      setBusy(false);
    }
  }

  async function cancel() {
    if (!status || !status.run_id) return;
    setBusy(true);
    try {
      await rpc('cancel_analysis', { run_id: status.run_id });
      setTick((t) => t + 1);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  }

  if (error) {
    return (
      <div className="space-y-4">
        <h1 className="text-2xl font-bold text-slate-900">Analysis</h1>
        <ErrorBox error={error} onRetry={() => { setError(null); failures.current = 0; setTick((t) => t + 1); }} />
      </div>
    );
  }
  if (!status) return <Spinner label="Checking the analysis…" />;

  const st = status.status;
  const active = st === 'queued' || st === 'running';
  const started = status.started_at ? Date.parse(status.started_at) : null;
  const timings = status.timings_ms || {};

  return (
    <div className="mx-auto max-w-3xl space-y-6" data-testid="processing" data-status={st}>
      <div>
        <h1 className="text-2xl font-bold text-slate-900" data-testid="processing-headline">{HEADLINE[st] || st}</h1>
        {active && (
          <p className="mt-1 text-slate-600">
            This usually takes from a few seconds to a few minutes. You can leave this page open; it updates by itself.
          </p>
        )}
      </div>

      <Card>
        <div className="mb-2 flex items-center justify-between text-sm text-slate-600">
          <span data-testid="stage-label">{status.stage_label || (st === 'succeeded' ? 'All steps done' : st === 'queued' ? 'Waiting for a free worker' : '')}</span>
          <span className="tabular-nums" data-testid="progress">{Math.round((Number(status.progress) || 0) * 100)}%</span>
        </div>
        <ProgressBar value={status.progress} label="Analysis progress" />
        <ol className="mt-6 space-y-3">
          {(status.stages || []).map((s) => (
            <li key={s.stage} className="flex items-center gap-3" data-stage={s.stage} data-state={s.state}>
              <StageIcon state={s.state} />
              <span className={s.state === 'pending' ? 'text-slate-400' : s.state === 'failed' ? 'text-red-700' : 'text-slate-800'}>{s.label}</span>
              {timings[s.stage] !== undefined && s.state === 'done' && (
                <span className="ml-auto text-xs tabular-nums text-slate-400">{fmtDuration(timings[s.stage])}</span>
              )}
            </li>
          ))}
        </ol>
        {started && active && <p className="mt-4 text-xs text-slate-400">Started {new Date(started).toLocaleTimeString()}</p>}
      </Card>

      {st === 'failed' && (
        <ErrorBox title="The analysis stopped with a problem" testId="analysis-error">
          <p className="mt-1 text-sm">{status.error || 'No reason was recorded.'}</p>
        </ErrorBox>
      )}
      {actionError && (
        <ErrorBox error={actionError} testId="start-error"
          title={actionError.code === '22023' ? 'This dataset cannot be analysed as it is' : undefined} />
      )}

      <div className="flex flex-wrap gap-3">
        {active && <Button variant="danger" onClick={cancel} disabled={busy || !status.run_id}>Stop the analysis</Button>}
        {(st === 'failed' || st === 'cancelled' || st === 'none') && (
          <Button onClick={start} disabled={busy} data-testid="start-analysis">{st === 'none' ? 'Start the analysis' : 'Try again'}</Button>
        )}
        {st === 'succeeded' && <Button onClick={() => navigate(`/insights/${datasetId}`)}>See the insights</Button>}
        {!active && <Button variant="secondary" onClick={() => navigate('/upload')}>Upload another file</Button>}
      </div>
      {!active && <RunHistory key={`${status.run_id}-${st}`} datasetId={datasetId} />}
    </div>
  );
}
