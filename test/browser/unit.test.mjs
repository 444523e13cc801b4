// Unit tests of the server's pure parts (error mapping, overload choice, SQL text) and of the
// dashboard's file decoding and model-quality wording. No database needed.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, readCsv } from './lib.mjs';

const errors = await import(path.join(ROOT, 'web/server/errors.js'));
const rpcMod = await import(path.join(ROOT, 'web/server/rpc.js'));
const decode = await import(path.join(ROOT, 'web/src/lib/decode.js'));
const api = await import(path.join(ROOT, 'web/src/lib/api.js'));
const quality = await import(path.join(ROOT, 'web/src/lib/quality.js'));
const csv = await import(path.join(ROOT, 'web/server/csv.js'));
const app = await import(path.join(ROOT, 'web/server/app.js'));

test('SQLSTATE -> HTTP status follows PostgREST', () => {
  const cases = {
    PT404: 404, PT409: 409, PT418: 418, '08006': 503, '09000': 500, '0L000': 403, '0P000': 403,
    23503: 409, 23505: 409, 23502: 400, 25006: 405, 25001: 500, 28000: 403, '2D000': 500, 38000: 500,
    39000: 500, '3B000': 500, 40001: 500, 53100: 503, 53400: 503, 54000: 413, 54001: 413, 55006: 500,
    57014: 500, '57P01': 503, 58030: 500, F0000: 500, HV000: 500, P0001: 400, P0002: 500, XX000: 500,
    42883: 404, '42P01': 404, 42501: 401, 42703: 400, 42710: 400, '22P02': 400, '22P04': 400, 22023: 400,
  };
  for (const [code, status] of Object.entries(cases)) {
    assert.equal(errors.httpStatusForSqlState(String(code)), status, `SQLSTATE ${code}`);
  }
  assert.equal(errors.httpStatusForSqlState('42501', { authenticated: true }), 403);
  assert.equal(errors.httpStatusForSqlState('22023', { message: 'role "x" does not exist' }), 401);
});

test('error bodies have exactly PostgREST keys', () => {
  const e = errors.fromPgError({ code: '42703', message: 'm', detail: 'd', hint: 'h' });
  assert.deepEqual(e, { status: 400, body: { code: '42703', details: 'd', hint: 'h', message: 'm' } });
  const c = errors.fromPgError(new Error('connect ECONNREFUSED'));
  assert.equal(c.status, 503);
  assert.equal(c.body.code, 'PGRST000');
});

const row = (over) => ({
  proname: 'segments', proretset: false, returns_void: false, pronargdefaults: 2,
  argnames: ['dataset_id', 'run_id', 'segment'], argmodes: [], argtypes: ['bigint', 'bigint', 'text'], ...over,
});

test('overload choice: keys must be argument names, required ones present', () => {
  assert.equal(rpcMod.matchFunction([row()], ['dataset_id']).length, 1);
  assert.equal(rpcMod.matchFunction([row()], ['dataset_id', 'segment']).length, 1);
  assert.equal(rpcMod.matchFunction([row()], ['dataset_id', 'bogus']).length, 0);
  assert.equal(rpcMod.matchFunction([row()], ['segment']).length, 0, 'dataset_id has no default');
  assert.equal(rpcMod.matchFunction([row()], []).length, 0);
  const out = row({ argmodes: ['i', 'i', 'i', 'o'], argnames: ['dataset_id', 'run_id', 'segment', 'result'], argtypes: ['bigint', 'bigint', 'text', 'json'] });
  assert.equal(rpcMod.matchFunction([out], ['dataset_id', 'result']).length, 0, 'OUT arguments are not inputs');
});

test('call SQL binds the body as one parameter and quotes catalog names', () => {
  const m = rpcMod.matchFunction([row({ argnames: ['dataset_id', 'run"id', 'segment'] })], ['dataset_id', 'run"id'])[0];
  const q = rpcMod.buildCallSql('ltv_api', m, ['dataset_id', 'run"id']);
  assert.equal(q, 'SELECT pg_catalog.to_json("ltv_api"."segments"("dataset_id" := _pgrst_args."dataset_id", "run""id" := _pgrst_args."run""id"))::text AS body'
    + ' FROM pg_catalog.json_to_record($1::json) AS _pgrst_args("dataset_id" bigint, "run""id" bigint)');
  assert.match(rpcMod.buildCallSql('ltv_api', { row: row(), args: [], singleJson: false }, []), /"segments"\(\)/);
});

test('set-returning calls select the function\'s own columns', () => {
  const row = { proname: 'export_predictions', proretset: true };
  const m = { row, args: [{ name: 'dataset_id', type: 'bigint', hasDefault: false }], singleJson: false };
  assert.equal(rpcMod.buildRowsSql('ltv_api', m, ['dataset_id']),
    'SELECT _pgrst_r.* FROM pg_catalog.json_to_record($1::json) AS _pgrst_args("dataset_id" bigint), '
    + 'LATERAL "ltv_api"."export_predictions"("dataset_id" := _pgrst_args."dataset_id") AS _pgrst_r');
  assert.equal(rpcMod.buildRowsSql('ltv_api', { row, args: [], singleJson: false }, []),
    'SELECT _pgrst_r.* FROM "ltv_api"."export_predictions"() AS _pgrst_r');
});

test('CSV: RFC 4180 quoting', () => {
  assert.equal(csv.csvField('plain'), 'plain');
  assert.equal(csv.csvField(null), '');
  assert.equal(csv.csvField(undefined), '');
  assert.equal(csv.csvField('a,b'), '"a,b"');
  assert.equal(csv.csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csv.csvField('two\nlines'), '"two\nlines"');
  assert.equal(csv.csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csv.csvField(' spaced '), ' spaced ');
  assert.equal(csv.csvField('back\\slash'), 'back\\slash');
  assert.equal(csv.csvRecord(['a', null, 'b,c']), 'a,,"b,c"\r\n');
  const values = ['', 'x', ',', '"', '""', 'a"b', '\r\n', '\n', '\r', 'end\r', ' lead', 'ü € 😀', '=1+1', '\\"', 'a,"b"\r\nc'];
  const rows = [];
  for (let k = 0; k < values.length; k++) rows.push([values[k], values[(k * 7) % values.length], values[(k * 3 + 1) % values.length]]);
  assert.deepEqual(readCsv(rows.map(csv.csvRecord).join('')), rows);
});

test('CSV is chosen by the Accept header as PostgREST does', () => {
  const want = (accept) => app.wantsCsv({ headers: accept === undefined ? {} : { accept } });
  assert.equal(want('text/csv'), true);
  assert.equal(want('Text/CSV; charset=utf-8'), true);
  assert.equal(want('text/csv, application/json'), true);
  assert.equal(want('application/json, text/csv'), false);
  assert.equal(want('application/json'), false);
  assert.equal(want('*/*'), false);
  assert.equal(want(undefined), false);
});

test('file decoding: strict UTF-8, else Windows-1252', () => {
  const utf8 = new TextEncoder().encode('Description\nCAFÉ MUG €\n');
  assert.deepEqual(decode.decodeText(utf8), { text: 'Description\nCAFÉ MUG €\n', encoding: 'UTF-8' });
  // "CAFÉ\n" in Windows-1252 (0x80-0x9f, e.g. the euro sign, are checked in Chromium by the
  // e2e test: Node decodes "windows-1252" as ISO-8859-1 there).
  const cp1252 = Uint8Array.from([0x43, 0x41, 0x46, 0xc9, 0x0a]);
  assert.deepEqual(decode.decodeText(cp1252), { text: 'CAFÉ\n', encoding: 'Windows-1252' });
});

test('file decoding: gzip through DecompressionStream', async () => {
  const { gzipSync } = await import('node:zlib');
  const text = 'InvoiceNo,CustomerID\n536365,17850\n';
  const file = new File([gzipSync(Buffer.from(text))], 'x.csv.gz');
  const out = await decode.readCsvFile(file);
  assert.equal(out.text, text);
  assert.equal(out.compressed, true);
  await assert.rejects(decode.readCsvFile(new File([Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0xff])], 'book.xlsx')), /binary data/);
});

test('missing-column errors are explained with the column name', () => {
  const e = api.explainError({ code: '42703', status: 400, message: 'required column "customer_id" not found; columns found: InvoiceNo, Country' });
  assert.match(e.title, /customer_id/);
  assert.match(e.text, /CustomerID/);
  assert.match(e.text, /InvoiceNo, Country/);
});

test('served candidates in plain words', () => {
  const { candidateLabel } = quality;
  const naive = candidateLabel('naive');
  assert.equal(naive.kind, 'naive');
  assert.match(naive.label, /^The simple rule: .*last 6 months/);
  const blend = candidateLabel('blend_model_naive_0.50');
  assert.equal(blend.kind, 'prediction');
  assert.equal(blend.label, 'Our prediction: a blend of the learned model and recent spending');
  assert.equal(blend.mix, '50% the learned model, 50% recent spending');
  assert.equal(blend.short, 'Learned model + recent spending (50/50)');
  assert.equal(candidateLabel('blend_clv_naive_0.75').mix, '75% the buying-pattern model, 25% recent spending');
  assert.equal(candidateLabel('blend_model_clv_0.25').label, 'Our prediction: a blend of the learned model and the buying-pattern model');
  assert.equal(candidateLabel('blend_model_clv_0.25').short, 'Learned model + buying-pattern model (25/75)');
  assert.equal(candidateLabel('classifier').label, "Our prediction: the learned model's own choice of group");
  assert.equal(candidateLabel('model_rank').label, 'Our prediction: customers ranked by the learned model');
  assert.match(candidateLabel('clv_rank').label, /^Our prediction: .*buying-pattern model/);
  for (const name of ['naive', 'classifier', 'model_rank', 'clv_rank', 'blend_model_naive_0.25', 'blend_clv_naive_0.50', 'blend_model_clv_0.75']) {
    const l = candidateLabel(name);
    assert.ok(!l.label.includes(name) && !/_/.test(l.label) && !/_/.test(l.short), `${name} has a plain label: ${l.label} / ${l.short}`);
  }
  // Unknown or malformed names are shown as they are, never crash.
  assert.equal(candidateLabel('stacked_v2').label, 'Our prediction (stacked_v2)');
  assert.equal(candidateLabel('blend_model_model_0.50').label, 'Our prediction (blend_model_model_0.50)');
  assert.equal(candidateLabel('blend_model_naive_1.50').kind, 'prediction');
  assert.equal(candidateLabel(null).label, 'Our prediction');
  assert.equal(candidateLabel(undefined).short, 'Prediction');
});

test('how the run was checked, the lift and the verdict in plain words', () => {
  const { checkLabel, fmtPoints, liftText, verdictOf, rankCandidates, usesLearnedModel } = quality;
  assert.equal(checkLabel('out_of_time'), 'checked on the months after the training data');
  assert.equal(checkLabel('customer_split'), 'checked on customers held out');
  assert.equal(checkLabel(undefined), null);
  assert.equal(fmtPoints(0.052), '+5.2');
  assert.equal(fmtPoints(-0.0149), '−1.5');
  assert.equal(fmtPoints(0), '0.0');
  assert.equal(fmtPoints(null), '–');
  assert.equal(liftText(0.05, [0.02, 0.08]), '+5.0 points (likely between +2.0 and +8.0)');
  assert.equal(liftText(0.05, null), '+5.0 points');
  assert.equal(liftText(0.05, [null, 0.1]), '+5.0 points');
  assert.equal(liftText(null, [0, 1]), null);
  assert.equal(verdictOf({ serves_naive: true, served: 'naive', lift_macro_f1: 0 }), 'naive');
  assert.equal(verdictOf({ serves_naive: false, lift_macro_f1: 0.05, lift_ci90: [0.02, 0.08] }), 'better');
  assert.equal(verdictOf({ serves_naive: false, lift_macro_f1: 0.05, lift_ci90: [-0.01, 0.1] }), 'unsure');
  assert.equal(verdictOf({ serves_naive: false, lift_macro_f1: 0.004 }), 'same');
  assert.equal(verdictOf({ model: { macro_f1: 0.4 }, baseline: { macro_f1: 0.5 } }), 'worse', 'older summaries without lift_macro_f1');
  assert.equal(verdictOf(null), null);
  const ranked = rankCandidates([
    { name: 'naive', macro_f1: 0.4 }, { name: 'classifier', macro_f1: 0.45 }, { name: 'model_rank', macro_f1: 0.45 }, { name: 'x', macro_f1: null },
  ], 'model_rank');
  assert.deepEqual(ranked.map((c) => c.name), ['model_rank', 'classifier', 'naive', 'x']);
  assert.deepEqual(rankCandidates(undefined), []);
  assert.equal(usesLearnedModel('blend_model_naive_0.50'), true);
  assert.equal(usesLearnedModel('classifier'), true);
  assert.equal(usesLearnedModel('blend_clv_naive_0.50'), false);
  assert.equal(usesLearnedModel('naive'), false);
});
