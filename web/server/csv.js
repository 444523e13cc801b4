// CSV as RFC 4180 writes it: fields separated by commas, records by CRLF; a field holding a
// comma, a double quote, CR or LF is enclosed in double quotes with its quotes doubled. SQL
// NULL is the empty field, as PostgREST writes it.

const NEEDS_QUOTES = /[",\r\n]/;

/** One field: text as Postgres prints the value, or null/undefined for SQL NULL. */
export function csvField(value) {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record (with its CRLF) of an array of values. */
export function csvRecord(values) {
  return values.map(csvField).join(',') + '\r\n';
}
