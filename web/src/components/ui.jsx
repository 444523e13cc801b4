import { useState } from 'react';
import { explainError } from '../lib/api.js';
import { BUCKET_BADGE, BUCKET_LABEL } from '../lib/buckets.js';

export function Card({ title, subtitle, actions, children, className = '', ...rest }) {
  return (
    <section className={`rounded-xl bg-white p-4 shadow-sm ring-1 ring-slate-200 sm:p-6 ${className}`} {...rest}>
      {(title || actions) && (
        <div className="mb-4 flex flex-wrap items-start justify-between gap-2">
          <div>
            {title && <h2 className="text-lg font-semibold text-slate-900">{title}</h2>}
            {subtitle && <p className="mt-1 text-sm text-slate-500">{subtitle}</p>}
          </div>
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

export function Button({ variant = 'primary', className = '', ...props }) {
  const styles = {
    primary: 'bg-indigo-600 text-white hover:bg-indigo-700 disabled:bg-indigo-300',
    secondary: 'bg-white text-slate-700 ring-1 ring-slate-300 hover:bg-slate-50 disabled:text-slate-400',
    danger: 'bg-white text-red-700 ring-1 ring-red-300 hover:bg-red-50',
    link: 'text-indigo-700 underline-offset-2 hover:underline px-0 py-0',
  }[variant];
  return (
    <button
      type="button"
      className={`inline-flex items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-medium transition focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:cursor-not-allowed ${styles} ${className}`}
      {...props}
    />
  );
}

export function Spinner({ label = 'Loading…' }) {
  return (
    <div className="flex items-center gap-3 py-6 text-slate-500" role="status" aria-live="polite">
      <span className="h-5 w-5 animate-spin rounded-full border-2 border-slate-300 border-t-indigo-600" />
      <span>{label}</span>
    </div>
  );
}

export function ErrorBox({ error, title, children, testId = 'error', onRetry }) {
  const [open, setOpen] = useState(false);
  const e = error ? explainError(error) : { title, text: null, technical: null };
  return (
    <div className="rounded-xl border border-red-200 bg-red-50 p-4 text-red-900" role="alert" data-testid={testId}
      data-code={error && error.code ? error.code : undefined}>
      <p className="font-semibold">{title || e.title}</p>
      {e.text && <p className="mt-1 text-sm">{e.text}</p>}
      {children}
      <div className="mt-2 flex flex-wrap gap-4">
        {onRetry && <Button variant="link" onClick={onRetry}>Try again</Button>}
        {e.technical && (
          <Button variant="link" className="text-red-800" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? 'Hide technical details' : 'Technical details'}
          </Button>
        )}
      </div>
      {open && e.technical && (
        <pre className="mt-2 overflow-x-auto whitespace-pre-wrap break-words rounded bg-white/70 p-2 text-xs text-red-800">
          {e.technical}
          {error.details ? `\n${error.details}` : ''}
          {error.hint ? `\nHint: ${error.hint}` : ''}
        </pre>
      )}
    </div>
  );
}

export function Empty({ title, children }) {
  return (
    <div className="rounded-xl border border-dashed border-slate-300 bg-white p-6 text-center text-slate-600">
      <p className="font-medium text-slate-800">{title}</p>
      {children && <div className="mt-2 text-sm">{children}</div>}
    </div>
  );
}

export function BucketBadge({ bucket, className = '', ...rest }) {
  if (!bucket) return <span className="text-slate-400">–</span>;
  return (
    <span className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-sm font-semibold ring-1 ${BUCKET_BADGE[bucket] || ''} ${className}`}
      data-bucket={bucket} {...rest}>
      {BUCKET_LABEL[bucket] || bucket}
    </span>
  );
}

export function Stat({ label, value, hint, testId }) {
  return (
    <div className="rounded-lg bg-slate-50 p-3 ring-1 ring-slate-200">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</div>
      <div className="mt-1 text-xl font-semibold text-slate-900" data-testid={testId}>{value}</div>
      {hint && <div className="mt-0.5 text-xs text-slate-500">{hint}</div>}
    </div>
  );
}

export function ProgressBar({ value, label }) {
  const pct = Math.max(0, Math.min(1, Number(value) || 0)) * 100;
  return (
    <div className="h-3 w-full overflow-hidden rounded-full bg-slate-200" role="progressbar" aria-label={label}
      aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <div className="h-full rounded-full bg-indigo-600 transition-all duration-500" style={{ width: `${pct}%` }} />
    </div>
  );
}
