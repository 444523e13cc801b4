// All data access: PostgREST-style POST /rpc/<function> calls to the ltv_api functions
// (docs/api.md), on the page's own origin, so one build works behind nginx + PostgREST and
// behind the local server (web/server).
import { PostgrestClient } from '@supabase/postgrest-js';

const origin = typeof window !== 'undefined' ? window.location.origin : 'http://localhost';

// The API token (docs/security.md): given once as ?token=... in the address (scripts/demo.sh
// prints such a link), then kept in this browser. Without one, requests run as the anonymous
// role, which only reads.
function takeToken() {
  if (typeof window === 'undefined' || !window.localStorage) return null;
  const url = new URL(window.location.href);
  const given = url.searchParams.get('token');
  if (given) {
    window.localStorage.setItem('ltv_token', given);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
  }
  return window.localStorage.getItem('ltv_token');
}
const token = takeToken();
const authHeaders = token ? { Authorization: `Bearer ${token}` } : {};
export const client = new PostgrestClient(origin, { headers: authHeaders });

export class ApiError extends Error {
  constructor({ status, code, message, details, hint }) {
    super(message || `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status ?? 0;
    this.code = code || '';
    this.details = details || null;
    this.hint = hint || null;
  }
}

/** Calls ltv_api.<fn>(args) and returns its JSON result; throws ApiError on failure. */
export async function rpc(fn, args = {}, { signal } = {}) {
  let q = client.rpc(fn, args);
  if (signal) q = q.abortSignal(signal);
  const { data, error, status } = await q;
  if (error) {
    let message = error.message;
    // A proxy in front of PostgREST (nginx) answers some errors with an HTML page.
    if (typeof message === 'string' && message.trim().startsWith('<')) {
      message = status === 413 ? 'Payload Too Large' : `HTTP ${status}`;
    }
    throw new ApiError({ status, code: error.code, message, details: error.details, hint: error.hint });
  }
  return data;
}

/**
 * Calls the set-returning ltv_api.<fn>(args) asking for CSV (Accept: text/csv, as PostgREST
 * serves it) with the same token as every other call; resolves the file as a Blob.
 */
export async function rpcCsv(fn, args = {}) {
  const res = await fetch(`${origin}/rpc/${encodeURIComponent(fn)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/csv', ...authHeaders },
    body: JSON.stringify(args),
  });
  if (!res.ok) {
    let body = {};
    try { body = await res.json(); } catch { /* not JSON: a proxy's page */ }
    throw new ApiError({ status: res.status, ...body });
  }
  return res.blob();
}

const COLUMN_WORDS = {
  customer_id: 'the customer ID (often called CustomerID or Customer ID)',
  invoice_time: 'the purchase date and time (often called InvoiceDate)',
  quantity: 'the quantity bought (often called Quantity)',
  unit_price: 'the price per item (often called UnitPrice or Price)',
  amount: 'the line amount',
  invoice: 'the invoice number (often called InvoiceNo)',
};

/** Parses `required column "x" not found; columns found: a, b` (the import's 42703 message). */
export function parseMissingColumn(message) {
  const m = /column "([^"]+)"/.exec(message || '');
  if (!m) return null;
  const found = /columns found: (.*)$/.exec(message || '');
  return { column: m[1], found: found ? found[1] : null };
}

/**
 * Turns an error into plain words: {title, text, technical}.
 * `technical` keeps the server's own message for those who want it.
 */
export function explainError(err) {
  const technical = err && err.message ? [err.code, err.message].filter(Boolean).join(': ') : String(err);
  const code = err && err.code;
  const status = err && err.status;
  if (code === '42703') {
    const p = parseMissingColumn(err.message);
    if (p) {
      return {
        title: `Your file is missing the column "${p.column}"`,
        text: `We need ${COLUMN_WORDS[p.column] || `a column for "${p.column}"`} to understand your sales, but could not find a column "${p.column}" in the first line of the file.` +
          (p.found ? ` The columns we found are: ${p.found}.` : '') +
          ' Rename that column in your spreadsheet (or export the file again) and upload it once more.',
        technical,
      };
    }
  }
  if (code === '42710') {
    return { title: 'That name is already taken', text: 'A dataset with this name already exists. Choose another name, or tick "Replace the existing dataset".', technical };
  }
  if (code === '22P02' || code === '22P04' || code === '22021') {
    return { title: 'We could not read this file', text: `The file does not look like a valid CSV export. ${err.message || ''}`.trim(), technical };
  }
  if (code === '22023') {
    return { title: 'Something in the request was not accepted', text: err.message, technical };
  }
  if (status === 413 || (code && code.startsWith('54'))) {
    return { title: 'The file is too large', text: 'The file is larger than the server accepts. Try a smaller export (for example one year of sales), or ask your administrator to raise the upload limit.', technical };
  }
  if (status === 401 || status === 403) {
    return { title: 'You may not do this here', text: 'This dashboard is read-only without an analyst\'s link: open the link with ?token=... that scripts/demo.sh printed (or ask your administrator for one), then try again.', technical };
  }
  if (code === 'PT429' || status === 429) {
    return { title: 'Too many analyses at once', text: err.message || 'You have reached your limit of analyses running at the same time. Wait for one to finish.', technical };
  }
  if (code === 'PT409' || status === 409) {
    return { title: 'An analysis is already running', text: 'This dataset is already being analysed. Wait for it to finish.', technical };
  }
  if (code === 'PT404' || status === 404) {
    return { title: 'Not found', text: err.message || 'We could not find what you asked for.', technical };
  }
  if (status === 0 || code === 'PGRST000' || status === 503) {
    return { title: 'Cannot reach the server', text: 'The dashboard could not talk to the database. Check that the server is running and try again.', technical };
  }
  if (code === '57014') {
    return { title: 'This took too long', text: 'The database stopped the request because it took too long. Try again, or try a smaller file.', technical };
  }
  return { title: 'Something went wrong', text: err && err.message ? err.message : 'An unexpected error happened.', technical };
}
