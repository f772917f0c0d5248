// bench/web.mjs: the dashboard's own cost in headless Chromium, against a real node and a simulated fleet.
//
// For each fleet size in WEB_FLEETS (default "1000 10000") drones at WEB_HZ (5) telemetry frames/s: the node (its
// own scratch database), dccs-sim, the built dashboard logged in as admin on the fleet page; then, over
// WEB_MEASURE_S (10) seconds: frames per second (requestAnimationFrame), frame-time percentiles, main-thread busy
// time (Chromium's TaskDuration and ScriptDuration through the DevTools protocol, per second of wall time) and long
// tasks (PerformanceObserver 'longtask', > 50 ms). Also the first load (navigation to the login form, and login to
// the first drone row) and the bundle's size. Prints a markdown section; bench/web.sh appends it to the report.
//
// Environment: as tests/web/e2e.mjs (DCCS_NODE_BIN, DCCS_SIM_BIN, DCCS_WEB_DIST, DCCS_TEST_REDIS_URL, PG*); run it
// through bench/web.sh, which builds, starts a throwaway PostgreSQL and Redis and sets them.

import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { launchBrowser, Session } from '../tests/web/browser.mjs';
import { Dashboard } from '../tests/web/dashboard.mjs';
import { artifactsDir, Child, cleanup, createScratchDatabase, DccsNode, readEnv, Simulator, until } from '../tests/web/harness.mjs';

const fleets = (process.env.WEB_FLEETS || '1000 10000').split(/\s+/).filter(Boolean).map(Number);
const hz = Number(process.env.WEB_HZ || 5);
const measureS = Number(process.env.WEB_MEASURE_S || 10);

function bundle(dist) {
  const rows = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(js|css|html)$/.test(name)) {
        const bytes = readFileSync(p);
        rows.push({ file: path.relative(dist, p), raw: bytes.length, gzip: gzipSync(bytes).length });
      }
    }
  };
  walk(dist);
  return rows.sort((a, b) => b.raw - a.raw);
}

// A fleet of thousands takes longer to connect than the end-to-end tests' few drones.
class Fleet extends Simulator {
  async start() {
    this.child = new Child(this.label, this.env.simBin, ['--url', this.node.wsUrl, ...this.args], { logFile: this.logFile });
    await this.child.waitForLine(/fleet connected/, 300_000, '"fleet connected" line');
  }
}

const kb = (n) => (n / 1024).toFixed(1);
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

// Installed in the page: every animation frame's time, and the long tasks.
const PROBE = `
  window.__bench = { frames: [], longtasks: 0, longtaskMs: 0, on: false };
  (function tick(t) { if (window.__bench.on) window.__bench.frames.push(t); requestAnimationFrame(tick); })(0);
  new PerformanceObserver((list) => {
    if (!window.__bench.on) return;
    for (const e of list.getEntries()) { window.__bench.longtasks++; window.__bench.longtaskMs += e.duration; }
  }).observe({ type: 'longtask', buffered: false });
`;

async function measureFleet(env, browser, dir, drones) {
  const db = await createScratchDatabase();
  const nodeDir = path.join(dir, `n${drones}`);
  mkdirSync(nodeDir, { recursive: true });
  const node = new DccsNode(env, db, nodeDir);
  await node.start();
  const sim = new Fleet(env, node, `sim-${drones}`, ['--drones', String(drones), '--rate', String(hz)], dir);
  const simStarted = Date.now();
  await sim.start();
  const connectS = (Date.now() - simStarted) / 1000;

  const context = await browser.newContext({ baseURL: node.url, viewport: { width: 1440, height: 900 } });
  await context.addInitScript(PROBE);
  const page = await context.newPage();
  const s = new Session(context, page, { name: `fleet-${drones}`, artifacts: dir });
  const d = new Dashboard(s);
  const t0 = Date.now();
  await d.open();
  await d.tid('login-form').waitFor({ state: 'visible' });
  const loginFormMs = Date.now() - t0;
  const t1 = Date.now();
  await d.login('admin', node.adminPassword);
  await d.rows().first().waitFor({ state: 'visible' });
  const firstRowMs = Date.now() - t1;
  await until(async () => (await d.counter('total')) >= drones, {
    timeout: 60_000,
    interval: 500,
    message: `the header to count ${drones} drones`,
  });

  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  await page.evaluate(() => { window.__bench.on = true; });
  const before = await metrics();
  const wall0 = Date.now();
  await page.waitForTimeout(measureS * 1000); // the measurement window itself, not a wait for a condition
  const after = await metrics();
  const wallS = (Date.now() - wall0) / 1000;
  const probe = await page.evaluate(() => { window.__bench.on = false; return window.__bench; });
  const gaps = [];
  for (let i = 1; i < probe.frames.length; i++) gaps.push(probe.frames[i] - probe.frames[i - 1]);
  gaps.sort((a, b) => a - b);
  const rx = (await d.tid('rx-rate').textContent().catch(() => '')) || '';
  await context.close();
  await sim.stop();
  await node.stop();
  return {
    drones,
    connectS,
    loginFormMs,
    firstRowMs,
    fps: probe.frames.length / wallS,
    p50: pct(gaps, 0.5),
    p95: pct(gaps, 0.95),
    max: gaps[gaps.length - 1],
    taskPerS: (after.TaskDuration - before.TaskDuration) / wallS,
    scriptPerS: (after.ScriptDuration - before.ScriptDuration) / wallS,
    longtasks: probe.longtasks,
    longtaskMs: probe.longtaskMs,
    rx: rx.trim(),
  };
}

async function main() {
  const env = readEnv();
  const dir = artifactsDir();
  const browser = await launchBrowser(env);
  const results = [];
  for (const n of fleets) {
    console.error(`web bench: ${n} drones x ${hz} Hz`);
    results.push(await measureFleet(env, browser, dir, n));
  }
  const files = bundle(env.webDist);
  const total = files.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const out = [];
  out.push(`## ${new Date().toISOString()} — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  out.push('');
  out.push(`Headless Chromium (${env.chromium}), 1440×900, fleet page, admin (every drone); node, simulator and`);
  out.push(`browser on the same machine; ${measureS} s measured per fleet size. Command: \`${process.env.WEB_COMMAND || 'bench/web.sh'}\`.`);
  out.push('');
  out.push('| drones × Hz | fps | frame p50 / p95 / max (ms) | main thread busy (task / script, ms per s) | long tasks (count, ms) | login form (ms) | login → first row (ms) | header rx |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    out.push(`| ${r.drones} × ${hz} | ${r.fps.toFixed(1)} | ${r.p50.toFixed(1)} / ${r.p95.toFixed(1)} / ${r.max.toFixed(1)} | ` +
      `${(r.taskPerS * 1000).toFixed(0)} / ${(r.scriptPerS * 1000).toFixed(0)} | ${r.longtasks}, ${r.longtaskMs.toFixed(0)} | ` +
      `${r.loginFormMs} | ${r.firstRowMs} | ${r.rx} |`);
  }
  out.push('');
  out.push(`Bundle (web/dist): ${kb(total.raw)} KiB, ${kb(total.gzip)} KiB gzipped; the largest files:`);
  out.push('');
  out.push('| file | KiB | gzipped KiB |');
  out.push('|---|---|---|');
  for (const f of files.slice(0, 5)) out.push(`| ${f.file} | ${kb(f.raw)} | ${kb(f.gzip)} |`);
  out.push('');
  console.log(out.join('\n'));
}

main()
  .catch((e) => {
    console.error(`web bench failed: ${e.stack || e.message}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
