// The browser side of the end-to-end tests: one Chromium for the run, a fresh context (cookies, storage) and page
// per scenario, the page's console and errors collected, and a screenshot plus the console log written for every
// step that fails.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { onCleanup, until } from './harness.mjs';

export async function launchBrowser(env) {
  const browser = await chromium.launch({
    executablePath: env.chromium,
    args: ['--no-sandbox'],
    headless: !env.headed,
  });
  onCleanup(() => browser.close());
  return browser;
}

// Installed before any script of the page: a CSP violation becomes a console error (Chromium also logs most of
// them itself, but not every kind, e.g. a blocked inline style attribute in some versions).
const CSP_LISTENER = `
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)') +
      ' at ' + e.sourceFile + ':' + e.lineNumber);
  });
`;

/** A scenario's page: its console, its errors, and step() that captures a screenshot when a step fails. */
export class Session {
  constructor(context, page, { name, artifacts }) {
    this.context = context;
    this.page = page;
    this.name = name;
    this.artifacts = artifacts;
    this.console = [];
    this.errors = [];
    // DCCS_E2E_ALLOW_CONSOLE: a regexp of console errors to tolerate everywhere (a known problem, while it is fixed).
    this.allowed = process.env.DCCS_E2E_ALLOW_CONSOLE ? [new RegExp(process.env.DCCS_E2E_ALLOW_CONSOLE)] : [];
    this.failures = [];
    const t0 = Date.now();
    const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(2)}s`;
    page.on('console', (msg) => {
      const loc = msg.location();
      const where = loc?.url ? ` (${loc.url}:${loc.lineNumber})` : '';
      const line = `${stamp()} [${msg.type()}] ${msg.text()}${where}`;
      this.console.push(line);
      if (msg.type() === 'error') this.error(line);
    });
    page.on('pageerror', (err) => {
      const line = `${stamp()} [pageerror] ${err.stack || err.message}`;
      this.console.push(line);
      this.error(line);
    });
    // The operator socket's frames other than the frequent drone updates go into the console log too (for a failed
    // step, what the node told the page, and when).
    page.on('websocket', (ws) => {
      this.console.push(`${stamp()} [ws] open ${ws.url().replace(/ticket=[^&]*/, 'ticket=…')}`);
      ws.on('framereceived', ({ payload }) => {
        const text = String(payload);
        if (text.startsWith('{"type":"update"')) return;
        this.console.push(`${stamp()} [ws <] ${text.length > 600 ? `${text.slice(0, 600)}…` : text}`);
      });
      ws.on('framesent', ({ payload }) => {
        const text = String(payload).replace(/"token":"[^"]*"/, '"token":"…"');
        this.console.push(`${stamp()} [ws >] ${text}`);
      });
      ws.on('close', () => this.console.push(`${stamp()} [ws] closed`));
    });
    // REST calls that change something, with their status, for the same reason.
    page.on('response', (r) => {
      const req = r.request();
      if (req.method() !== 'GET' && r.url().includes('/api/')) this.console.push(`${stamp()} [http] ${req.method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    page.on('crash', () => {
      this.console.push(`${stamp()} [crash] the page crashed`);
      this.error('the page crashed');
    });
  }

  static async open(browser, { name, artifacts, baseURL }) {
    const context = await browser.newContext({ baseURL, viewport: { width: 1400, height: 900 } });
    await context.addInitScript(CSP_LISTENER);
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    return new Session(context, page, { name, artifacts });
  }

  error(line) {
    if (!this.allowed.some((re) => re.test(line))) this.errors.push(line);
  }

  /** Console errors matching `re` are expected from now on (e.g. failed connections while the node restarts). */
  allowErrors(re) {
    this.allowed.push(re);
  }

  /** Throws if the page logged an error (or a CSP violation) not allowed. */
  checkConsole() {
    if (this.errors.length) {
      const errs = this.errors.splice(0);
      const e = new Error(`the page logged ${errs.length} error(s):\n      ${errs.join('\n      ')}`);
      e.quiet = true; // no stack trace: the message says it all
      throw e;
    }
  }

  /**
   * Runs one step. On failure (the step's own, or an error the page logged during it) writes
   * <scenario>-<n>-<step>.png and .console.txt to the artifacts folder and throws naming the step.
   */
  async step(title, fn) {
    this.steps = (this.steps ?? 0) + 1;
    const t0 = Date.now();
    try {
      const value = await fn();
      this.checkConsole();
      if (process.env.DCCS_E2E_VERBOSE === '1') console.log(`       ${this.name}: ${title} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return value;
    } catch (e) {
      if (e.skip) throw e; // a skip (a screen or hook the app does not have yet) is no failure to document
      const base = `${this.name}-${String(this.steps).padStart(2, '0')}-${title.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
      const files = [];
      try {
        const png = path.join(this.artifacts, `${base}.png`);
        await this.page.screenshot({ path: png, fullPage: true, timeout: 5000 });
        files.push(png);
      } catch (shotError) {
        files.push(`(no screenshot: ${shotError.message.split('\n')[0]})`);
      }
      const log = path.join(this.artifacts, `${base}.console.txt`);
      writeFileSync(log, `${this.console.join('\n')}\n`);
      files.push(log);
      const err = new Error(`step "${title}": ${e.message}`);
      err.artifacts = files;
      err.cause = e;
      throw err;
    }
  }

  async close() {
    await this.context.close().catch(() => {});
  }

  // --- conditions on the page -----------------------------------------------------------------------------------

  tid(id) {
    return this.page.getByTestId(id);
  }

  /** Waits until the locator's (first match's) text satisfies `predicate`; returns the text. */
  async waitText(locator, predicate, { timeout = 10_000, message } = {}) {
    let text;
    await until(
      async () => {
        text = await locator.first().textContent({ timeout: 1000 });
        return text !== null && predicate(text.trim());
      },
      { timeout, message: message ?? `text of ${locator} to match`, describe: () => JSON.stringify(text) },
    );
    return text.trim();
  }

  /** Waits until the locator's count satisfies `predicate`; returns it. */
  async waitCount(locator, predicate, { timeout = 10_000, message } = {}) {
    let n;
    await until(
      async () => {
        n = await locator.count();
        return predicate(n);
      },
      { timeout, message: message ?? `count of ${locator}`, describe: () => String(n) },
    );
    return n;
  }

  /** Waits until the (first) element's attribute satisfies `predicate`; returns the attribute's value. */
  async waitAttr(locator, name, predicate, { timeout = 10_000, message } = {}) {
    let v;
    await until(
      async () => {
        v = await locator.first().getAttribute(name, { timeout: 1000 });
        return predicate(v);
      },
      { timeout, message: message ?? `attribute ${name} of ${locator}`, describe: () => JSON.stringify(v) },
    );
    return v;
  }
}
