const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const moneyFmt = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const num1Fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(Number(n)) ? '–' : intFmt.format(Number(n)));
export const fmtMoney = (n) => (n === null || n === undefined ? '–' : moneyFmt.format(Number(n)));
export const fmtNum = (n) => (n === null || n === undefined ? '–' : num1Fmt.format(Number(n)));
export const fmtPct = (x, digits = 0) => (x === null || x === undefined ? '–' : `${(Number(x) * 100).toFixed(digits)}%`);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "2010-12-01..." -> "Dec 2010" (no time zone games: the string is read as is). */
export function fmtMonth(s) {
  if (!s) return '–';
  const m = /^(\d{4})-(\d{2})/.exec(String(s));
  return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(s);
}

/** "2010-12-01T08:26:00" -> "1 Dec 2010" */
export function fmtDate(s) {
  if (!s) return '–';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s));
  return m ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}` : String(s);
}

/** "2010-12-01T08:26:00" -> "2010-12-01" (for <input type="date">) */
export const isoDay = (s) => (s ? String(s).slice(0, 10) : '');

export function fmtBytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}
