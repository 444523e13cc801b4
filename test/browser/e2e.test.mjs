// End-to-end: the dashboard in headless Chromium (playwright-core + /usr/bin/chromium) against
// the local server and the real extension. Started by test/browser/run.sh, which sets
// LTV_TEST_URL, PGDATABASE (a fresh database), LTV_E2E_CSV (the CSV to upload),
// LTV_E2E_ARTIFACTS (screenshots) and LTV_E2E_TMP.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { HERE, ROOT, baseUrl, readCsv, sql } from './lib.mjs';

const require = createRequire(path.join(ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const { candidateLabel, checkLabel } = await import(path.join(ROOT, 'web/src/lib/quality.js'));

const ART = process.env.LTV_E2E_ARTIFACTS || path.join(HERE, 'artifacts');
const TMP = process.env.LTV_E2E_TMP || fs.mkdtempSync('/tmp/ltv-e2e-');
const CSV = process.env.LTV_E2E_CSV;
const BUCKETS = ['low', 'medium', 'high', 'vip'];

let context;
let page;
let datasetId;
let runId;
const consoleErrors = [];

async function shot(name) {
  fs.mkdirSync(ART, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
}

async function uploadFile(file) {
  await page.goto(`${baseUrl()}/#/upload`);
  await page.setInputFiles('[data-testid=file-input]', file);
  await page.waitForSelector('[data-testid=upload-button]:not([disabled])');
  await page.click('[data-testid=upload-button]');
  const outcome = await page.waitForSelector('[data-testid=upload-result], [data-testid=upload-error]', { timeout: 600000 });
  return (await outcome.getAttribute('data-testid')) === 'upload-result';
}

async function datasetIdByName(name) {
  const rows = await sql('SELECT dataset_id::int AS id FROM ltv.datasets WHERE name = $1', [name]);
  return rows.length ? rows[0].id : null;
}

async function cardCounts() {
  await page.waitForSelector('[data-testid=segments][data-loading=false]');
  const out = {};
  for (const b of BUCKETS) {
    out[b] = Number(await page.getAttribute(`[data-testid=segment-count-${b}]`, 'data-count'));
  }
  return out;
}

/** Counts per predicted bucket from ltv.predictions and the customers' first purchase line. */
async function expectedCounts(run, ds, from = null, to = null, segment = null) {
  const rows = await sql(`
    WITH fp AS (SELECT customer_id, min(invoice_time) FILTER (WHERE amount > 0) AS first_purchase
                  FROM ltv.transactions WHERE dataset_id = $2 GROUP BY customer_id)
    SELECT p.bucket::text AS bucket, count(*)::int AS n
      FROM ltv.predictions p LEFT JOIN fp USING (customer_id)
     WHERE p.run_id = $1
       AND ($3::date IS NULL OR fp.first_purchase >= $3::date)
       AND ($4::date IS NULL OR fp.first_purchase < $4::date + 1)
       AND ($5::text IS NULL OR p.bucket::text = $5)
     GROUP BY 1`, [run, ds, from, to, segment]);
  const out = Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  for (const r of rows) out[r.bucket] = r.n;
  return out;
}

async function chartState() {
  await page.waitForSelector('[data-testid=segments][data-loading=false]');
  const el = await page.$('[data-testid=segments-chart]');
  return {
    values: await el.getAttribute('data-values'),
    svg: await el.evaluate((n) => (n.querySelector('.recharts-bar-rectangles') || n).innerHTML),
  };
}

before(async () => {
  assert.ok(CSV && fs.existsSync(CSV), `LTV_E2E_CSV must name the CSV to upload (got ${CSV})`);
  const userDataDir = fs.mkdtempSync(path.join(TMP, 'chromium-profile-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  // The dashboard keeps its API token in localStorage (web/src/lib/api.js).
  if (process.env.LTV_TEST_TOKEN) {
    await context.addInitScript((t) => {
      // about:blank has no storage (reading it throws); only the dashboard's pages need it.
      if (window.location.protocol.startsWith('http')) window.localStorage.setItem('ltv_token', t);
    }, process.env.LTV_TEST_TOKEN);
  }
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
  if (context) await context.close();
});

test('welcome screen explains the product and starts the upload', async () => {
  await page.goto(`${baseUrl()}/`);
  await page.waitForSelector('text=Know which customers will matter most next');
  // The server tests ran first in this database: their datasets are listed.
  const [n] = await sql('SELECT count(*)::int AS n FROM ltv.datasets');
  if (n.n === 0) await page.waitForSelector('text=Nothing uploaded yet');
  else {
    // The list arrives after the headline: wait for it before counting.
    await page.waitForSelector('[data-testid=dataset-list] > li');
    assert.equal(await page.locator('[data-testid=dataset-list] > li').count(), n.n);
  }
  await shot('01-welcome');
  await page.click('[data-testid=start]');
  await page.waitForSelector('[data-testid=dropzone]');
  assert.equal(new URL(page.url()).hash, '#/upload');
});

test('a CSV without the customer column is refused with an error naming the column', async () => {
  const before = await sql('SELECT count(*)::int AS n FROM ltv.datasets');
  const ok = await uploadFile(path.join(HERE, 'fixtures', 'missing_customer_id.csv'));
  assert.equal(ok, false, 'the upload must fail');
  const text = await page.textContent('[data-testid=upload-error]');
  assert.match(text, /missing the column "customer_id"/);
  assert.match(text, /CustomerID/);
  assert.equal(await page.getAttribute('[data-testid=upload-error]', 'data-code'), '42703');
  await shot('02-upload-missing-column');
  assert.deepEqual(await sql('SELECT count(*)::int AS n FROM ltv.datasets'), before);
});

test('a Windows-1252 file is decoded in the browser; rejected rows are shown with reasons', async () => {
  const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n';
  const text = `${header}536365,85123A,CAFÉ MUG €5,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n`
    + '536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n'
    + '536367,22745,POPPY\'S PLAYHOUSE BEDROOM,6,yesterday,2.10,13047,United Kingdom\n';
  const bytes = Buffer.from([...text].map((c) => (c === '€' ? 0x80 : c.charCodeAt(0))));
  assert.ok(bytes.every((b) => b < 256));
  const file = path.join(TMP, 'cp1252_sales.csv'); // 2 days of sales: too short to analyse
  fs.writeFileSync(file, bytes);
  assert.equal(await uploadFile(file), true);
  const id = await datasetIdByName('cp1252_sales');
  const rows = await sql('SELECT description FROM ltv.transactions WHERE dataset_id = $1 ORDER BY line_no', [id]);
  assert.deepEqual(rows.map((r) => r.description), ['CAFÉ MUG €5', 'HAND WARMER UNION JACK']);
  const rejected = await sql('SELECT line_no::int, reason FROM ltv.rejected_rows WHERE dataset_id = $1', [id]);
  assert.equal(rejected.length, 1);
  const shown = await page.textContent('[data-testid=rejected-rows] tbody tr');
  assert.ok(shown.includes(String(rejected[0].line_no)) && shown.includes(rejected[0].reason), shown);
  await shot('03-upload-rejected-rows');
  // Two days of sales cannot be analysed: the refusal is shown, the page stays.
  await page.click('[data-testid=start-analysis]');
  await page.waitForSelector('[data-testid=start-error]');
  assert.match(await page.textContent('[data-testid=start-error]'), /cannot be analysed/);
  assert.equal(new URL(page.url()).hash, '#/upload');
  const runs = await sql('SELECT count(*)::int AS n FROM ltv.runs WHERE dataset_id = $1', [id]);
  assert.deepEqual(runs, [{ n: 0 }]);
});

test('a .csv.gz file is unpacked in the browser and uploaded', async () => {
  assert.equal(await uploadFile(path.join(HERE, 'fixtures', 'online_retail_sample.csv.gz')), true);
  const id = await datasetIdByName('online_retail_sample');
  assert.ok(id, 'dataset online_retail_sample exists');
  const [d] = await sql('SELECT rows_read::int, rows_loaded::int FROM ltv.datasets WHERE dataset_id = $1', [id]);
  assert.equal(d.rows_read, 24096);
  assert.equal((await page.textContent('[data-testid=rows-read]')).replace(/,/g, ''), String(d.rows_read));
  await shot('03-upload-gzip-sample');
  assert.ok(d.rows_loaded > 0);
});

test('upload the real CSV, see the summary and cleaning report, start the analysis', async () => {
  const size = fs.statSync(CSV).size;
  const t0 = Date.now();
  assert.equal(await uploadFile(CSV), true, 'upload succeeded');
  const name = await page.$eval('[data-testid=upload-result] h2', (h) => h.textContent);
  const dsName = name.replace(/^“|” is uploaded$/g, '');
  datasetId = await datasetIdByName(dsName);
  assert.ok(datasetId, `dataset ${dsName} exists`);
  const [d] = await sql('SELECT rows_read::int, rows_loaded::int, customers::int, cleaning_report FROM ltv.datasets WHERE dataset_id = $1', [datasetId]);
  assert.equal((await page.textContent('[data-testid=rows-read]')).replace(/,/g, ''), String(d.rows_read));
  assert.equal((await page.textContent('[data-testid=rows-loaded]')).replace(/,/g, ''), String(d.rows_loaded));
  assert.equal((await page.textContent('[data-testid=customers]')).replace(/,/g, ''), String(d.customers));
  for (const [rule, n] of Object.entries(d.cleaning_report.excluded_by_rule)) {
    const cell = await page.textContent(`[data-testid=cleaning-report] tr[data-rule=${rule}] td:last-child`);
    assert.equal(cell.replace(/,/g, ''), String(n), `rule ${rule}`);
  }
  process.stdout.write(`# uploaded ${path.basename(CSV)} (${(size / 1e6).toFixed(1)} MB, ${d.rows_read} rows) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await shot('04-upload-result');

  let statusCalls = 0;
  page.on('request', (r) => { if (r.url().endsWith('/rpc/analysis_status')) statusCalls++; });
  await page.click('[data-testid=start-analysis]');
  await page.waitForSelector('[data-testid=processing]');
  assert.equal(new URL(page.url()).hash, `#/processing/${datasetId}`);
  assert.equal(await page.locator('[data-stage]').count(), 6, 'six stages shown');
  await shot('05-processing');
  await page.waitForFunction(() => location.hash.startsWith('#/insights/')
    || document.querySelector('[data-testid=processing][data-status=failed], [data-testid=processing][data-status=cancelled]'),
  null, { timeout: 900000, polling: 250 });
  if (!new URL(page.url()).hash.startsWith('#/insights/')) {
    await shot('05-processing-failed');
    assert.fail(`analysis did not succeed: ${await page.textContent('[data-testid=processing]')}`);
  }
  assert.ok(statusCalls >= 1, 'the processing screen polled analysis_status');
  const [r] = await sql('SELECT ltv.latest_run($1)::int AS run', [datasetId]);
  runId = r.run;
  assert.ok(runId, 'a successful run exists');
});

test('insights show the bucket counts of ltv.segments', async () => {
  assert.ok(runId, 'needs the analysis');
  await page.waitForSelector('[data-testid=segments-chart]');
  const shown = await cardCounts();
  const rows = await sql('SELECT bucket::text AS bucket, customers::int AS n FROM ltv.segments WHERE run_id = $1', [runId]);
  const expected = Object.fromEntries(BUCKETS.map((b) => [b, 0]));
  for (const row of rows) expected[row.bucket] = row.n;
  assert.deepEqual(shown, expected);
  assert.equal(Number(await page.getAttribute('[data-testid=segments]', 'data-run')), runId);
  const chart = await chartState();
  assert.equal(chart.values, BUCKETS.map((b) => `${b}:${expected[b]}`).join(','));
  assert.equal(await page.locator('[data-testid=segments-chart] .recharts-bar-rectangle').count(), 4);
  assert.ok(await page.locator('[data-testid=cohorts-table] tbody tr').count() >= 1, 'cohort table has rows');
  await page.waitForSelector('[data-testid=model-quality]');
  await shot('06-insights');
});

test('filters change what the chart shows (passed to the API as arguments)', async () => {
  assert.ok(runId, 'needs the analysis');
  const all = await chartState();
  const allCounts = await cardCounts();
  const [span] = await sql(`SELECT (min(invoice_time) + (max(invoice_time) - min(invoice_time)) * 0.6)::date::text AS from_day
                              FROM ltv.transactions WHERE dataset_id = $1`, [datasetId]);
  await page.fill('[data-testid=filter-from]', span.from_day);
  await page.waitForFunction((v) => {
    const el = document.querySelector('[data-testid=segments-chart]');
    const box = document.querySelector('[data-testid=segments]');
    return el && box && box.dataset.loading === 'false' && el.dataset.values !== v;
  }, all.values);
  const filtered = await chartState();
  assert.notEqual(filtered.values, all.values);
  assert.notEqual(filtered.svg, all.svg, 'the bars were redrawn');
  const fromCounts = await cardCounts();
  assert.deepEqual(fromCounts, await expectedCounts(runId, datasetId, span.from_day));
  const total = BUCKETS.reduce((s, b) => s + fromCounts[b], 0);
  assert.ok(total < BUCKETS.reduce((s, b) => s + allCounts[b], 0), 'fewer customers after filtering');
  await shot('07-insights-filtered');

  await page.selectOption('[data-testid=filter-segment]', 'vip');
  await page.waitForFunction((v) => document.querySelector('[data-testid=segments]')?.dataset.loading === 'false'
    && document.querySelector('[data-testid=segments-chart]')?.dataset.values !== v, filtered.values).catch(() => {});
  const vipOnly = await page.$('[data-testid=segments-chart]');
  if (fromCounts.vip > 0) {
    assert.deepEqual(await cardCounts(), { low: 0, medium: 0, high: 0, vip: fromCounts.vip });
    assert.ok(vipOnly);
  } else {
    await page.waitForSelector('text=No customers match these filters.');
  }
  await page.click('[data-testid=filter-reset]');
  await page.waitForFunction((v) => document.querySelector('[data-testid=segments]')?.dataset.loading === 'false'
    && document.querySelector('[data-testid=segments-chart]')?.dataset.values === v, all.values);
  assert.deepEqual(await cardCounts(), allCounts);
});

test('download: the CSV of the filtered list equals ltv.predictions of the run', async () => {
  assert.ok(runId, 'needs the analysis');
  const [pick] = await sql(`SELECT bucket::text AS bucket FROM ltv.predictions WHERE run_id = $1
                             GROUP BY bucket ORDER BY count(*), bucket LIMIT 1`, [runId]);
  await page.selectOption('[data-testid=filter-segment]', pick.bucket);
  await page.waitForFunction((b) => document.querySelector('[data-testid=segments]')?.dataset.loading === 'false'
    && Number(document.querySelector(`[data-testid=segment-count-${b}]`)?.dataset.count) > 0
    && ['low', 'medium', 'high', 'vip'].filter((x) => x !== b)
      .every((x) => document.querySelector(`[data-testid=segment-count-${x}]`)?.dataset.count === '0'), pick.bucket);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-csv]')]);
  const rows = readCsv(fs.readFileSync(await download.path(), 'utf8'));
  const header = rows.shift();
  const col = (name) => { const i = header.indexOf(name); assert.ok(i >= 0, `column ${name}`); return i; };
  const got = rows.map((r) => [r[col('customer_id')], r[col('bucket')], ...['p_low', 'p_medium', 'p_high', 'p_vip'].map((p) => Number(r[col(p)]))]);
  const expected = (await sql(`SELECT customer_id, bucket::text AS bucket, p_low, p_medium, p_high, p_vip FROM ltv.predictions
                                WHERE run_id = $1 AND bucket = $2::ltv.bucket ORDER BY customer_id`, [runId, pick.bucket]))
    .map((r) => [r.customer_id, r.bucket, r.p_low, r.p_medium, r.p_high, r.p_vip]);
  assert.ok(expected.length > 0);
  assert.deepEqual(got, expected);
  await page.click('[data-testid=filter-reset]');
  await page.waitForSelector('[data-testid=segments][data-loading=false]');
});

test('model quality in plain words, confusion matrix behind "details"', async () => {
  assert.ok(runId, 'needs the analysis');
  const text = await page.textContent('[data-testid=model-quality]');
  const m = /Right for ([\d.]+) of 10 customers; the simple rule is right for ([\d.]+)\./.exec(text);
  assert.ok(m, text);
  const [s] = await sql('SELECT ltv_api.model_summary($1)::jsonb AS j', [datasetId]);
  assert.equal(Number(m[1]), Number(s.j.right_per_10.model));
  assert.equal(Number(m[2]), Number(s.j.right_per_10.baseline));
  assert.equal(await page.locator('[data-testid=confusion-matrix]').count(), 0, 'hidden until asked for');
  await page.click('[data-testid=model-details-toggle]');
  await page.waitForSelector('[data-testid=confusion-matrix]');
  const cells = await page.$$eval('[data-testid=confusion-matrix] >> nth=0', (t) => t);
  assert.ok(cells);
  const first = await page.$eval('[data-testid=confusion-matrix] tbody tr td', (td) => td.textContent);
  assert.equal(Number(first.replace(/,/g, '')), s.j.confusion_matrix.matrix[0][0]);
  await page.locator('[data-testid=model-details]').scrollIntoViewIfNeeded();
  await shot('08-insights-model-details');
});

test('model quality names what the run serves; the simple-rule notice follows serves_naive', async () => {
  assert.ok(runId, 'needs the analysis');
  const [s] = await sql('SELECT ltv_api.model_summary($1)::jsonb AS j', [datasetId]);
  const j = s.j;
  assert.equal(typeof j.served, 'string', 'model_summary names the served candidate');
  const check = async (summary) => {
    await page.goto('about:blank'); // a fresh load: the same URL with a hash would not refetch
    await page.goto(`${baseUrl()}/#/insights/${datasetId}`);
    await page.waitForSelector('[data-testid=served-label]');
    assert.equal(await page.textContent('[data-testid=served-label]'), candidateLabel(summary.served).label);
    assert.equal(await page.locator('[data-testid=naive-notice]').count(), summary.serves_naive ? 1 : 0,
      `simple-rule notice iff serves_naive (${summary.serves_naive})`);
    assert.equal(await page.locator('[data-verdict]').count(), summary.serves_naive ? 0 : 1);
    if (checkLabel(summary.evaluation)) {
      assert.match(await page.textContent('[data-testid=served-check]'), new RegExp(`^${checkLabel(summary.evaluation)}`, 'i'));
    }
  };
  // The real answer.
  await check(j);
  await shot(j.serves_naive ? '08b-model-quality-serves-naive' : '08b-model-quality-served');
  // The real answer with the other outcome: the page follows serves_naive, not the data.
  const other = j.serves_naive
    ? { ...j, served: 'blend_model_naive_0.50', serves_naive: false, lift_macro_f1: 0.05, lift_ci90: [0.01, 0.09] }
    : { ...j, served: 'naive', serves_naive: true, lift_macro_f1: 0, lift_ci90: [0, 0] };
  const handler = async (route) => {
    const res = await route.fetch();
    assert.equal(res.status(), 200);
    await route.fulfill({ response: res, json: other });
  };
  await page.route('**/rpc/model_summary', handler);
  try {
    await check(other);
  } finally {
    await page.unroute('**/rpc/model_summary', handler);
  }
});

test('customer detail shows the predicted bucket of ltv.predictions', async () => {
  assert.ok(runId, 'needs the analysis');
  const [c] = await sql(`SELECT customer_id, bucket::text AS bucket FROM ltv.predictions WHERE run_id = $1
                          ORDER BY (bucket = 'vip') DESC, customer_id LIMIT 1`, [runId]);
  await page.click('nav >> text=Customers');
  await page.waitForSelector('[data-testid=customer-search]');
  await page.fill('[data-testid=customer-search]', c.customer_id.slice(0, Math.max(1, c.customer_id.length - 1)));
  await page.click(`[data-testid=customer-suggestions] [data-customer="${c.customer_id}"]`);
  await page.waitForSelector(`[data-testid=customer-detail][data-customer="${c.customer_id}"]`);
  assert.equal(await page.getAttribute('[data-testid=predicted-bucket]', 'data-bucket'), c.bucket);
  await page.waitForSelector('[data-testid=probabilities-chart] .recharts-bar-rectangle');
  const [api] = await sql('SELECT ltv_api.customer($1, $2)::jsonb AS j', [datasetId, c.customer_id]);
  assert.equal(api.j.predicted_bucket, c.bucket);
  assert.equal(await page.locator('[data-testid=features] > div').count(), Object.keys(api.j.features).length, 'every feature shown');
  // Every model input is among the facts shown (ranks included), each with a label.
  const [inputs] = await sql('SELECT array_agg(name) AS names FROM ltv.feature_registry() WHERE model_input');
  assert.deepEqual(Object.keys(api.j.features).sort(), [...inputs.names].sort(), 'every model input in the API');
  // Why this bucket: the reasons of ltv_api.customer (ltv.reasons), as a chart and in words,
  // in the API's order, each raising or lowering the chance as its contribution says.
  assert.ok(api.j.reasons && api.j.reasons.items.length > 0, 'the API gives reasons');
  assert.equal(api.j.reasons.bucket, c.bucket);
  await page.waitForSelector('[data-testid=reasons-chart] .recharts-bar-rectangle');
  const shown = await page.$$eval('[data-testid=reasons] li',
    (els) => els.map((e) => ({ feature: e.dataset.feature, contribution: Number(e.dataset.contribution), text: e.textContent })));
  assert.deepEqual(shown.map((s) => s.feature), api.j.reasons.items.map((i) => i.feature));
  for (const s of shown) assert.match(s.text, s.contribution > 0 ? /raises the chance of/ : /lowers the chance of/);
  const [why] = await sql(`SELECT feature, contribution FROM ltv.reasons($1, ARRAY[$2]) ORDER BY rank LIMIT 1`, [runId, c.customer_id]);
  assert.equal(shown[0].feature, why.feature);
  assert.ok(Math.abs(shown[0].contribution - why.contribution) < 1e-12);
  const [h] = await sql('SELECT count(DISTINCT invoice)::int AS orders FROM ltv.transactions WHERE dataset_id = $1 AND customer_id = $2 AND amount > 0', [datasetId, c.customer_id]);
  assert.ok(h.orders >= 1);
  await shot('09-customer');
  // An id that does not exist: a plain "not found", not a crash.
  await page.fill('[data-testid=customer-search]', 'no-such-customer');
  await page.click('[data-testid=customer-go]');
  await page.waitForSelector('text=We found no customer “no-such-customer” in this dataset.');
});

test('phone width (390 px): insights and customer detail fit without sideways scrolling', async () => {
  assert.ok(runId, 'needs the analysis');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${baseUrl()}/#/insights/${datasetId}`);
  await cardCounts();
  await page.waitForSelector('[data-testid=cohorts-chart]');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(await overflow() <= 0, `insights overflow ${await overflow()} px`);
  await shot('10-insights-phone');
  const [c] = await sql('SELECT customer_id FROM ltv.predictions WHERE run_id = $1 ORDER BY customer_id LIMIT 1', [runId]);
  await page.goto(`${baseUrl()}/#/customers/${datasetId}/${encodeURIComponent(c.customer_id)}`);
  await page.waitForSelector('[data-testid=customer-detail]');
  assert.ok(await overflow() <= 0, `customer overflow ${await overflow()} px`);
  await shot('11-customer-phone');
  await page.goto(`${baseUrl()}/#/upload`);
  await page.waitForSelector('[data-testid=dropzone]');
  assert.ok(await overflow() <= 0, 'upload overflow');
  await shot('12-upload-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('run history: every run with its served model and lift; the chosen run is in the URL', async () => {
  assert.ok(runId, 'needs the analysis');
  const [{ run: newer }] = await sql(`SELECT ltv.run_analysis($1, '{"horizon": "3 months", "forest": {"n_trees": 10}}')::int AS run`, [datasetId]);
  await page.goto(`${baseUrl()}/#/insights/${datasetId}`);
  await page.waitForSelector('[data-testid=run-history]');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=segments]')?.dataset.run) === n, newer);
  const stored = await sql(`SELECT a.run_id::int AS run, a.status, m.metrics->>'served' AS served, m.metrics->>'lift_macro_f1' AS lift
                              FROM ltv.analysis_runs a LEFT JOIN ltv.models m USING (run_id)
                             WHERE a.dataset_id = $1 ORDER BY a.run_id DESC`, [datasetId]);
  const shown = await page.$$eval('[data-testid=run-row]', (rows) => rows.map((r) => ({
    run: Number(r.dataset.run), status: r.dataset.status, served: r.dataset.served || null, lift: r.dataset.lift || null })));
  assert.deepEqual(shown.map((r) => [r.run, r.status, r.served]), stored.map((r) => [r.run, r.status, r.served]));
  shown.forEach((r, i) => assert.equal(r.lift === null ? null : Number(r.lift), stored[i].lift === null ? null : Number(stored[i].lift)));
  // Pick the older run: the address says so, and the cards are that run's.
  await page.click(`[data-testid=run-row][data-run="${runId}"] [data-testid=run-open]`);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=segments]')?.dataset.run) === n
    && document.querySelector('[data-testid=segments]')?.dataset.loading === 'false', runId);
  assert.ok(new URL(page.url()).hash.endsWith(`?run=${runId}`), page.url());
  assert.deepEqual(await cardCounts(), await expectedCounts(runId, datasetId));
  await page.waitForSelector('[data-testid=run-pinned]');
  await shot('11-insights-run-history');
  // The address alone brings it back.
  await page.goto(`${baseUrl()}/#/insights/${datasetId}?run=${runId}`);
  await page.reload();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=segments]')?.dataset.run) === n, runId);
  await sql('DELETE FROM ltv.analysis_runs WHERE run_id = $1', [newer]);
});

test('no uncaught errors in the page', () => {
  const real = consoleErrors.filter((e) => !/status of 4\d\d|Failed to load resource/.test(e));
  assert.deepEqual(real, []);
});
