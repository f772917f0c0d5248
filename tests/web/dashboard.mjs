// The dashboard as the tests see it: every test hook (data-testid, and the data-* attributes the app puts beside
// them) is named here and only here, so a renamed hook is one change. The hooks are the ones web/README.md lists.

import { until } from './harness.mjs';

/** A test hook the app does not have (yet): the scenario is skipped naming it (DCCS_E2E_REQUIRE_ALL=1 fails it). */
export class MissingHook extends Error {
  constructor(what) {
    super(`the dashboard lacks the test hook ${what}`);
    this.missing = what;
    this.skip = true; // Session.step passes it on as it is
  }
}

export class Dashboard {
  /** @param s a Session (browser.mjs) */
  constructor(s) {
    this.s = s;
    this.page = s.page;
  }

  tid(id) {
    return this.page.getByTestId(id);
  }

  // --- login and header ------------------------------------------------------------------------------------------

  async open(hash = '') {
    await this.page.goto(`/${hash}`);
  }

  /** Logs in through the form and waits for the header to name the user and the socket to be live. */
  async login(name, password, { role } = {}) {
    await this.tid('login-form').waitFor({ state: 'visible' });
    await this.tid('login-name').fill(name);
    await this.tid('login-password').fill(password);
    await this.tid('login-submit').click();
    await this.tid('login-form').waitFor({ state: 'hidden' });
    await this.s.waitText(this.tid('who-name'), (t) => t === name, { message: `the header to name ${name}` });
    if (role) await this.s.waitText(this.tid('who-role'), (t) => t === role, { message: `the header to show the role ${role}` });
    await this.waitConnected();
  }

  /** The operator socket's state as the header shows it: idle, connecting, live or reconnecting. */
  connState() {
    return this.tid('conn-state').getAttribute('data-state');
  }

  async waitConnected(timeout = 15_000) {
    await this.s.waitAttr(this.tid('conn-state'), 'data-state', (v) => v === 'live', {
      timeout,
      message: 'the header\'s connection state to be "live"',
    });
  }

  async counter(which) {
    return Number((await this.tid(`count-${which}`).textContent()).trim());
  }

  nav(page) {
    return this.tid(`nav-${page}`);
  }

  async go(page) {
    await this.nav(page).click();
  }

  // --- fleet table ------------------------------------------------------------------------------------------------

  /** The table's rows that show a drone (the table keeps spare rows hidden). */
  rows() {
    return this.tid('drone-row').filter({ visible: true });
  }

  row(id) {
    return this.page.locator(`[data-testid="drone-row"][data-id="${id}"]`);
  }

  /** The ids of the rows shown, in table order. */
  async shownIds() {
    return this.rows().evaluateAll((trs) => trs.map((tr) => tr.dataset.id));
  }

  /**
   * The text of one cell of a drone's row. The table's columns are the user's choice, so the cell is found by its
   * column: the header cell's data-key (the sort key), then the cell at that index of the row.
   */
  async cell(id, key) {
    const header = this.tid('fleet-table').locator('thead th');
    const keys = await header.evaluateAll((ths) => ths.map((th) => th.dataset.key));
    const i = keys.indexOf(key);
    if (i < 0) throw new Error(`the fleet table has no column "${key}" (columns: ${keys.join(', ')})`);
    return (await this.row(id).locator('td').nth(i).textContent({ timeout: 2000 })).trim();
  }

  async search(text) {
    await this.tid('table-search').fill(text);
  }

  async chooseGroup(group) {
    const select = this.tid('table-group');
    await until(async () => (await select.locator('option').evaluateAll((os) => os.map((o) => o.value))).includes(group), {
      message: `the group filter to offer "${group}"`,
    });
    await select.selectOption(group);
  }

  // --- drone detail -----------------------------------------------------------------------------------------------

  async openDrone(id) {
    await this.row(id).click();
    await this.s.waitText(this.tid('detail-id'), (t) => t === id, { message: `the detail of ${id}` });
  }

  /** The number of samples a live chart holds (web/README.md: data-points on each chart). */
  async chartPoints(key) {
    const chart = this.tid(`chart-${key}`);
    await chart.waitFor({ state: 'attached' });
    const v = await chart.getAttribute('data-points');
    if (v === null) throw new MissingHook(`data-points on [data-testid="chart-${key}"] (the number of samples drawn)`);
    return Number(v);
  }

  commandEntry(kind) {
    return this.page.locator(`[data-testid="command-entry"][data-kind="${kind}"]`).first();
  }

  // --- missions and administration ----------------------------------------------------------------------------

  missionDroneOption(id) {
    return this.page.locator(`[data-testid="mission-drone-option"][data-id="${id}"]`);
  }

  missionProgress(id) {
    return this.page.locator(`[data-testid="mission-drone-progress"][data-id="${id}"]`);
  }

  regRow(id) {
    return this.page.locator(`[data-testid="reg-row"][data-id="${id}"]`);
  }

  alarmEntry(alarmId) {
    return this.page.locator(`[data-testid="alarm-entry"][data-id="${alarmId}"]`);
  }
}
