// A minimal Chrome DevTools Protocol client over --remote-debugging-pipe, for measurements (bench/web.mjs).
//
// Why not Playwright there: Playwright enables the Network domain on every page and listens to every WebSocket
// frame, so each operator-socket frame the page receives is also serialized by the renderer (its JSON escaped into
// a CDP event), passed through the browser process and parsed by Node.js — at 10,000 drones × 5 Hz that is tens of
// MB/s of work on the same 2 cores that no operator's browser does. Here only the domains a measurement asks for are
// enabled (Page, Runtime, Performance, Tracing, Profiler), so the page pays for nothing else.
//
//   const browser = await RawBrowser.launch('/usr/bin/chromium');
//   const page = await browser.newPage({ width: 1440, height: 900 });
//   await page.addInitScript('window.x = 1');
//   await page.goto('http://127.0.0.1:8090/');
//   await page.evaluate('document.title');
//   await browser.close();
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class CdpError extends Error {}

/** One pipe to the browser: requests by id, events by (sessionId, method). */
class Connection {
  constructor(input, output) {
    this.input = input;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Set();
    this.closed = false;
    let buf = Buffer.alloc(0);
    output.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let end;
      while ((end = buf.indexOf(0)) >= 0) {
        const text = buf.subarray(0, end).toString('utf8');
        buf = buf.subarray(end + 1);
        this.dispatch(JSON.parse(text));
      }
    });
    output.on('close', () => {
      this.closed = true;
      for (const { reject, method } of this.pending.values()) reject(new CdpError(`${method}: the browser closed the pipe`));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new CdpError(`${p.method}: ${msg.error.message}${msg.error.data ? ` (${msg.error.data})` : ''}`));
      else p.resolve(msg.result);
      return;
    }
    for (const l of [...this.listeners]) if (l.method === msg.method && (l.sessionId ?? undefined) === (msg.sessionId ?? undefined)) l.fn(msg.params);
  }

  send(method, params = {}, sessionId) {
    if (this.closed) return Promise.reject(new CdpError(`${method}: the browser is closed`));
    const id = this.nextId++;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.input.write(`${JSON.stringify(msg)}\0`);
    });
  }

  on(method, fn, sessionId) {
    const l = { method, fn, sessionId };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export class RawBrowser {
  /** Starts Chromium headless with a throwaway profile. `args`: more command-line switches. */
  static async launch(executable, { args = [], headless = true } = {}) {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'dccs-cdp-'));
    const child = spawn(
      executable,
      [
        ...(headless ? ['--headless'] : []),
        '--no-sandbox',
        '--remote-debugging-pipe',
        `--user-data-dir=${profile}`,
        '--no-first-run',
        '--no-default-browser-check',
        '--disable-extensions',
        '--disable-background-networking',
        '--disable-background-timer-throttling',
        '--disable-backgrounding-occluded-windows',
        '--disable-renderer-backgrounding',
        '--disable-component-update',
        '--disable-default-apps',
        '--disable-sync',
        '--hide-scrollbars',
        '--mute-audio',
        ...args,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const b = new RawBrowser(child, new Connection(child.stdio[3], child.stdio[4]), profile);
    b.stderr = () => stderr;
    const version = await Promise.race([
      b.conn.send('Browser.getVersion'),
      new Promise((_, reject) => child.once('exit', (code) => reject(new CdpError(`chromium exited (${code}): ${stderr}`)))),
    ]);
    b.version = version.product;
    return b;
  }

  constructor(child, conn, profile) {
    this.child = child;
    this.conn = conn;
    this.profile = profile;
  }

  /** A new tab with its own browser context (no storage shared), the viewport set. */
  async newPage({ width = 1440, height = 900 } = {}) {
    const { browserContextId } = await this.conn.send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await this.conn.send('Target.createTarget', { url: 'about:blank', browserContextId, width, height });
    const { sessionId } = await this.conn.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new RawPage(this.conn, sessionId, targetId, browserContextId);
    await page.send('Page.enable');
    await page.send('Runtime.enable');
    await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return page;
  }

  /**
   * Records a trace of the whole browser (every process) between start and stop; stop() answers the events.
   * `categories`: as chrome://tracing names them.
   */
  async startTracing(categories) {
    this.traceEvents = [];
    this.offTrace = this.conn.on('Tracing.dataCollected', (p) => this.traceEvents.push(...p.value));
    await this.conn.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: categories, recordMode: 'recordAsMuchAsPossible' } });
  }

  async stopTracing() {
    const done = new Promise((resolve) => {
      const off = this.conn.on('Tracing.tracingComplete', () => {
        off();
        resolve();
      });
    });
    await this.conn.send('Tracing.end');
    await done;
    this.offTrace?.();
    const events = this.traceEvents;
    this.traceEvents = [];
    return events;
  }

  async close() {
    try {
      await Promise.race([this.conn.send('Browser.close'), new Promise((r) => setTimeout(r, 5000))]);
    } catch {
      // already gone
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGKILL');
      await exited;
    }
    try {
      rmSync(this.profile, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // a helper process still writing: the folder is in the system's temp folder
    }
  }
}

export class RawPage {
  constructor(conn, sessionId, targetId, browserContextId) {
    this.conn = conn;
    this.sessionId = sessionId;
    this.targetId = targetId;
    this.browserContextId = browserContextId;
    this.console = [];
    const t0 = Date.now();
    const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(2)}s`;
    conn.on(
      'Runtime.consoleAPICalled',
      (p) => this.console.push(`${stamp()} [${p.type}] ${p.args.map((a) => a.value ?? a.description ?? '').join(' ')}`),
      sessionId,
    );
    conn.on('Runtime.exceptionThrown', (p) => this.console.push(`${stamp()} [exception] ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`), sessionId);
  }

  send(method, params = {}) {
    return this.conn.send(method, params, this.sessionId);
  }

  on(method, fn) {
    return this.conn.on(method, fn, this.sessionId);
  }

  addInitScript(source) {
    return this.send('Page.addScriptToEvaluateOnNewDocument', { source });
  }

  async goto(url) {
    const loaded = new Promise((resolve) => {
      const off = this.on('Page.loadEventFired', () => {
        off();
        resolve();
      });
    });
    const r = await this.send('Page.navigate', { url });
    if (r.errorText) throw new CdpError(`navigating to ${url}: ${r.errorText}`);
    await loaded;
  }

  /** The value of an expression (awaited when it is a promise), as JSON. */
  async evaluate(expression) {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new CdpError(`evaluate: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Polls `expression` until it is truthy (every `interval` ms, at most `timeout`); answers its value. */
  async waitFor(expression, { timeout = 30_000, interval = 100, message = expression } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
      const v = await this.evaluate(expression);
      if (v) return v;
      if (Date.now() > end) throw new CdpError(`timed out after ${timeout} ms waiting for ${message}`);
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  async close() {
    await this.conn.send('Target.closeTarget', { targetId: this.targetId }).catch(() => {});
    await this.conn.send('Target.disposeBrowserContext', { browserContextId: this.browserContextId }).catch(() => {});
  }
}
