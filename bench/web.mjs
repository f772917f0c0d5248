// bench/web.mjs: the dashboard's own cost in headless Chromium, against a real node and a simulated fleet.
//
// For each fleet size in WEB_FLEETS (default "1000 10000") drones at WEB_HZ (5) telemetry frames/s: the node (its
// own scratch database), dccs-sim, the built dashboard logged in as admin on the fleet page; then, over
// WEB_MEASURE_S (10) seconds: frames per second (requestAnimationFrame), frame-time percentiles, main-thread busy
// time (Chromium's TaskDuration and ScriptDuration through the DevTools protocol, per second of wall time), long
// tasks (PerformanceObserver 'longtask', > 50 ms), what the operator socket delivered (update frames and MB per
// second, counted in the page), the CPU of the node, the simulator and the browser (/proc), and the node's
// operator counters (/metrics). Also the first load (navigation to the login form; login to the snapshot and to the
// first drone row) and the bundle's size. Prints a markdown section; bench/web.sh appends it to the report.
//
// WEB_DRIVER: `cdp` (default) drives Chromium over a bare DevTools pipe (tests/web/cdp.mjs) with only the domains
// the measurement needs; `playwright` as the end-to-end tests do — Playwright listens to every WebSocket frame
// through the Network domain, which costs the browser and this process tens of MB/s of copies at 10,000 drones (the
// first report's figures were taken that way).
// WEB_FEED=synthetic (with the cdp driver): no simulator; the page's operator socket is a feed a worker in the page
// makes (every drone at WEB_HZ, frames every 5 ms): what the page does with a node that keeps up.
// WEB_PROFILE=1: after the measurement, a trace (WEB_PROFILE_S, 5 s; devtools.timeline) and a V8 CPU profile of
// the same length: the main thread's time by kind (script, style, layout, paint, other), the top trace events and
// the top functions, printed under the table (the raw trace is kept in the run folder as trace-<n>.json).
//
// Environment: as tests/web/e2e.mjs (DCCS_NODE_BIN, DCCS_SIM_BIN, DCCS_WEB_DIST, DCCS_TEST_REDIS_URL, PG*); run it
// through bench/web.sh, which builds, starts a throwaway PostgreSQL and Redis and sets them.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { launchBrowser, Session } from '../tests/web/browser.mjs';
import { RawBrowser } from '../tests/web/cdp.mjs';
import { Dashboard } from '../tests/web/dashboard.mjs';
import { Api, artifactsDir, Child, cleanup, createScratchDatabase, DccsNode, onCleanup, readEnv, Simulator, until } from '../tests/web/harness.mjs';
import { byKind, mainThread, summarizeTrace, topEvents, topFunctions } from '../tests/web/trace.mjs';

const fleets = (process.env.WEB_FLEETS || '1000 10000').split(/\s+/).filter(Boolean).map(Number);
const hz = Number(process.env.WEB_HZ || 5);
const measureS = Number(process.env.WEB_MEASURE_S || 10);
const driver = process.env.WEB_DRIVER || 'cdp';
const profiling = process.env.WEB_PROFILE === '1';
const profileS = Number(process.env.WEB_PROFILE_S || 5);
const VIEWPORT = { width: 1440, height: 900 };
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  'v8.execute',
  'blink.user_timing',
  'toplevel',
];
const OPERATOR_METRICS = ['dccs_operator_connections', 'dccs_operator_updates_dropped_total', 'dccs_operator_events_dropped_total', 'dccs_operator_notices_dropped_total'];

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
const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

// ---- CPU from /proc: a process and its descendants (the node and the simulator run under coreutils timeout)

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function procTable() {
  const t = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // gone meanwhile
    }
  }
  return t;
}

/** CPU seconds of `pid` and its live descendants. */
function treeCpu(table, pid) {
  if (!pid) return 0;
  let ticks = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    const e = table.get(p);
    if (!e) continue;
    ticks += e.ticks;
    for (const [c, ce] of table) if (ce.ppid === p) todo.push(c);
  }
  return ticks / CLK_TCK;
}

/** The machine's busy and total CPU seconds (all cores) from /proc/stat. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] || 0);
  // steal: time the hypervisor gave this machine's CPUs to someone else (counted as busy here: nobody here had it).
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK, steal: (f[7] || 0) / CLK_TCK };
}

/** CPU seconds of the node, the simulator, the browser (every process this script started but those two) and the machine. */
function cpuNow(nodePid, simPid) {
  const t = procTable();
  const node = treeCpu(t, nodePid);
  const sim = treeCpu(t, simPid);
  const self = (t.get(process.pid)?.ticks ?? 0) / CLK_TCK;
  const browser = treeCpu(t, process.pid) - self - node - sim;
  return { node, sim, browser, self, machine: machineCpu() };
}

/** The node's /metrics (an admin token) as name → value, summed over labels; {} when it did not answer. */
async function nodeMetrics(node, token) {
  try {
    const r = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15_000) });
    if (!r.ok) return {};
    const text = await r.text();
    const out = {};
    for (const line of text.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([a-z_]+)(?:\{[^}]*\})?\s+([-0-9.e+]+)$/.exec(line.trim());
      if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

// WEB_FEED=synthetic: the page's operator socket is replaced by a feed made in the page by a worker (no simulator):
// what the page does when a node delivers every drone at WEB_HZ, in frames every 5 ms as the hub flushes them.
const synthetic = process.env.WEB_FEED === 'synthetic';

// The synthetic feed's worker: a snapshot of every drone on 'start', then every FLUSH ms the drones due (each at
// `hz`), moving in circles, each entry shaped and sized like the node's (about 500 bytes).
const FEED_WORKER = `
  let cfg = null, timer = 0;
  onmessage = (ev) => {
    if (ev.data.type !== 'start' || timer) return;
    cfg = ev.data;
    // Homes spread over a disc (a sunflower: golden angle, radius by the square root), each drone circling its home.
    const n = cfg.drones, ids = [], hlat = new Float64Array(n), hlon = new Float64Array(n), ph = new Float64Array(n), seq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      ids.push('syn-' + String(i).padStart(5, '0'));
      const r = 0.12 * Math.sqrt((i + 0.5) / n), g = i * 2.399963;
      hlat[i] = 47.4 + r * Math.sin(g); hlon[i] = 8.55 + 1.5 * r * Math.cos(g); ph[i] = g % (2 * Math.PI);
    }
    const cmds = '["arm","disarm","takeoff","land","rtl","hold","resume","goto","mission_upload","mission_start","mission_pause","mission_resume","mission_abort"]';
    const entry = (i, now) => {
      const a = ph[i] + now / 10000, lat = hlat[i] + 0.002 * Math.sin(a), lon = hlon[i] + 0.003 * Math.cos(a);
      seq[i]++;
      const hdg = ((-a * 180 / Math.PI) % 360 + 360) % 360;
      return '{"id":"' + ids[i] + '","status":"online","connected":true,"model":"sim-quad","fw":"1.4.2","group":"default","commands":' + cmds +
        ',"last_seen":' + now + ',"seq":' + seq[i] + ',"ts":' + (now - 3) + ',"recv":' + (now - 1) + ',"lat":' + lat.toFixed(7) + ',"lon":' + lon.toFixed(7) +
        ',"alt":' + (420 + (i % 50)).toFixed(2) + ',"heading":' + hdg.toFixed(1) + ',"speed":12.25,"vspeed":0.05,"battery":' + (i % 97 === 0 ? 18.5 : 40 + (i % 60)).toFixed(2) +
        ',"armed":true,"mode":"MISSION","roll":1.2,"pitch":-2.5,"yaw":' + hdg.toFixed(1) + ',"voltage":15.12,"sats":14,"fix":3}';
    };
    let now = Date.now(), parts = [];
    for (let i = 0; i < n; i++) parts.push(entry(i, now));
    postMessage('{"type":"snapshot","server_time":' + now + ',"drones":[' + parts.join(',') + ']}');
    let next = 0, due = 0, last = performance.now();
    timer = setInterval(() => {
      const t = performance.now();
      due += n * cfg.hz * (t - last) / 1000;
      last = t;
      const k = Math.min(n, Math.floor(due));
      if (k <= 0) return;
      due -= k;
      now = Date.now();
      parts = [];
      for (let j = 0; j < k; j++) { parts.push(entry(next, now)); next = (next + 1) % n; }
      postMessage('{"type":"update","server_time":' + now + ',"drones":[' + parts.join(',') + ']}');
    }, cfg.flushMs);
  };
`;

// Installed in the page before its scripts: every animation frame's time, the long tasks, and what the operator
// socket delivered (message events counted by a listener of our own, beside the app's). With window.__benchFeed
// set (WEB_FEED=synthetic), /ws/operator opens the synthetic feed instead.
const PROBE = `
  window.__bench = { frames: [], longtasks: 0, longtaskMs: 0, on: false, msgs: 0, updates: 0, bytes: 0, maxBytes: 0, snapshotAt: 0, snapshotBytes: 0 };
  (function tick(t) { if (window.__bench.on) window.__bench.frames.push(t); requestAnimationFrame(tick); })(0);
  new PerformanceObserver((list) => {
    if (!window.__bench.on) return;
    for (const e of list.getEntries()) { window.__bench.longtasks++; window.__bench.longtaskMs += e.duration; }
  }).observe({ type: 'longtask', buffered: false });
  (() => {
    const count = (text) => {
      const b = window.__bench;
      if (!b.snapshotAt && text.startsWith('{"type":"snapshot"')) { b.snapshotAt = performance.now(); b.snapshotBytes = text.length; }
      if (!b.on) return;
      b.msgs++;
      b.bytes += text.length;
      if (text.length > b.maxBytes) b.maxBytes = text.length;
      if (text.startsWith('{"type":"update"')) b.updates++;
    };
    // The synthetic feed: what live.ts uses of a WebSocket (readyState, send, close, onopen/onmessage/onclose).
    class Feed {
      constructor(cfg) {
        this.readyState = 0;
        this.onopen = this.onmessage = this.onclose = null;
        this.worker = new Worker(URL.createObjectURL(new Blob([cfg.worker], { type: 'text/javascript' })));
        this.worker.onmessage = (ev) => { count(ev.data); this.onmessage?.({ data: ev.data }); };
        this.cfg = cfg;
        setTimeout(() => { this.readyState = 1; this.onopen?.({}); }, 0);
      }
      send(text) { if (JSON.parse(text).type === 'subscribe') this.worker.postMessage({ type: 'start', drones: this.cfg.drones, hz: this.cfg.hz, flushMs: this.cfg.flushMs }); }
      close() { this.readyState = 3; this.worker.terminate(); }
      addEventListener() {}
    }
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        if (window.__benchFeed && String(args[0]).includes('/ws/operator')) return new Feed(window.__benchFeed);
        super(...args);
        this.addEventListener('message', (ev) => count(typeof ev.data === 'string' ? ev.data : ''));
      }
    };
  })();
`;

const tidSel = (t) => `[data-testid="${t}"]`;

/** The page through the bare DevTools pipe. */
class CdpDriver {
  static async start(env) {
    const d = new CdpDriver();
    d.browser = await RawBrowser.launch(env.chromium);
    onCleanup(() => d.browser.close());
    d.version = d.browser.version;
    return d;
  }

  async open(url, feed) {
    this.page = await this.browser.newPage(VIEWPORT);
    if (feed) {
      // The feed's worker comes from a blob: URL, which the node's Content-Security-Policy (rightly) refuses.
      await this.page.send('Page.setBypassCSP', { enabled: true });
      await this.page.addInitScript(`window.__benchFeed = ${JSON.stringify(feed)};`);
    }
    await this.page.addInitScript(PROBE);
    await this.page.goto(url);
  }

  cdp(method, params) {
    return this.page.send(method, params);
  }

  evaluate(expr) {
    return this.page.evaluate(expr);
  }

  waitFor(expr, timeout, message) {
    return this.page.waitFor(expr, { timeout, message, interval: 100 });
  }

  async login(name, password) {
    await this.page.evaluate(`(() => {
      const set = (t, v) => { const el = document.querySelector('[data-testid="' + t + '"]'); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); };
      set('login-name', ${JSON.stringify(name)});
      set('login-password', ${JSON.stringify(password)});
      document.querySelector('${tidSel('login-submit')}').click();
    })()`);
  }

  consoleLog() {
    return this.page.console.join('\n');
  }

  async screenshot(file) {
    const { data } = await this.page.send('Page.captureScreenshot', { format: 'png' });
    writeFileSync(file, Buffer.from(data, 'base64'));
  }

  async close() {
    await this.page?.close();
  }

  startTracing(categories) {
    return this.browser.startTracing(categories);
  }

  stopTracing() {
    return this.browser.stopTracing();
  }
}

/** The page through Playwright, as the end-to-end tests drive it (every WebSocket frame also goes to Playwright). */
class PlaywrightDriver {
  static async start(env, dir) {
    const d = new PlaywrightDriver();
    d.browser = await launchBrowser(env);
    d.dir = dir;
    d.version = env.chromium;
    return d;
  }

  async open(url) {
    this.context = await this.browser.newContext({ baseURL: url, viewport: VIEWPORT });
    await this.context.addInitScript(PROBE);
    this.pwPage = await this.context.newPage();
    this.session = new Session(this.context, this.pwPage, { name: 'fleet', artifacts: this.dir });
    this.dash = new Dashboard(this.session);
    await this.dash.open();
    this.cdpSession = await this.context.newCDPSession(this.pwPage);
  }

  cdp(method, params) {
    return this.cdpSession.send(method, params);
  }

  evaluate(expr) {
    return this.pwPage.evaluate(expr);
  }

  async waitFor(expr, timeout, message) {
    let v;
    await until(async () => (v = await this.pwPage.evaluate(expr)), { timeout, interval: 100, message });
    return v;
  }

  async login(name, password) {
    await this.dash.tid('login-name').fill(name);
    await this.dash.tid('login-password').fill(password);
    await this.dash.tid('login-submit').click();
  }

  consoleLog() {
    return this.session.console.join('\n');
  }

  async screenshot(file) {
    await this.pwPage.screenshot({ path: file });
  }

  async close() {
    await this.context?.close();
  }

  async startTracing(categories) {
    await this.browser.startTracing(this.pwPage, { categories });
  }

  async stopTracing() {
    return JSON.parse((await this.browser.stopTracing()).toString('utf8')).traceEvents;
  }
}

async function profile(drv, dir, drones) {
  await drv.startTracing(TRACE_CATEGORIES);
  await new Promise((r) => setTimeout(r, profileS * 1000));
  const events = await drv.stopTracing();
  writeFileSync(path.join(dir, `trace-${drones}-${Date.now()}.json`), JSON.stringify({ traceEvents: events }));
  const summary = summarizeTrace(events);
  const main = mainThread(summary);
  await drv.cdp('Profiler.enable');
  await drv.cdp('Profiler.setSamplingInterval', { interval: 250 });
  await drv.cdp('Profiler.start');
  await new Promise((r) => setTimeout(r, profileS * 1000));
  const { profile: cpu } = await drv.cdp('Profiler.stop');
  await drv.cdp('Profiler.disable');
  writeFileSync(path.join(dir, `cpu-${drones}-${Date.now()}.cpuprofile`), JSON.stringify(cpu));
  const threads = summary.threads
    .filter((t) => t.busyMs > 20)
    .slice(0, 8)
    .map((t) => ({ name: `${t.process} / ${t.name}`, msPerS: t.busyMs / profileS }));
  return {
    kinds: main ? Object.fromEntries(Object.entries(byKind(main)).map(([k, ms]) => [k, ms / profileS])) : {},
    busy: main ? main.busyMs / profileS : NaN,
    events: main ? topEvents(main, 15).map((e) => ({ ...e, ms: e.ms / profileS, count: e.count / profileS })) : [],
    functions: topFunctions(cpu, 15).map((f) => ({ ...f, ms: f.ms / profileS })),
    threads,
  };
}

/**
 * The node side alone, without a browser: a bare operator socket (Node.js's WebSocket) subscribed to `drones`
 * ("*" or a list of ids) for `seconds`: when the snapshot came and how big it was, then the frames the node wrote
 * (update frames/s, MB/s, the largest frame, the longest gap between two frames).
 */
async function socketProbe(node, admin, subscription, seconds, tcp = () => null) {
  const { ticket } = await admin.post('/auth/ticket');
  const t0 = performance.now();
  const ws = new WebSocket(`${node.wsUrl}/ws/operator?ticket=${encodeURIComponent(ticket)}`);
  const r = { snapshotMs: NaN, snapshotBytes: 0, frames: 0, updates: 0, bytes: 0, maxBytes: 0, maxGapMs: 0, closed: null };
  let last = 0;
  let measuring = false;
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'subscribe', drones: subscription })));
  ws.addEventListener('close', (ev) => (r.closed = `${ev.code} ${ev.reason}`));
  ws.addEventListener('message', (ev) => {
    const text = typeof ev.data === 'string' ? ev.data : '';
    const now = performance.now();
    if (Number.isNaN(r.snapshotMs) && text.startsWith('{"type":"snapshot"')) {
      r.snapshotMs = now - t0;
      r.snapshotBytes = text.length;
      return;
    }
    if (!measuring) return;
    if (last) r.maxGapMs = Math.max(r.maxGapMs, now - last);
    last = now;
    r.frames++;
    r.bytes += text.length;
    r.maxBytes = Math.max(r.maxBytes, text.length);
    if (text.startsWith('{"type":"update"')) r.updates++;
  });
  const end = performance.now() + 120_000;
  while (Number.isNaN(r.snapshotMs) && performance.now() < end && r.closed === null) await new Promise((res) => setTimeout(res, 50));
  const start = performance.now();
  last = 0;
  measuring = true;
  await new Promise((res) => setTimeout(res, seconds * 1000));
  const wallS = (performance.now() - start) / 1000;
  if (last) r.maxGapMs = Math.max(r.maxGapMs, performance.now() - last);
  else r.maxGapMs = wallS * 1000;
  r.tcp = tcp();
  ws.close(1000, 'probe done');
  return { ...r, updatesPerS: r.updates / wallS, mbPerS: r.bytes / wallS / 1e6 };
}

/**
 * The node's busiest-sending TCP connection on its port (the operator socket: drones are sent little), from `ss -tin`:
 * bytes sent and data segments out, whose ratio is the size of the node's writes (loopback sends a write as a segment).
 */
function operatorTcp(port) {
  try {
    const text = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${port} )`], { maxBuffer: 64 << 20 }).toString();
    let best = null;
    for (const m of text.matchAll(/bytes_sent:(\d+)[\s\S]*?data_segs_out:(\d+)/g)) {
      const sent = Number(m[1]);
      if (!best || sent > best.sent) best = { sent, segs: Number(m[2]) };
    }
    return best;
  } catch {
    return null;
  }
}

async function measureSocket(env, dir, drones) {
  const db = await createScratchDatabase();
  const nodeDir = path.join(dir, `n${drones}`);
  mkdirSync(nodeDir, { recursive: true });
  const node = new DccsNode(env, db, nodeDir);
  await node.start();
  const sim = new Fleet(env, node, `sim-${drones}`, ['--drones', String(drones), '--rate', String(hz)], dir);
  await sim.start();
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const admin = await Api.login(node, 'admin', node.adminPassword);
  const ids = (await admin.get(`/drones?limit=${Math.min(drones, 10000)}`)).drones.map((d) => d.id).sort();
  const out = [];
  for (const [label, sub] of [
    ['*', '*'],
    [`${Math.min(500, ids.length)} ids`, ids.slice(0, 500)],
  ]) {
    const nm0 = await nodeMetrics(node, admin.token);
    const cpu0 = cpuNow(node.child.proc.pid, sim.child.proc.pid);
    const w0 = Date.now();
    const r = await socketProbe(node, admin, sub, measureS, () => operatorTcp(node.port));
    const cpu1 = cpuNow(node.child.proc.pid, sim.child.proc.pid);
    const wallS = (Date.now() - w0) / 1000;
    const nm1 = await nodeMetrics(node, admin.token);
    out.push({
      drones,
      load,
      label,
      ...r,
      cpuNode: (cpu1.node - cpu0.node) / wallS,
      cpuSim: (cpu1.sim - cpu0.sim) / wallS,
      machine: (cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total),
      dropped: (nm1.dccs_operator_updates_dropped_total ?? NaN) - (nm0.dccs_operator_updates_dropped_total ?? NaN),
    });
  }
  await sim.stop();
  await node.stop();
  return out;
}

async function measureFleet(env, drv, dir, drones) {
  const db = await createScratchDatabase();
  const nodeDir = path.join(dir, `n${drones}-${Date.now()}`);
  mkdirSync(nodeDir, { recursive: true });
  const node = new DccsNode(env, db, nodeDir);
  await node.start();
  const sim = synthetic ? null : new Fleet(env, node, `sim-${drones}-${Date.now()}`, ['--drones', String(drones), '--rate', String(hz)], dir);
  const simStarted = Date.now();
  await sim?.start();
  const connectS = (Date.now() - simStarted) / 1000;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const t0 = Date.now();
  if (synthetic && !(drv instanceof CdpDriver)) throw new Error('WEB_FEED=synthetic needs WEB_DRIVER=cdp');
  await drv.open(node.url, synthetic ? { drones, hz, flushMs: 5, worker: FEED_WORKER } : null);
  await drv.waitFor(`!!document.querySelector('${tidSel('login-form')}') && !document.querySelector('${tidSel('login-form')}').hidden`, 30_000, 'the login form');
  const loginFormMs = Date.now() - t0;
  const navStart = await drv.evaluate('performance.now()');
  const t1 = Date.now();
  await drv.login('admin', node.adminPassword);
  await drv.waitFor(`[...document.querySelectorAll('${tidSel('drone-row')}')].some((r) => !r.hidden)`, 120_000, 'the first drone row');
  const firstRowMs = Date.now() - t1;
  await drv.waitFor(`document.querySelector('${tidSel('conn-state')}')?.dataset.state === 'live'`, 120_000, 'the socket live (a snapshot)');
  const snapshotAt = await drv.evaluate('window.__bench.snapshotAt');
  const snapshotMs = snapshotAt ? Math.round(snapshotAt - navStart) : NaN;
  const snapshotBytes = await drv.evaluate('window.__bench.snapshotBytes');
  await drv.waitFor(`Number(document.querySelector('${tidSel('count-total')}')?.textContent) >= ${drones}`, 60_000, `the header to count ${drones} drones`);
  // A few seconds for the first snapshot's consequences (trails, the first sort) before measuring.
  await new Promise((r) => setTimeout(r, 3000));

  await drv.cdp('Performance.enable');
  const metrics = async () => Object.fromEntries((await drv.cdp('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const nodePid = node.child.proc.pid;
  const simPid = sim?.child.proc.pid;
  const admin = await Api.login(node, 'admin', node.adminPassword);
  const nm0 = await nodeMetrics(node, admin.token);
  await drv.evaluate('window.__bench.on = true');
  const before = await metrics();
  const cpu0 = cpuNow(nodePid, simPid);
  const wall0 = Date.now();
  await new Promise((r) => setTimeout(r, measureS * 1000)); // the measurement window itself, not a wait for a condition
  const after = await metrics();
  const cpu1 = cpuNow(nodePid, simPid);
  const wallS = (Date.now() - wall0) / 1000;
  const probe = await drv.evaluate('(() => { const b = window.__bench; b.on = false; return b; })()');
  const nm1 = await nodeMetrics(node, admin.token);
  writeFileSync(path.join(dir, `metrics-${drones}-${Date.now()}.json`), JSON.stringify({ before: nm0, after: nm1 }, null, 1));
  const gaps = [];
  for (let i = 1; i < probe.frames.length; i++) gaps.push(probe.frames[i] - probe.frames[i - 1]);
  gaps.sort((a, b) => a - b);
  const header = await drv.evaluate(`({ rx: document.querySelector('${tidSel('rx-rate')}')?.textContent ?? '', latency: document.getElementById('latency')?.textContent ?? '', inView: document.querySelector('.map-info')?.textContent ?? '' })`);
  await drv.screenshot(path.join(dir, `fleet-${drones}-${Date.now()}.png`)).catch(() => {});
  const prof = profiling ? await profile(drv, dir, drones) : null;
  writeFileSync(path.join(dir, `console-${drones}-${Date.now()}.txt`), drv.consoleLog());
  await drv.close();
  await sim?.stop();
  await node.stop();
  const cpu = (k) => (cpu1[k] - cpu0[k]) / wallS;
  const machine = (cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total);
  const steal = (cpu1.machine.steal - cpu0.machine.steal) / (cpu1.machine.total - cpu0.machine.total);
  const nodeCounters = Object.fromEntries(OPERATOR_METRICS.map((m) => [m, (nm1[m] ?? NaN) - (m === 'dccs_operator_connections' ? 0 : nm0[m] ?? NaN)]));
  return {
    drones,
    load,
    connectS,
    loginFormMs,
    firstRowMs,
    snapshotMs,
    snapshotBytes,
    fps: probe.frames.length / wallS,
    p50: pct(gaps, 0.5),
    p95: pct(gaps, 0.95),
    max: gaps[gaps.length - 1] ?? NaN,
    taskPerS: (after.TaskDuration - before.TaskDuration) / wallS,
    scriptPerS: (after.ScriptDuration - before.ScriptDuration) / wallS,
    layoutPerS: (after.LayoutDuration - before.LayoutDuration) / wallS,
    stylePerS: (after.RecalcStyleDuration - before.RecalcStyleDuration) / wallS,
    longtasks: probe.longtasks,
    longtaskMs: probe.longtaskMs,
    updatesPerS: probe.updates / wallS,
    mbPerS: probe.bytes / wallS / 1e6,
    maxFrameKb: probe.maxBytes / 1024,
    cpuNode: cpu('node'),
    cpuSim: cpu('sim'),
    cpuBrowser: cpu('browser'),
    cpuSelf: cpu('self'),
    machine,
    steal,
    nodeCounters,
    rx: String(header.rx).trim(),
    latency: String(header.latency).trim(),
    inView: String(header.inView).trim(),
    prof,
  };
}

// WEB_REPEAT=n: each fleet measured n times (a fresh node, simulator and page each time), with the medians.
// WEB_COMPARE="before=/path/to/dist after=web/dist": builds of the dashboard measured in turn (interleaved, so that
// what else the machine does falls on both alike).
const repeat = Math.max(1, Number(process.env.WEB_REPEAT || 1));
const compare = (process.env.WEB_COMPARE || '').split(/\s+/).filter(Boolean).map((kv) => {
  const i = kv.indexOf('=');
  return { label: kv.slice(0, i), dist: path.resolve(kv.slice(i + 1)) };
});
const builds = (env) => (compare.length ? compare : [{ label: '', dist: env.webDist }]);
const label = (r) => `${r.drones} × ${hz}${r.build ? ` ${r.build}` : ''}${repeat > 1 ? ` #${r.run}` : ''}`;
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN;
};
const f0 = (v) => (Number.isFinite(v) ? v.toFixed(0) : '–');
const f1 = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');

function profileSection(r) {
  const p = r.prof;
  const out = [];
  out.push(`Profile at ${label(r)} (${profileS} s trace, then ${profileS} s CPU profile; per second of wall time): main thread ${f0(p.busy)} ms/s busy — ` +
    Object.entries(p.kinds).map(([k, ms]) => `${k} ${f0(ms)}`).join(', ') + '.');
  out.push('');
  out.push('| main-thread trace event (self time) | kind | ms/s | per s |');
  out.push('|---|---|---|---|');
  for (const e of p.events.slice(0, 12)) out.push(`| ${e.name} | ${e.kind} | ${f1(e.ms)} | ${f1(e.count)} |`);
  out.push('');
  out.push('| function (self time, V8 profile) | where | ms/s |');
  out.push('|---|---|---|');
  for (const fn of p.functions.slice(0, 12)) out.push(`| ${fn.fn} | ${fn.url}:${fn.line} | ${f1(fn.ms)} |`);
  out.push('');
  out.push(`Busiest threads (ms/s): ${p.threads.map((t) => `${t.name} ${f0(t.msPerS)}`).join('; ')}.`);
  out.push('');
  return out;
}

async function mainSocket(env, dir) {
  const rows = [];
  for (const n of fleets) {
    console.error(`web bench: ${n} drones x ${hz} Hz (bare operator socket, no browser)`);
    rows.push(...(await measureSocket(env, dir, n)));
  }
  const out = [];
  out.push(`## ${new Date().toISOString()} — ${os.cpus().length} cores: the node's operator socket without a browser`);
  out.push('');
  out.push(`A bare operator socket (Node.js WebSocket, bench/web.mjs WEB_DRIVER=socket) as admin, first subscribed to every drone, then to 500 ids; ` +
    `${measureS} s each after its snapshot; node and simulator on the same machine. Command: \`${process.env.WEB_COMMAND || 'bench/web.sh'}\`; ` +
    `load average before each fleet: ${[...new Set(rows.map((r) => `${r.drones}: ${r.load}`))].join('; ')}.`);
  out.push('');
  out.push('| drones × Hz | subscribed | subscribe → snapshot (ms; KiB) | update frames/s | MB/s | largest frame (KiB) | longest gap (ms) | updates merged for the socket (/metrics) | node TCP writes (ss: bytes per data segment) | CPU % node / sim; machine busy | closed |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    out.push(`| ${r.drones} × ${hz} | ${r.label} | ${f0(r.snapshotMs)} (${f0(r.snapshotBytes / 1024)}) | ${f1(r.updatesPerS)} | ${r.mbPerS.toFixed(2)} | ${f0(r.maxBytes / 1024)} | ` +
      `${f0(r.maxGapMs)} | ${f0(r.dropped)} | ${r.tcp ? `${f0(r.tcp.sent / Math.max(1, r.tcp.segs))} (${f0(r.tcp.segs)} segments)` : '–'} | ${f0(r.cpuNode * 100)} / ${f0(r.cpuSim * 100)}; ${f0(r.machine * 100)} % | ${r.closed ?? 'no'} |`);
  }
  out.push('');
  console.log(out.join('\n'));
}

async function main() {
  const env = readEnv();
  const dir = artifactsDir();
  if (driver === 'socket') return mainSocket(env, dir);
  const drv = driver === 'playwright' ? await PlaywrightDriver.start(env, dir) : await CdpDriver.start(env);
  const results = [];
  for (const n of fleets) {
    for (let run = 1; run <= repeat; run++) {
      for (const b of builds(env)) {
        console.error(`web bench: ${n} drones x ${hz} Hz (${driver}${b.label ? `, ${b.label}` : ''}${repeat > 1 ? `, run ${run}` : ''})`);
        const r = await measureFleet({ ...env, webDist: b.dist }, drv, dir, n);
        results.push({ ...r, build: b.label, run });
      }
    }
  }
  const files = bundle(env.webDist);
  const total = files.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), { raw: 0, gzip: 0 });
  const out = [];
  out.push(`## ${new Date().toISOString()} — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  out.push('');
  out.push(`Headless Chromium (${drv.version}) driven over ${driver === 'playwright' ? 'Playwright (which receives every WebSocket frame too)' : 'a bare DevTools pipe (tests/web/cdp.mjs)'}, ` +
    `${VIEWPORT.width}×${VIEWPORT.height}, fleet page, admin (every drone); ` +
    (synthetic
      ? `**synthetic feed** (WEB_FEED=synthetic: no simulator; the page's operator socket replaced by frames made by a worker in the page, every drone at ${hz} Hz in frames every 5 ms, entries shaped like the node's), node (login and REST only) and browser on the same machine; `
      : 'node, simulator and browser on the same machine; ') +
    `${measureS} s measured per fleet size. ` +
    `Command: \`${process.env.WEB_COMMAND || 'bench/web.sh'}\`; load average (1/5/15 min) before each measurement: ${results.map((r) => `${label(r)}: ${r.load}`).join('; ')}.`);
  if (compare.length) out.push('', `Builds compared, measured in turn: ${builds(env).map((b) => `${b.label} = ${b.dist}`).join(', ')}.`);
  out.push('');
  out.push('| drones × Hz | fps | frame p50 / p95 / max (ms) | main thread busy (task / script / style / layout, ms per s) | long tasks (count, ms) | socket in the window (update frames/s, MB/s, largest frame KiB) | CPU % node / sim / browser; machine busy (of it steal) | login form (ms) | login → first row / snapshot (ms; snapshot KiB) | header rx · latency p50/p95 |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    out.push(`| ${label(r)} | ${f1(r.fps)} | ${f1(r.p50)} / ${f1(r.p95)} / ${f1(r.max)} | ` +
      `${f0(r.taskPerS * 1000)} / ${f0(r.scriptPerS * 1000)} / ${f0(r.stylePerS * 1000)} / ${f0(r.layoutPerS * 1000)} | ${r.longtasks}, ${f0(r.longtaskMs)} | ` +
      `${f1(r.updatesPerS)}, ${r.mbPerS.toFixed(2)}, ${f0(r.maxFrameKb)} | ${f0(r.cpuNode * 100)} / ${f0(r.cpuSim * 100)} / ${f0(r.cpuBrowser * 100)}; ${f0(r.machine * 100)} % (${f0(r.steal * 100)} %) | ` +
      `${r.loginFormMs} | ${r.firstRowMs} / ${f0(r.snapshotMs)} (${f0(r.snapshotBytes / 1024)}) | ${r.rx} · ${r.latency} |`);
  }
  out.push('');
  if (repeat > 1) {
    // The median of the runs of each (fleet, build): this machine is shared, and one run can catch a neighbour's build.
    out.push('Medians of the runs:', '');
    out.push('| drones × Hz | runs | fps | main thread busy (task / script, ms per s) | long tasks | update frames/s |');
    out.push('|---|---|---|---|---|---|');
    const groups = new Map();
    for (const r of results) {
      const k = `${r.drones}|${r.build}`;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(r);
    }
    for (const rs of groups.values()) {
      const m = (f) => median(rs.map(f));
      out.push(`| ${rs[0].drones} × ${hz}${rs[0].build ? ` ${rs[0].build}` : ''} | ${rs.length} | ${f1(m((r) => r.fps))} | ${f0(m((r) => r.taskPerS * 1000))} / ${f0(m((r) => r.scriptPerS * 1000))} | ` +
        `${f0(m((r) => r.longtasks))} | ${f1(m((r) => r.updatesPerS))} |`);
    }
    out.push('');
  }
  out.push(`Node counters over the window (/metrics): ${results
    .map((r) => `${label(r)}: ${Object.entries(r.nodeCounters).map(([k, v]) => `${k.replace(/^dccs_operator_/, '')} ${f0(v)}`).join(', ')}`)
    .join('; ')}. Map: ${[...new Set(results.map((r) => `${r.drones}: "${r.inView}"`))].join('; ')}.`);
  out.push('');
  for (const r of results) if (r.prof) out.push(...profileSection(r));
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
