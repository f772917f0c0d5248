// Process-level helpers of the dashboard's end-to-end tests: the environment contract, a scratch PostgreSQL
// database, the node and simulator processes, a REST client and condition polling. Nothing here knows the page.
//
// Every child runs under coreutils `timeout` with the run's remaining time: should this script be killed outright
// (ctest's timeout sends SIGKILL), the node and the simulators still end by themselves instead of running on.

import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------------------------
// Time and conditions

const started = Date.now();

/** The run's deadline (DCCS_E2E_DEADLINE_S, default 270 s: under ctest's TIMEOUT of 300 s, so that this script
 *  cleans up itself rather than being killed). */
export const deadlineMs = started + 1000 * Number(process.env.DCCS_E2E_DEADLINE_S || 270);

export function secondsLeft() {
  return Math.max(1, Math.ceil((deadlineMs - Date.now()) / 1000));
}

export function elapsed(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class TimeoutError extends Error {}

/**
 * Polls `probe` every `interval` ms until it returns a truthy value (returned), or fails after `timeout` ms with
 * `message` and the last value seen (or the last error the probe threw). This is the only way the tests wait: on a
 * condition, with a limit. The pause between probes is the polling interval, never a stand-in for a condition.
 */
export async function until(probe, { timeout = 10_000, interval = 100, message = 'condition', describe } = {}) {
  const end = Math.min(Date.now() + timeout, deadlineMs);
  let last;
  let lastError;
  for (;;) {
    try {
      last = await probe();
      lastError = undefined;
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= end) {
      const seen = lastError
        ? `last error: ${lastError.message ?? lastError}`
        : `last value: ${describe ? describe(last) : JSON.stringify(last)}`;
      throw new TimeoutError(`timed out after ${(timeout / 1000).toFixed(0)} s waiting for ${message} (${seen})`);
    }
    await pause(interval);
  }
}

export function randomId(bytes = 4) {
  return randomBytes(bytes).toString('hex');
}

/** A password the node accepts (at least 12 characters). */
export function randomPassword() {
  return `e2e-${randomBytes(12).toString('base64url')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The environment contract

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set (see tests/web/README.md)`);
  return v;
}

/** What the run takes from its environment; throws naming the first missing variable. */
export function readEnv() {
  const e = {
    nodeBin: need('DCCS_NODE_BIN'),
    simBin: need('DCCS_SIM_BIN'),
    webDist: need('DCCS_WEB_DIST'),
    redisUrl: need('DCCS_TEST_REDIS_URL'),
    chromium: process.env.DCCS_CHROMIUM || '/usr/bin/chromium',
    headed: process.env.DCCS_E2E_HEADED === '1',
    only: (process.env.DCCS_E2E_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean),
    requireAll: process.env.DCCS_E2E_REQUIRE_ALL === '1',
  };
  for (const v of ['PGHOST', 'PGPORT', 'PGUSER']) need(v);
  return e;
}

/** The folder for screenshots, console logs and the processes' logs: DCCS_E2E_ARTIFACTS, else a fresh temp one. */
export function artifactsDir() {
  const given = process.env.DCCS_E2E_ARTIFACTS;
  if (given) {
    const dir = path.resolve(given);
    mkdirSync(dir, { recursive: true });
    // What an earlier run left there (only the kinds of files a run writes): a run's folder tells of that run only.
    for (const f of readdirSync(dir)) {
      if (/\.(png|console\.txt)$|^node\.log$|^sim-.*\.log$|^node-data$/.test(f)) rmSync(path.join(dir, f), { recursive: true, force: true });
    }
    return dir;
  }
  return mkdtempSync(path.join(tmpdir(), 'dccs-e2e-artifacts-'));
}

// ---------------------------------------------------------------------------------------------------------------
// Cleanup: everything started registers how to undo it; run once, last registered first, on exit or signal.

const cleanups = [];
let cleaning;

export function onCleanup(fn) {
  cleanups.push(fn);
}

export function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop();
      try {
        await fn();
      } catch (e) {
        console.error(`cleanup: ${e.message ?? e}`);
      }
    }
  })();
  return cleaning;
}

let stopping = false;

/** A signal asked the run to stop: start nothing new. */
export function isStopping() {
  return stopping;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    stopping = true;
    console.error(`\n${sig}: stopping, cleaning up`);
    cleanup().finally(() => process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: a scratch database on the server the PG* variables name.

function psql(sql) {
  return new Promise((resolve, reject) => {
    // -X: no ~/.psqlrc; the maintenance database is PGDATABASE (or libpq's default).
    execFile('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql -c "${sql}": ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Creates `dccs_e2e_<random>`, dropped at cleanup (WITH (FORCE): the node may still hold connections). */
export async function createScratchDatabase() {
  const name = `dccs_e2e_${randomId(6)}`;
  await psql(`CREATE DATABASE ${name}`);
  onCleanup(() => psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  // A libpq keyword string: host, port, user and password come from the same PG* variables the node inherits.
  return { name, url: `dbname=${name}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

const MAX_TAIL = 200;

/** A child process whose stdout and stderr go to a log file and to an in-memory tail that can be waited on. */
export class Child {
  constructor(label, bin, args, { env = {}, logFile }) {
    this.label = label;
    this.lines = [];
    this.watchers = new Set();
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.log.write(`\n=== ${new Date().toISOString()} ${bin} ${args.join(' ')}\n`);
    this.proc = spawn('timeout', ['-k', '5', `${secondsLeft() + 20}s`, bin, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        for (const w of this.watchers) w.onExit();
        resolve(this.exitStatus);
      });
    });
    this.proc.on('error', (e) => this.take(`spawn error: ${e.message}`));
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let partial = '';
      stream.on('data', (chunk) => {
        this.log.write(chunk);
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop();
        for (const line of parts) this.take(line);
      });
    }
  }

  take(line) {
    this.lines.push(line);
    if (this.lines.length > MAX_TAIL) this.lines.shift();
    for (const w of this.watchers) w.onLine(line);
  }

  tail(n = 20) {
    return this.lines.slice(-n).join('\n');
  }

  get running() {
    return this.exitStatus === undefined;
  }

  /** Resolves with the regexp's match of the first line (already seen or to come) that matches it. */
  waitForLine(re, timeout, what) {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const w = {
        onLine: (line) => {
          const m = line.match(re);
          if (m) done(() => resolve(m));
        },
        onExit: () =>
          done(() => reject(new Error(`${this.label} exited (${JSON.stringify(this.exitStatus)}) before ${what}; its log ends:\n${this.tail()}`))),
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${this.label}: no ${what} within ${timeout / 1000} s; its log ends:\n${this.tail()}`))),
        timeout,
      );
      const done = (fn) => {
        clearTimeout(timer);
        this.watchers.delete(w);
        fn();
      };
      this.watchers.add(w);
      if (!this.running) w.onExit();
    });
  }

  /** SIGTERM (forwarded by timeout to the program), then SIGKILL after `graceMs`. Resolves with the exit status. */
  async stop(graceMs = 10_000) {
    if (this.running) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.running && this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.log.end(resolve));
    return this.exitStatus;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The node

/** Whether the node binary knows an option (the options grow: `--web.tile_url` is newer than some binaries). */
async function nodeOptions(bin) {
  return new Promise((resolve) => {
    execFile(bin, ['--help'], { timeout: 10_000 }, (err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
  });
}

export class DccsNode {
  /**
   * @param env readEnv()'s result
   * @param db createScratchDatabase()'s result
   * @param dir a folder for the node's data dir and log
   */
  constructor(env, db, dir) {
    this.env = env;
    this.db = db;
    this.dataDir = path.join(dir, 'node-data');
    this.logFile = path.join(dir, 'node.log');
    this.adminPassword = randomPassword();
    this.port = 0;
    this.starts = 0;
    onCleanup(() => this.stop());
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Starts the node (on `this.port`: 0 the first time, the same port again after stop()) and waits for /readyz. */
  async start() {
    this.help ??= await nodeOptions(this.env.nodeBin);
    const args = [
      '--node.name', 'e2e',
      '--http.address', '127.0.0.1',
      '--http.port', String(this.port),
      '--http.static_dir', this.env.webDist,
      '--db.url', this.db.url,
      '--redis.url', this.env.redisUrl,
      '--node.data_dir', this.dataDir,
      '--log.level', 'info',
    ];
    // No tile server: the map draws its offline base map only, and the page makes no request off the machine.
    if (this.help.includes('--web.tile_url')) args.push('--web.tile_url', '');
    // DCCS_NODE_ARGS: more options for the node, e.g. "--http.threads 2" (benchmarks compare settings with it).
    args.push(...(process.env.DCCS_NODE_ARGS || '').split(/\s+/).filter(Boolean));
    this.starts++;
    this.child = new Child(`node (start ${this.starts})`, this.env.nodeBin, args, {
      env: { DCCS_ADMIN_PASSWORD: this.adminPassword },
      logFile: this.logFile,
    });
    const m = await this.child.waitForLine(/\blisten\w*\b.*\sport=(\d+)/, 30_000, 'line "listening ... port=<n>"');
    const port = Number(m[1]);
    if (this.port && port !== this.port) throw new Error(`node restarted on port ${port}, not ${this.port}`);
    this.port = port;
    await until(
      async () => {
        if (!this.child.running) throw new Error(`node exited: ${this.child.tail()}`);
        const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        return r.status === 200;
      },
      { timeout: 30_000, interval: 200, message: `GET ${this.url}/readyz to answer 200` },
    );
    return this.port;
  }

  async stop() {
    if (this.child) return this.child.stop();
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The simulator

export class Simulator {
  /** @param args dccs-sim options beyond --url (e.g. --drones, --prefix, --autopilot) */
  constructor(env, node, label, args, dir) {
    this.env = env;
    this.node = node;
    this.label = label;
    this.args = args;
    this.logFile = path.join(dir, `${label}.log`);
    onCleanup(() => this.stop());
  }

  async start() {
    this.child = new Child(this.label, this.env.simBin, ['--url', this.node.wsUrl, ...this.args], { logFile: this.logFile });
    await this.child.waitForLine(/fleet connected/, 30_000, '"fleet connected" line');
  }

  async stop() {
    if (this.child) return this.child.stop();
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// REST

export class ApiError extends Error {
  constructor(method, p, status, body) {
    super(`${method} ${p}: HTTP ${status} ${typeof body === 'string' ? body : JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

/** A client of /api/v1 with one user's access token. */
export class Api {
  constructor(node) {
    this.node = node;
  }

  static async login(node, name, password) {
    const api = new Api(node);
    const r = await api.call('POST', '/auth/login', { name, password }, { auth: false });
    api.token = r.access_token;
    api.name = name;
    return api;
  }

  /** The JSON answer of a 2xx, else an ApiError. `expect` lists other statuses taken as success. */
  async call(method, p, body, { auth = true, expect = [] } = {}) {
    const headers = { accept: 'application/json' };
    if (auth) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${this.node.url}/api/v1${p}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    let json = text;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: kept as text for the error message
    }
    if (!r.ok && !expect.includes(r.status)) throw new ApiError(method, p, r.status, json);
    return json;
  }

  get(p) {
    return this.call('GET', p);
  }

  post(p, body = {}) {
    return this.call('POST', p, body);
  }

  patch(p, body) {
    return this.call('PATCH', p, body);
  }

  delete(p) {
    return this.call('DELETE', p);
  }

  /** Every drone the caller sees (one page is enough for the few drones of these tests). */
  async drones() {
    return (await this.get('/drones?limit=10000')).drones;
  }

  drone(id) {
    return this.get(`/drones/${encodeURIComponent(id)}`);
  }
}
