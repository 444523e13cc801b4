// The insights screen's model-quality card in headless Chromium against crafted API answers:
// the built dashboard (web/dist) is served by a small static server started here, and every
// POST /rpc/<fn> is answered by the page's route handler, so no database is needed. Covers what
// the real run may or may not produce on a given dataset: the simple rule served (serves_naive)
// or not, out-of-time or held-out-customer checks. Started by test/browser/run.sh (after the unit
// tests); LTV_E2E_ARTIFACTS names the screenshot directory.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { HERE, ROOT } from './lib.mjs';

const require = createRequire(path.join(ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const { candidateLabel } = await import(path.join(ROOT, 'web/src/lib/quality.js'));

const DIST = path.join(ROOT, 'web', 'dist');
const ART = process.env.LTV_E2E_ARTIFACTS || path.join(HERE, 'artifacts');
const BUCKETS = ['low', 'medium', 'high', 'vip'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon' };

let server;
let url;
let context;
let page;
const consoleErrors = [];

const DATASET = {
  dataset_id: 7, name: 'crafted', source: 'upload', status: 'ready', created_at: '2024-01-01T00:00:00',
  rows_read: 1000, rows_loaded: 990, rows_rejected: 10, rows_excluded: 0, customers: 400,
  first_purchase: '2009-12-01T08:00:00', last_purchase: '2011-12-09T12:00:00', cleaning_report: {},
  latest_run: { run_id: 3, status: 'succeeded', finished_at: '2024-01-01T00:01:00' },
};

const SEGMENTS = {
  dataset_id: 7, run_id: 3, as_of: '2011-12-10T00:00:00', customers: 400,
  segments: BUCKETS.map((b, i) => ({
    bucket: b, customers: [200, 120, 60, 20][i], share: [0.5, 0.3, 0.15, 0.05][i], past_spend: 1000,
    avg_past_spend: 100, avg_orders: 2, avg_recency_days: 30, avg_probability: 0.6,
  })),
};

const COHORTS = {
  dataset_id: 7, run_id: 3,
  months: [{ cohort_month: '2010-01-01', customers: 400, low: 200, medium: 120, high: 60, vip: 20 }],
  cells: [],
};

const CM = (matrix) => ({ labels: BUCKETS, rows: 'true bucket', columns: 'predicted bucket', matrix });

/** A model_summary answer in the shape of ltv_api.model_summary; `over` replaces keys. */
function summary(over = {}) {
  return {
    dataset_id: 7, run_id: 3, cutoff: '2011-06-09T00:00:00', horizon: '6 mons', test_customers: 1500, training_rows: 3000,
    model: {
      macro_f1: 0.52, accuracy: 0.66,
      per_class: BUCKETS.map((b) => ({ bucket: b, precision: 0.6, recall: 0.6, f1: 0.6, support: 100 })),
    },
    baseline: { macro_f1: 0.47, accuracy: 0.61, per_class: [] },
    lift_macro_f1: 0.05,
    right_per_10: { model: 6.6, baseline: 6.1 },
    confusion_matrix: CM([[300, 40, 8, 2], [50, 120, 30, 3], [5, 30, 60, 10], [0, 2, 10, 30]]),
    baseline_confusion_matrix: CM([[280, 50, 15, 5], [60, 100, 40, 3], [10, 30, 55, 10], [0, 5, 12, 25]]),
    feature_importance: [{ feature: 'spend_365d', importance: 0.3 }, { feature: 'frequency', importance: 0.2 }],
    evaluation: 'out_of_time',
    served: 'blend_model_naive_0.50',
    serves_naive: false,
    served_reason: 'highest mean macro F1 out of time, above the naive rule',
    folds: 3,
    lift_ci90: [0.021, 0.083],
    spearman: 0.61,
    gini: 0.72,
    candidates: [
      { name: 'naive', macro_f1: 0.47, lift: 0, lift_ci90: [0, 0] },
      { name: 'classifier', macro_f1: 0.49, lift: 0.02, lift_ci90: [-0.01, 0.05] },
      { name: 'model_rank', macro_f1: 0.5, lift: 0.03, lift_ci90: [0.0, 0.06] },
      { name: 'blend_model_naive_0.50', macro_f1: 0.52, lift: 0.05, lift_ci90: [0.021, 0.083] },
      { name: 'clv_rank', macro_f1: 0.44, lift: -0.03, lift_ci90: [-0.06, 0.0] },
    ],
    parameters: { n_trees: 200 },
    timings_ms: { features: 10 },
    ...over,
  };
}

/** The simple rule served: the served scores are the rule's own. */
function naiveSummary(over = {}) {
  const base = summary();
  return summary({
    served: 'naive', serves_naive: true,
    served_reason: 'no candidate beat the naive rule out of time: the naive rule is served',
    model: { ...base.model, macro_f1: 0.47, accuracy: 0.61 },
    lift_macro_f1: 0, lift_ci90: [0, 0], right_per_10: { model: 6.1, baseline: 6.1 },
    confusion_matrix: base.baseline_confusion_matrix,
    candidates: base.candidates.map((c) => (c.name === 'naive' ? c : { ...c, macro_f1: 0.45, lift: -0.02, lift_ci90: [-0.05, 0.01] })),
    ...over,
  });
}

let modelSummary = summary();
const calls = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'web/dist is built (web/scripts/build.sh)');
  server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = path.join(DIST, path.normalize(p).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(DIST, 'index.html');
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = fs.mkdtempSync(path.join(process.env.LTV_E2E_TMP || os.tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(30000);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.route('**/rpc/*', async (route) => {
    const fn = new URL(route.request().url()).pathname.replace(/^\/rpc\//, '');
    calls.push(fn);
    const body = { datasets: [DATASET], segments: SEGMENTS, cohorts: COHORTS, model_summary: modelSummary }[fn];
    if (body === undefined) {
      await route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ code: 'PGRST202', message: `no ${fn}`, details: null, hint: null }) });
    } else {
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    }
  });
});

after(async () => {
  if (context) await context.close();
  if (server) await new Promise((r) => server.close(r));
});

async function openInsights(answer) {
  modelSummary = answer;
  await page.goto('about:blank');
  await page.goto(`${url}/#/insights/7`);
  await page.waitForSelector('[data-testid=model-quality]');
}

async function shot(name) {
  fs.mkdirSync(ART, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
}

test('a learned prediction is served: its plain label, how it was checked, the lift; no simple-rule notice', async () => {
  await openInsights(summary());
  assert.ok(calls.includes('model_summary'));
  const label = await page.textContent('[data-testid=served-label]');
  assert.equal(label, 'Our prediction: a blend of the learned model and recent spending');
  assert.equal(await page.getAttribute('[data-testid=served-label]', 'data-served'), 'blend_model_naive_0.50');
  assert.equal(await page.textContent('[data-testid=served-mix]'), 'Mix: 50% the learned model, 50% recent spending.');
  assert.equal(await page.textContent('[data-testid=served-check]'), 'Checked on the months after the training data (3 checks).');
  assert.equal(await page.locator('[data-testid=naive-notice]').count(), 0, 'no simple-rule notice');
  assert.equal(await page.getAttribute('[data-testid=model-card]', 'data-serves-naive'), 'false');
  assert.match(await page.textContent('[data-testid=model-quality]'), /Right for 6\.6 of 10 customers; the simple rule is right for 6\.1\./);
  assert.equal(await page.getAttribute('[data-verdict]', 'data-verdict'), 'better');
  assert.equal(await page.textContent('[data-testid=lift]'), '+5.0 points (likely between +2.1 and +8.3)');
  const subtitle = await page.textContent('[data-testid=model-card] h2 + p');
  assert.match(subtitle, /as of 9 Jun 2011 using only what was known then/);
  assert.match(subtitle, /3 different dates/);
  // No candidate names or statistics jargon outside the details.
  const visible = await page.textContent('[data-testid=model-card]');
  assert.doesNotMatch(visible, /blend_|model_rank|clv_rank|serves_naive|backtest/);
  // Details collapsed by default; then the candidates, best first, the served one marked.
  assert.equal(await page.locator('[data-testid=candidates-table]').count(), 0, 'collapsed by default');
  await page.click('[data-testid=model-details-toggle]');
  await page.waitForSelector('[data-testid=candidates-table]');
  const rows = await page.$$eval('[data-testid=candidates-table] tbody tr', (trs) => trs.map((tr) => ({
    name: tr.dataset.candidate, served: tr.dataset.served, cells: [...tr.cells].map((td) => td.textContent),
  })));
  assert.deepEqual(rows.map((r) => r.name), ['blend_model_naive_0.50', 'model_rank', 'classifier', 'naive', 'clv_rank']);
  assert.deepEqual(rows.map((r) => r.served), ['true', 'false', 'false', 'false', 'false']);
  assert.deepEqual(rows[0].cells, [`${candidateLabel('blend_model_naive_0.50').short}in use`, '52', '+5.0', '+2.1 to +8.3']);
  assert.deepEqual(rows[4].cells, [candidateLabel('clv_rank').short, '44', '−3.0', '−6.0 to 0.0']);
  assert.match(await page.textContent('[data-testid=ranking-quality]'), /rank correlation 0\.61,\s*Gini 0\.72/);
  assert.equal(await page.locator('[data-testid=confusion-matrix]').count(), 2);
  await shot('13-model-quality-served-blend');
});

test('the simple rule is served: plain label and a prominent notice that no model beat it', async () => {
  await openInsights(naiveSummary());
  assert.equal(await page.textContent('[data-testid=served-label]'), candidateLabel('naive').label);
  assert.match(await page.textContent('[data-testid=served-label]'), /^The simple rule: /);
  assert.equal(await page.getAttribute('[data-testid=model-card]', 'data-serves-naive'), 'true');
  const notice = page.locator('[data-testid=naive-notice]');
  assert.equal(await notice.count(), 1);
  assert.ok(await notice.isVisible(), 'the notice is visible without opening the details');
  const text = await notice.textContent();
  assert.match(text, /We are using the simple rule for this dataset\./);
  assert.match(text, /None of our models predicted future spending better than the simple rule when they were checked on the months after the training data/);
  // The notice comes before the scores.
  const order = await page.evaluate(() => {
    const n = document.querySelector('[data-testid=naive-notice]');
    const q = document.querySelector('[data-testid=model-quality]');
    return Boolean(n.compareDocumentPosition(q) & Node.DOCUMENT_POSITION_FOLLOWING);
  });
  assert.ok(order, 'the notice is above the scores');
  assert.equal(await page.locator('[data-verdict]').count(), 0, 'no "better/worse" verdict beside the notice');
  assert.equal(await page.locator('[data-testid=served-mix]').count(), 0);
  assert.match(await page.textContent('[data-testid=model-quality]'), /Right for 6\.1 of 10 customers; the simple rule is right for 6\.1\./);
  await page.click('[data-testid=model-details-toggle]');
  await page.waitForSelector('[data-testid=candidates-table]');
  assert.equal(await page.getAttribute('[data-testid=candidates-table] tr[data-served=true]', 'data-candidate'), 'naive');
  assert.match(await page.textContent('[data-testid=served-reason]'), /no candidate beat the naive rule/);
  await shot('14-model-quality-serves-naive');
});

test('held-out customers (data too short): "checked on customers held out"', async () => {
  await openInsights(summary({ evaluation: 'customer_split', folds: 1, served: 'classifier' }));
  assert.equal(await page.textContent('[data-testid=served-label]'), "Our prediction: the learned model's own choice of group");
  assert.equal(await page.textContent('[data-testid=served-check]'), 'Checked on customers held out.');
  assert.match(await page.textContent('[data-testid=model-card] h2 + p'), /We hid 1,500 customers while learning/);
  assert.equal(await page.locator('[data-testid=naive-notice]').count(), 0);
});

test('a doubtful lift says so; a summary without the new keys still renders', async () => {
  await openInsights(summary({ lift_ci90: [-0.004, 0.09] }));
  assert.equal(await page.getAttribute('[data-verdict]', 'data-verdict'), 'unsure');
  const old = summary();
  for (const k of ['evaluation', 'served', 'serves_naive', 'served_reason', 'folds', 'lift_ci90', 'spearman', 'gini', 'candidates']) delete old[k];
  await openInsights(old);
  assert.equal(await page.locator('[data-testid=served-label]').count(), 0);
  assert.equal(await page.locator('[data-testid=naive-notice]').count(), 0);
  assert.equal(await page.getAttribute('[data-verdict]', 'data-verdict'), 'better');
  await page.click('[data-testid=model-details-toggle]');
  await page.waitForSelector('[data-testid=confusion-matrix]');
  assert.equal(await page.locator('[data-testid=candidates-table]').count(), 0);
});

test('phone width (390 px): the model card with its details fits without sideways scrolling', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await openInsights(naiveSummary());
    await page.click('[data-testid=model-details-toggle]');
    await page.waitForSelector('[data-testid=candidates-table]');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `insights overflow ${overflow} px`);
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test('no uncaught errors in the page', () => {
  const real = consoleErrors.filter((e) => !/status of 4\d\d|Failed to load resource/.test(e));
  assert.deepEqual(real, []);
});
