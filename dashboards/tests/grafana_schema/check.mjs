// Type-checks a Grafana dashboard JSON against one installed version of Grafana's published
// TypeScript types (npm @grafana/schema), with the TypeScript compiler installed next to it.
// Driven by run.sh, which installs the pinned versions; node standard library only.
//
//   node check.mjs [--self-test] DASHBOARD_JSON DIR      (DIR/node_modules: @grafana/schema, typescript)
//   exit 0: nothing but the ALLOWANCES below (--self-test: every planted mistake reported);
//        1: a problem (--self-test: a planted mistake went unreported); 2: usage or internal error.
//
// Each value is written into a .ts file as `const x: Json<T> = <the JSON literal>`: a literal
// assigned to a typed const gets TypeScript's full checking, unknown ("excess") keys included.
// Json<T> replaces every string enum by its values: JSON holds "bars", never GraphDrawStyle.Bars.
// Checked from 10.x on: the dashboard against `Dashboard`; each panel's `options` against its
// plugin's `Options`, `fieldConfig.defaults.custom` and `custom.*` overrides against its
// `FieldConfig`, other override properties against the dashboard `FieldConfig`. For 9.5 only
// the custom field config and overrides: 9.5 publishes no panel types, and its Dashboard and
// VariableModel describe Grafana's in-memory state (rootStateKey, index, state), not saved JSON.
// tsc reports only some problems per object (the first unknown key; nothing inside an object
// that lacks required keys), so the check repeats: each reported problem is recorded and removed
// from a working copy (unknown key deleted, missing key or wrong value replaced by `any`) until
// tsc reports nothing new.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

// Differences from the types that are not mistakes, by kind, JSON path of the object, and key.
// `*` is any array index; a panel inside a collapsed row matches as $.panels[*].
const ALLOWANCES = [
  { kind: 'unknown', at: '$', keys: ['__inputs', '__elements', '__requires'],
    why: 'the "export for sharing" wrapper; Grafana reads it at import and drops it' },
  { kind: 'unknown', at: '$', keys: ['style'],
    why: 'theme key Grafana 9.x writes into every saved dashboard (the dashboard targets 9.4+); dropped from the type in 10.x' },
  { kind: 'unknown', at: '$.annotations.list[*]', keys: ['expr', 'step', 'titleFormat', 'textFormat', 'tagKeys', 'useValueForTime'],
    why: 'Prometheus annotation query: Grafana saves these on the annotation itself; the type models only the generic part' },
  { kind: 'unknown', at: '$.templating.list[*]', keys: ['definition'],
    why: 'query variable: the query as text, written by Grafana\'s query-variable editor' },
  { kind: 'missing', at: '$.templating.list[*].current', keys: ['text', 'value'], onlyIfEmpty: true,
    why: '`current: {}` is how Grafana saves "no selection"; on load it selects the default (first option, or All)' },
  { kind: 'missing', at: '$.links[*]', keys: ['asDropdown', 'includeVars', 'keepTime', 'tags'],
    why: 'dashboard link settings the type marks required although they have defaults Grafana fills in' },
  // Panel options a plugin fills with its defaults when the saved panel lacks them.
  { kind: 'missing', at: '$.panels[*].options', panel: 'timeseries', keys: ['legend', 'tooltip'], why: 'plugin defaults' },
  { kind: 'missing', at: '$.panels[*].options.legend', keys: ['calcs', 'showLegend'], why: 'plugin defaults' },
  { kind: 'missing', at: '$.panels[*].options', panel: 'state-timeline', keys: ['legend', 'tooltip', 'rowHeight'], why: 'plugin defaults' },
  { kind: 'missing', at: '$.panels[*].options', panel: 'stat', why: 'plugin defaults',
    keys: ['justifyMode', 'orientation', 'wideLayout', 'showPercentChange', 'percentChangeColorMode'] },
  { kind: 'missing', at: '$.panels[*].options', panel: 'table', keys: ['frameIndex'], why: 'plugin defaults' },
];

const args = process.argv.slice(2);
const selfTest = args[0] === '--self-test' && args.shift();
const [dashPath, vdir] = args;
if (!dashPath || !vdir || args.length > 2) { console.error('usage: node check.mjs [--self-test] DASHBOARD_JSON DIR'); process.exit(2); }
const dash = JSON.parse(fs.readFileSync(dashPath, 'utf8'));
const pkgDir = path.resolve(vdir, 'node_modules/@grafana/schema');
const version = pkg => JSON.parse(fs.readFileSync(path.resolve(vdir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
const full = +version('@grafana/schema').split('.')[0] >= 10;
const ANY = { any: true };  // placeholder, written as (null as any)
const pstr = p => '$' + p.map(k => typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`).join('');
const get = (d, p) => p.reduce((o, k) => (o && o !== ANY ? o[k] : undefined), d);

// Mistakes --self-test plants into a copy; each must be reported at its path. 9.5: field config only.
function plant(d) {
  const ps = panelsOf(d), ts = ps.find(([p]) => p.type === 'timeseries' && p.fieldConfig?.defaults?.custom);
  const tbl = ps.find(([p]) => p.type === 'table' && p.options);
  if (!ts || !tbl || !d.links?.length) { console.error('self-test: needs a timeseries with custom field config, a table with options and a link'); process.exit(2); }
  const custom = [...ts[1], 'fieldConfig', 'defaults', 'custom'], ovs = (ts[0].fieldConfig.overrides ??= []);
  ovs.push({ matcher: { id: 'byName', options: 'x' }, properties: [{ id: 'custom.lineWidht', value: 2 }] });
  delete tbl[0].options.showHeader; tbl[0].options.showHeadr = true;
  get(d, custom).drawStyle = 'bar'; get(d, custom).lineWidth = '2'; ts[0].gridPos.h = '8'; d.links[0].type = 'lnk';
  return [['bad enum value: custom drawStyle "bar"', [...custom, 'drawStyle'], true],
    ['string for a number: custom lineWidth "2"', [...custom, 'lineWidth'], true],
    ['unknown override property id "custom.lineWidht"', [...ts[1], 'fieldConfig', 'overrides', ovs.length - 1, 'properties', 0, 'id'], true],
    ['typo in panel options: "showHeadr"', [...tbl[1], 'options', 'showHeadr'], full],
    ['string for a number: gridPos.h "8"', [...ts[1], 'gridPos', 'h'], full],
    ['bad enum value: dashboard link type "lnk"', ['links', 0, 'type'], full]].filter(x => x[2]);
}
const planted = selfTest ? plant(dash) : [];

// ---- JSON printer (JSON.stringify(v, null, 2) layout) recording each line's JSON path ----
function emit(v, p, ind, prefix, suffix, out) {
  const pad = ' '.repeat(ind);
  const entries = v && typeof v === 'object' && v !== ANY ? (Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v)) : [];
  if (v === ANY) out.push([pad + prefix + '(null as any)' + suffix, p]);
  else if (!entries.length) out.push([pad + prefix + JSON.stringify(v) + suffix, p]);
  else {
    out.push([pad + prefix + (Array.isArray(v) ? '[' : '{'), p]);
    entries.forEach(([k, x], i) => emit(x, [...p, k], ind + 2, typeof k === 'number' ? '' : JSON.stringify(k) + ': ', i < entries.length - 1 ? ',' : '', out));
    out.push([pad + (Array.isArray(v) ? ']' : '}') + suffix, p]);
  }
  return out;
}

// ---- the checks: name -> working copy -> { header, items: [{ type, value, path, key? }] } ----
function panelsOf(d) {
  const out = [];
  (d.panels || []).forEach((p, i) => { out.push([p, ['panels', i]]); (p?.panels || []).forEach((q, j) => out.push([q, ['panels', i, 'panels', j]])); });
  return out.filter(([p]) => p && p !== ANY && p.type !== 'row');
}
function panelModule(type) {  // the plugin's generated types, e.g. raw/composable/statetimeline/panelcfg/x/*.d.ts
  for (const d of ['types', 'esm']) {
    const dir = path.join(pkgDir, 'dist', d, 'raw/composable', type.replace(/-/g, ''), 'panelcfg/x');
    const f = fs.existsSync(dir) && fs.readdirSync(dir).filter(n => n.endsWith('.d.ts')).sort((a, b) => a.length - b.length)[0];
    if (f) return { file: path.join(dir, f), alias: 'p_' + type.replace(/\W/g, '_'), fieldConfig: /export interface FieldConfig\b/.test(fs.readFileSync(path.join(dir, f), 'utf8')) };
  }
}
const problems = [], noted = new Set(), used = new Map();  // problems: [path string, message]; used: allowance -> count
const note = (p, msg) => { if (!noted.has(pstr(p) + msg)) { noted.add(pstr(p) + msg); problems.push([pstr(p), msg]); } };
const checks = {
  panels: d => {
    const mods = {}, items = [];
    for (const [p, pp] of panelsOf(d)) {
      const m = full && (mods[p.type] ??= panelModule(p.type));
      if (full && !m) { note([...pp, 'type'], `no published types for panel type "${p.type}"`); continue; }
      const custom = m ? (m.fieldConfig ? `${m.alias}.FieldConfig` : 'Record<string, never>')  // no FieldConfig: the plugin has no custom field config
        : { timeseries: 'GraphFieldConfig', table: 'TableFieldOptions' }[p.type];  // 9.5: the common types these panels use
      if (m && p.options !== undefined) items.push({ type: `${m.alias}.Options`, value: p.options, path: [...pp, 'options'] });
      if (custom && p.fieldConfig?.defaults?.custom !== undefined)
        items.push({ type: custom, value: p.fieldConfig.defaults.custom, path: [...pp, 'fieldConfig', 'defaults', 'custom'] });
      (p.fieldConfig?.overrides || []).forEach((ov, i) => (ov?.properties || []).forEach((prop, j) => {
        const base = [...pp, 'fieldConfig', 'overrides', i, 'properties', j], c = prop?.id?.startsWith?.('custom.');
        // an override property {id: "custom.x", value: v} is checked as {x: v}: an unknown id is an unknown key
        if (prop && prop !== ANY && typeof prop.id === 'string' && (custom || !c))
          items.push({ type: `Partial<${c ? custom : 'Omit<FieldConfig, "custom">'}>`, key: c ? prop.id.slice(7) : prop.id, base, value: prop.value, path: [...base, 'value'] });
      }));
    }
    return { items, header: [`import type { FieldConfig${full ? '' : ', GraphFieldConfig, TableFieldOptions'} } from '@grafana/schema';`,
      ...Object.values(mods).filter(Boolean).map(m => `import type * as ${m.alias} from '${m.file.replace(/\.d\.ts$/, '')}';`)] };
  },
};
if (full) checks.dashboard = d => ({ header: [`import type { Dashboard } from '@grafana/schema';`], items: [{ type: 'Dashboard', value: d, path: [] }] });

const tmp = fs.mkdtempSync(path.join(path.resolve(vdir), 'run-'));  // inside DIR: imports resolve to DIR/node_modules
function render(name, d) {
  const { header, items } = checks[name](d);
  const lines = [[`import type { Json } from './json';`, null], ...header.map(h => [h, null])];
  items.forEach((it, n) => {
    const body = it.key === undefined ? emit(it.value, it.path, 0, '', '', [])
      : [['{', it.base], ...emit(it.value === undefined ? null : it.value, it.path, 2, JSON.stringify(it.key) + ': ', '', []), ['}', it.base]];
    if (it.key !== undefined) body[1] = [body[1][0], [...it.base, '#id']];  // the `"x": value` line stands for the id
    body[0] = [`export const v${n}: Json<${it.type}> = ${body[0][0]}`, body[0][1]];
    body[body.length - 1] = [body.at(-1)[0] + ';', body.at(-1)[1]];
    lines.push(...body);
  });
  fs.writeFileSync(path.join(tmp, `${name}.ts`), lines.map(l => l[0]).join('\n') + '\n');
  return lines.map(l => l[1]);
}
fs.writeFileSync(path.join(tmp, 'json.ts'), 'export type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T :\n' +
  '  T extends (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;\n');
fs.writeFileSync(path.join(tmp, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022',
  module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true, noErrorTruncation: true, types: [] }, files: Object.keys(checks).map(c => `${c}.ts`) }));

function allowance(kind, at, key) {
  const norm = pstr(at).replace(/^\$\.panels\[\d+\]\.panels\[/, '$.panels[').replace(/\[\d+\]/g, '[*]');
  const panel = at[0] === 'panels' && get(dash, at[2] === 'panels' ? at.slice(0, 4) : at.slice(0, 2));
  return ALLOWANCES.find(a => a.kind === kind && a.at === norm && a.keys.includes(key) && (!a.panel || a.panel === panel?.type)
    && (!a.onlyIfEmpty || Object.keys(get(dash, at)).length === 0));
}
function neutralise(d, p, kind, keys) {  // -> true if the working copy changed
  const par = get(d, p.slice(0, -1)), k = p.at(-1), obj = get(d, p);
  if (kind === 'missing') { if (!obj || typeof obj !== 'object' || obj === ANY) return false; keys.forEach(m => { obj[m] = ANY; }); return true; }
  if (!p.length || !par || par === ANY || !(k in par) || par[k] === ANY) return false;
  if (kind === 'unknown') delete par[k]; else par[k] = ANY;
  return true;
}
const work = Object.fromEntries(Object.keys(checks).map(c => [c, structuredClone(dash)])), active = new Set(Object.keys(checks));
let rounds = 0;
for (; active.size && rounds < 50; rounds++) {
  const lmap = Object.fromEntries(Object.keys(checks).map(c => [c, render(c, work[c])]));
  let out = '';
  try { execFileSync(process.execPath, [path.resolve(vdir, 'node_modules/typescript/bin/tsc'), '-p', '.', '--pretty', 'false'], { cwd: tmp, encoding: 'utf8', maxBuffer: 1 << 28 }); }
  catch (e) { out = (e.stdout || '') + (e.stderr || ''); if (!out) throw e; }
  const errs = [];
  for (const line of out.split('\n').filter(l => l.trim())) {
    const m = /^(\w+)\.ts\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (m) errs.push({ check: m[1], line: +m[2], code: m[3], msg: m[4], more: [] });
    else if (errs.length) errs.at(-1).more.push(line.trim());
    else { console.error(`unexpected tsc output (files kept in ${tmp}): ${line}`); process.exit(2); }
  }
  const progressed = new Set();
  for (const e of errs.filter(e => active.has(e.check))) {
    let p = lmap[e.check][e.line - 1], m;
    if (!p) { console.error(`tsc error outside the JSON (files kept in ${tmp}): ${e.check}.ts:${e.line}: ${e.msg}`); process.exit(2); }
    // against a union (Panel | RowPanel, ...) tsc puts the reason in its last continuation line
    const why = e.code === 'TS2322' && e.more.length ? e.more.at(-1) : e.msg;
    let kind = 'value', keys = [];
    if ((m = /^Object literal may only specify known properties, (?:and|but) '(.+?)' does not exist in type/.exec(why))) kind = 'unknown';
    else if ((m = /^Property '(.+?)' is missing in type .* but required in type/.exec(why))) [kind, keys] = ['missing', [m[1]]];
    else if ((m = /is missing the following properties from type '.*': (.+?)(, and \d+ more)?\.?$/.exec(why))) [kind, keys] = ['missing', m[1].split(', ')];
    else if (/ is not assignable to type 'never'\.$/.test(why)) kind = 'unknown';  // a key in Record<string, never>
    keys = keys.map(k => k.replace(/^"(.*)"$/, '$1'));
    const ovId = p.at(-1) === '#id';  // the `"x": value` line of an override property {id, value}
    if (ovId) p = [...p.slice(0, -1), kind === 'unknown' ? 'id' : 'value'];
    if (kind === 'unknown' && !ovId) {
      const a = allowance('unknown', p.slice(0, -1), p.at(-1));
      if (a) used.set(a, (used.get(a) || 0) + 1); else note(p, `unknown property "${p.at(-1)}"`);
    } else if (kind === 'missing') {
      const bad = keys.filter(k => { const a = allowance('missing', p, k); if (a) used.set(a, (used.get(a) || 0) + 1); return !a; });
      if (bad.length) note(p, `missing required ${bad.map(k => `"${k}"`).join(', ')}`);
    } else note(p, ovId && kind === 'unknown' ? `unknown override property id "${get(dash, p)}"` : why);
    if (neutralise(work[e.check], p, ovId && kind === 'unknown' ? 'value' : kind, keys)) progressed.add(e.check);
  }
  for (const c of [...active]) if (!progressed.has(c)) active.delete(c);
}
fs.rmSync(tmp, { recursive: true, force: true });
if (active.size) { console.error(`no end after ${rounds} tsc rounds`); process.exit(2); }

// ---- report ----
console.log(`@grafana/schema ${version('@grafana/schema')}, typescript ${version('typescript')}: ${full ? 'dashboard, panel options and field config'
  : 'panel custom field config and overrides only'}${selfTest ? ', self-test' : ''} (${rounds} tsc rounds)`);
if (selfTest) {
  const missed = planted.filter(([what, p]) => { const hit = problems.find(([q]) => q === pstr(p))?.[1]; console.log(`  ${hit ? 'caught' : 'MISSED'}  ${what}  ${pstr(p)}${hit ? ': ' + hit : ''}`); return !hit; });
  process.exit(missed.length ? 1 : 0);
}
const order = new Map(emit(dash, [], 0, '', '', []).reverse().map(([, p], i, all) => [pstr(p), all.length - i]));  // document order
problems.sort(([p], [q]) => (order.get(p) ?? 1e9) - (order.get(q) ?? 1e9));
for (const [p, msg] of problems) console.log(`  FAIL ${p}: ${msg}`);
console.log(`  allowed: ${[...used.values()].reduce((s, n) => s + n, 0)} differences, by ${used.size} of ${ALLOWANCES.length} allowances`);
// an allowance the dashboard check never needs may be obsolete: worth a look when the types change
if (full) for (const a of ALLOWANCES.filter(a => !used.has(a))) console.log(`  (not needed here: ${a.kind} ${a.at} ${a.panel || ''} ${a.keys})`);
console.log(`  ${problems.length ? `FAIL: ${problems.length} problem(s)` : 'pass'}`);
process.exit(problems.length ? 1 : 0);
