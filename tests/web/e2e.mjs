#!/usr/bin/env node
// Browser end-to-end tests of the operator dashboard (tests/web/README.md): the built dashboard in Chromium
// (playwright-core, the system's Chromium) against one real node with a scratch PostgreSQL database, Redis and
// simulated drones. Each scenario has a fresh browser context and logs in through the form; the node and the
// simulators are shared (the scenarios use different drones, or only read).
//
//   node tests/web/e2e.mjs          environment: DCCS_NODE_BIN, DCCS_SIM_BIN, DCCS_WEB_DIST, DCCS_TEST_REDIS_URL,
//                                   PGHOST/PGPORT/PGUSER(/PGDATABASE/PGPASSWORD); optional DCCS_E2E_ARTIFACTS,
//                                   DCCS_E2E_ONLY=a,c  DCCS_E2E_REQUIRE_ALL=1  DCCS_E2E_HEADED=1  DCCS_CHROMIUM
//
// Prints one line per scenario (ok / FAIL / skip) and exits 0 only if none failed. A failing step leaves a
// screenshot and the page's console log in the artifacts folder (printed), beside the node's and simulators' logs.

import { existsSync } from 'node:fs';
import path from 'node:path';

import { launchBrowser, Session } from './browser.mjs';
import { Dashboard, MissingHook } from './dashboard.mjs';
import {
  Api,
  artifactsDir,
  cleanup,
  createScratchDatabase,
  DccsNode,
  deadlineMs,
  isStopping,
  elapsed,
  randomId,
  randomPassword,
  readEnv,
  Simulator,
  TimeoutError,
  until,
} from './harness.mjs';

class Skip extends Error {
  skip = true; // Session.step passes it on as it is
}

/** Ends the scenario as skipped (not failed) with the reason. */
function skip(reason) {
  throw new Skip(reason);
}

const scenarios = [];
function scenario(id, title, fn) {
  scenarios.push({ id, title, fn });
}

// ---------------------------------------------------------------------------------------------------------------
// The shared world: one node, two simulated fleets.
//   scripted:  3 drones flying their scripted patterns, 4× fast (they move: positions, charts, history, geofence)
//   autopilot: 2 drones on the ground, disarmed, moving only when commanded (commands, missions)

const RUN = randomId(2);
const PREFIX = `e2e${RUN}`;
const SCRIPTED = [0, 1, 2].map((i) => `${PREFIX}s-${String(i).padStart(5, '0')}`);
const AUTOPILOT = [0, 1].map((i) => `${PREFIX}a-${String(i).padStart(5, '0')}`);
const FLEET = [...SCRIPTED, ...AUTOPILOT];

const world = {};

async function setUp(env, dir) {
  const db = await createScratchDatabase();
  // The analytics rollup every 2 s (rather than a minute), counting telemetry older than 1 s (scenario j): config by
  // environment (DCCS_<OPTION>, as the node reads it), which the node's process inherits, at each start.
  process.env.DCCS_ANALYTICS_INTERVAL_S ??= '2';
  process.env.DCCS_ANALYTICS_SETTLE_S ??= '1';
  const node = new DccsNode(env, db, dir);
  await node.start();
  const sims = [
    // Four times as fast: airborne and cruising within about 15 s (rather than a minute) of the start.
    new Simulator(env, node, 'sim-scripted', ['--drones', '3', '--rate', '5', '--prefix', `${PREFIX}s-`, '--time-scale', '4'], dir),
    // Twice as fast: a take-off or a mission takes half the time.
    new Simulator(env, node, 'sim-autopilot', ['--drones', '2', '--rate', '5', '--prefix', `${PREFIX}a-`, '--autopilot', '--time-scale', '2'], dir),
  ];
  await Promise.all(sims.map((s) => s.start()));
  const admin = await Api.login(node, 'admin', node.adminPassword);
  // Every drone registered itself (a development node) and has sent telemetry.
  await until(
    async () => {
      const ds = await admin.drones();
      return FLEET.every((id) => ds.some((d) => d.id === id && d.status === 'online' && typeof d.lat === 'number'));
    },
    { timeout: 20_000, message: `the drones ${FLEET.join(', ')} online with a position` },
  );
  // flew: drones a scenario flew by command (scenario e), which the analytics must count (scenario j).
  Object.assign(world, { env, dir, db, node, sims, admin, flew: [] });
}

/** A scripted drone cruising (moving horizontally), by the REST API: the scripted flights start on the ground. */
async function cruisingDrone() {
  return until(
    async () => (await world.admin.drones()).find((d) => SCRIPTED.includes(d.id) && d.mode === 'MISSION' && d.speed > 2)?.id,
    { timeout: 30_000, message: 'a scripted drone cruising (mode MISSION, speed > 2 m/s)' },
  );
}

/** Every drone the admin sees (the table lists registered drones that are not live too). */
async function knownIds() {
  const ids = (await world.admin.drones()).map((d) => d.id);
  for (const id of FLEET) if (!ids.includes(id)) throw new Error(`the node does not list ${id}`);
  return ids;
}

/** Waits until the table shows exactly the rows of `expected` (in any order). */
async function expectRows(dash, expected, message = `the table to show exactly ${expected.join(', ')}`) {
  const want = JSON.stringify([...expected].sort());
  let ids = [];
  await until(
    async () => {
      ids = await dash.shownIds();
      return JSON.stringify([...ids].sort()) === want;
    },
    { message, describe: () => `rows ${ids.join(', ') || '(none)'}` },
  );
}

/** A drone's altitude when it was first seen on the ground (the autopilot drones start there): its first stored sample. */
async function groundAlt(id) {
  const rows = (await world.admin.get(`/drones/${id}/telemetry?limit=1`)).rows;
  if (!rows.length) throw new Error(`no stored telemetry of ${id}`);
  return rows[0].alt;
}

/** Logs in a fresh page as admin (most scenarios start so). */
async function asAdmin(t) {
  await t.s.step('log in as admin', async () => {
    await t.dash.open();
    await t.dash.login('admin', world.node.adminPassword, { role: 'admin' });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

scenario('a', 'login, live fleet table, positions move', async (t) => {
  const { s, dash } = t;
  await s.step('open the page: the login form', async () => {
    await dash.open();
    await dash.tid('login-form').waitFor({ state: 'visible' });
  });
  await s.step('log in through the form: header names the user, socket live', async () => {
    await dash.login('admin', world.node.adminPassword, { role: 'admin' });
  });
  await s.step('every drone of the fleet is in the table and counted', async () => {
    const all = await knownIds();
    await until(async () => (await dash.counter('total')) === all.length && (await dash.counter('online')) === FLEET.length, {
      message: `the header to count ${all.length} drones, ${FLEET.length} online`,
    });
    await expectRows(dash, all);
  });
  await s.step('positions change (the lat/lon cells of a flying drone)', async () => {
    const id = await cruisingDrone();
    const first = `${await dash.cell(id, 'lat')} ${await dash.cell(id, 'lon')}`;
    await until(async () => `${await dash.cell(id, 'lat')} ${await dash.cell(id, 'lon')}` !== first, {
      timeout: 30_000,
      message: `the position of ${id} in the table to change from ${first}`,
    });
  });
});

scenario('b', 'filter the fleet table by search text and by group', async (t) => {
  const { s, dash } = t;
  const group = `e2e-b-${RUN}`;
  const moved = SCRIPTED[1];
  await s.step('move one drone to a group of its own (REST)', async () => {
    await world.admin.patch(`/drones/${moved}`, { group });
    await until(async () => (await world.admin.drone(moved)).group === group, { message: `${moved} in group ${group}` });
  });
  await asAdmin(t);
  await s.step('all drones shown unfiltered', async () => {
    await expectRows(dash, await knownIds());
  });
  await s.step('search by id: only that row', async () => {
    const id = AUTOPILOT[1];
    await dash.search(id);
    await expectRows(dash, [id]);
  });
  await s.step('search by a prefix: the rows it matches', async () => {
    await dash.search(`${PREFIX}a-`);
    await expectRows(dash, AUTOPILOT);
    await dash.search('');
    await expectRows(dash, await knownIds());
  });
  await s.step('group filter: only the drone of that group', async () => {
    await dash.chooseGroup(group);
    await expectRows(dash, [moved], `only the row of ${moved} (group ${group})`);
    await s.waitText(dash.tid('table-shown'), (txt) => txt.startsWith('1 of 1'), { message: '"1 of 1 shown"' });
  });
  await s.step('group "all" again: every row', async () => {
    await dash.tid('table-group').selectOption('');
    await expectRows(dash, await knownIds());
  });
});

scenario('c', 'drone detail: registry fields and a growing live chart', async (t) => {
  const { s, dash } = t;
  const id = SCRIPTED[0];
  await asAdmin(t);
  await s.step('open the drone from the table', async () => {
    await dash.openDrone(id);
  });
  await s.step('registry fields', async () => {
    const reg = await world.admin.drone(id);
    await s.waitText(dash.tid('detail-registry'), (txt) => txt.includes(reg.registry.model) && txt.includes(reg.registry.group) && txt.includes(reg.registry.credential), {
      message: `the registry box to show model ${reg.registry.model}, group ${reg.registry.group}, credential ${reg.registry.credential}`,
    });
    await s.waitText(dash.tid('detail-status'), (txt) => txt === 'online', { message: 'status online' });
  });
  await s.step('the live chart grows', async () => {
    const before = await dash.chartPoints('alt');
    await until(async () => (await dash.chartPoints('alt')) > before, {
      timeout: 10_000,
      message: `the altitude chart to hold more than ${before} points`,
    });
  });
});

scenario('d', 'history replay: a time range, the track, the slider', async (t) => {
  const { s, dash } = t;
  const id = SCRIPTED[0];
  await asAdmin(t);
  await s.step('open the drone', async () => {
    await dash.open(`#/drone/${id}`);
    await s.waitText(dash.tid('detail-id'), (txt) => txt === id);
  });
  await s.step('stored telemetry exists (REST)', async () => {
    await until(async () => (await world.admin.get(`/drones/${id}/track`)).features[0].properties.points > 5, {
      message: `more than 5 stored positions of ${id}`,
    });
  });
  let status;
  await s.step('show the track of the last 15 minutes (the preset)', async () => {
    await dash.tid('history-load').click();
    status = await s.waitText(dash.tid('history-status'), (txt) => /^\d+ positions/.test(txt), {
      message: 'the history status to count the positions',
    });
    if (Number(status.match(/^(\d+)/)[1]) < 2) throw new Error(`too few positions: ${status}`);
    await dash.tid('history-slider').waitFor({ state: 'visible' });
  });
  await s.step('move the slider: the readout follows', async () => {
    const slider = dash.tid('history-slider');
    const readout = dash.tid('history-readout');
    const first = (await readout.textContent()).trim();
    const max = await slider.getAttribute('max');
    await slider.focus();
    await slider.press('End');
    await until(async () => (await slider.inputValue()) === max, { message: `the slider at its end (${max})` });
    await s.waitText(readout, (txt) => txt !== first && txt.length > 0, { message: 'the readout to change' });
  });
});

scenario('e', 'command panel: take control, arm, take off, states to succeeded', async (t) => {
  const { s, dash } = t;
  const id = AUTOPILOT[0];
  await asAdmin(t);
  await s.step('open the drone (on the ground, disarmed)', async () => {
    await dash.openDrone(id);
    await dash.tid('command-panel').waitFor({ state: 'visible' });
  });
  await s.step('take the control lease', async () => {
    await dash.tid('lease-take').click();
    await s.waitText(dash.tid('lease-holder'), (txt) => txt.startsWith('you'), { message: 'the lease holder "you"' });
    const lease = await world.admin.get(`/drones/${id}/control`);
    if (lease.holder !== 'admin') throw new Error(`the node says the lease holder is ${lease.holder}`);
  });
  await s.step('arm: succeeded', async () => {
    await dash.tid('cmd-arm').click();
    await s.waitAttr(dash.commandEntry('arm'), 'data-state', (v) => v === 'succeeded', { timeout: 15_000, message: 'arm succeeded' });
  });
  await s.step('take off to 20 m: the states progress to succeeded', async () => {
    await dash.tid('cmd-takeoff-alt').fill('20');
    await dash.tid('cmd-takeoff').click();
    const entry = dash.commandEntry('takeoff');
    const seen = [];
    await until(
      async () => {
        const st = await entry.getAttribute('data-state', { timeout: 1000 });
        if (st && seen[seen.length - 1] !== st) seen.push(st);
        return st === 'succeeded' || ['failed', 'rejected', 'expired', 'timed_out', 'cancelled'].includes(st);
      },
      { timeout: 30_000, interval: 50, message: 'the takeoff to end' },
    );
    if (seen[seen.length - 1] !== 'succeeded') throw new Error(`takeoff ended ${seen.join(' → ')}`);
    const states = (await entry.getByTestId('command-states').textContent()).trim();
    // The entry lists every state the page saw: at least one before the end (the climb takes a few seconds).
    if (!/(accepted|in progress).*succeeded/.test(states)) throw new Error(`the entry's states are "${states}"`);
    const cmds = (await world.admin.get(`/drones/${id}/commands?limit=5`)).commands;
    const c = cmds.find((x) => x.kind === 'takeoff');
    if (!c || c.state !== 'succeeded' || c.issued_by !== 'admin') throw new Error(`the node's journal: ${JSON.stringify(c)}`);
  });
  await s.step('the drone flies (armed, mode GUIDED after the climb) and the lease is released', async () => {
    await until(async () => {
      const d = await world.admin.drone(id);
      return d.armed === true && d.mode === 'GUIDED' && d.alt > 10 + (await groundAlt(id));
    }, { message: `${id} hovering (armed, GUIDED, 10 m above the ground or more)` });
    world.flew.push(id);
    await dash.tid('lease-release').click();
    await s.waitText(dash.tid('lease-holder'), (txt) => txt.startsWith('nobody'), { message: 'nobody holds the lease' });
  });
});

scenario('f', 'geofence breach: an alarm, acknowledged in the alarms panel', async (t) => {
  const { s, dash } = t;
  const group = `e2e-f-${RUN}`;
  const id = SCRIPTED[2];
  let alarm;
  await s.step('a flying drone in a group of its own, an inclusion fence elsewhere (REST)', async () => {
    await world.admin.patch(`/drones/${id}`, { group });
    await until(async () => {
      const d = await world.admin.drone(id);
      return d.group === group && d.armed === true;
    }, { timeout: 30_000, message: `${id} in group ${group} and armed (flying)` });
    // A square of about 1 km near 0°N 0°E: the drone (near Zurich) is outside it.
    const fence = await world.admin.post('/geofences', {
      name: `e2e fence ${RUN}`,
      group,
      kind: 'inclusion',
      polygon: { type: 'Polygon', coordinates: [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]] },
      action: 'alert',
    });
    t.defer(() => world.admin.delete(`/geofences/${fence.id}`));
    alarm = await until(
      async () => (await world.admin.get(`/alarms?state=open&drone=${id}&kind=geofence_breach`)).alarms[0],
      { timeout: 15_000, message: `a geofence_breach alarm of ${id}` },
    );
  });
  await asAdmin(t);
  await s.step('the header counts the active alarm', async () => {
    await s.waitText(dash.tid('alarm-badge'), (txt) => Number(txt) >= 1, { message: 'the alarm badge to count at least 1' });
  });
  await s.step('the alarms panel lists it, active', async () => {
    await dash.go('alarms');
    await dash.tid('alarms-page').waitFor({ state: 'visible' });
    await s.waitAttr(dash.alarmEntry(alarm.id), 'data-state', (v) => v === 'active', { message: `alarm ${alarm.id} listed active` });
    const text = await dash.alarmEntry(alarm.id).textContent();
    if (!text.includes(id) || !/geofence breach/.test(text)) throw new Error(`the entry reads "${text}"`);
  });
  await s.step('acknowledge it: acknowledged by admin (page and node)', async () => {
    await dash.alarmEntry(alarm.id).getByTestId('alarm-ack').click();
    await s.waitAttr(dash.alarmEntry(alarm.id), 'data-state', (v) => v === 'acknowledged', { message: 'the entry acknowledged' });
    const a = await world.admin.get(`/alarms/${alarm.id}`);
    if (a.state !== 'acknowledged' || a.acknowledged_by !== 'admin') throw new Error(`the node's alarm: ${JSON.stringify(a)}`);
  });
});

scenario('g', 'a viewer sees no command or lease controls', async (t) => {
  const { s, dash } = t;
  const name = `e2e-viewer-${RUN}`;
  const password = randomPassword();
  await s.step('create a viewer of group "default" (REST)', async () => {
    await world.admin.post('/users', { name, password, role: 'viewer', groups: ['default'] });
  });
  await s.step('log in as the viewer', async () => {
    await dash.open();
    await dash.login(name, password, { role: 'viewer' });
  });
  await s.step('no Analytics link, and the page refused', async () => {
    await dash.nav('fleet').waitFor({ state: 'visible' });
    if (await dash.nav('analytics').count()) throw new Error('a viewer sees the Analytics link');
    await dash.open('#/analytics');
    await s.page.getByText('Your role may not open this page.').waitFor({ state: 'visible' });
    if (await dash.tid('analytics-page').count()) throw new Error('a viewer sees the analytics page');
    await dash.open('#/fleet');
  });
  await s.step('the table shows the drones the viewer may see', async () => {
    const viewer = await Api.login(world.node, name, password);
    const visible = (await viewer.drones()).map((d) => d.id).filter((id) => FLEET.includes(id)).sort();
    if (!visible.includes(AUTOPILOT[1])) throw new Error(`the viewer should see ${AUTOPILOT[1]}: ${visible}`);
    await expectRows(dash, visible);
  });
  await s.step('the drone detail has no command panel and no lease buttons', async () => {
    await dash.openDrone(AUTOPILOT[1]);
    // The holder line is for everyone; rendering it means the panel has rendered for this user.
    await s.waitText(dash.tid('lease-holder'), (txt) => txt.length > 0, { message: 'the lease holder line' });
    for (const hook of ['command-panel', 'cmd-arm', 'cmd-takeoff', 'lease-take', 'lease-takeover', 'lease-release']) {
      if (await dash.tid(hook).isVisible()) throw new Error(`a viewer sees [data-testid="${hook}"]`);
    }
  });
});

scenario('i1', 'mission: plan 3 waypoints, run it on a simulated drone to completed', async (t) => {
  const { s, dash } = t;
  const id = AUTOPILOT[1];
  const name = `e2e mission ${RUN}`;
  await asAdmin(t);
  await s.step('the missions page', async () => {
    if ((await dash.nav('missions').count()) === 0) skip('no missions screen yet (no [data-testid="nav-missions"] link)');
    await dash.go('missions');
    await dash.tid('missions-page').waitFor({ state: 'visible' });
  });
  let waypoints;
  await s.step('plan 3 waypoints near the drone (typed in), final action hold', async () => {
    const d = await world.admin.drone(id);
    const ground = await groundAlt(id);
    // About 60 m apart, 20 m above the drone's take-off point: a short flight.
    const mLat = 1 / 111_320;
    const mLon = 1 / (111_320 * Math.cos((d.lat * Math.PI) / 180));
    waypoints = [[60, 0], [60, 60], [0, 60]].map(([n, e]) => ({
      lat: (d.lat + n * mLat).toFixed(7),
      lon: (d.lon + e * mLon).toFixed(7),
      alt: String(Math.round(ground + 20)),
    }));
    await dash.tid('mission-new').click();
    await dash.tid('mission-editor').waitFor({ state: 'visible' });
    await dash.tid('mission-name').fill(name);
    await dash.tid('mission-group').selectOption('default');
    await dash.tid('mission-final').selectOption('hold');
    for (const [i, wp] of waypoints.entries()) {
      await dash.tid('wp-add-lat').fill(wp.lat);
      await dash.tid('wp-add-lon').fill(wp.lon);
      await dash.tid('wp-add-alt').fill(wp.alt);
      await dash.tid('wp-add').click();
      await s.waitCount(dash.tid('waypoint-row'), (n) => n === i + 1, { message: `${i + 1} waypoint rows` });
    }
  });
  let mission;
  await s.step('create it: the node validates it', async () => {
    await dash.tid('mission-save').click();
    await s.waitAttr(dash.tid('mission-state'), 'data-state', (v) => v === 'validated', { message: 'the mission "validated"' });
    mission = (await world.admin.get('/missions?limit=50')).missions.find((m) => m.name === name);
    if (!mission || mission.items.length !== 3 || mission.final_action !== 'hold') throw new Error(`the node's mission: ${JSON.stringify(mission)}`);
    t.defer(async () => {
      const m = await world.admin.get(`/missions/${mission.id}`);
      if (['uploading', 'ready', 'active', 'paused'].includes(m.state)) await world.admin.post(`/missions/${mission.id}/abort`);
    });
  });
  await s.step('assign the drone', async () => {
    await dash.missionDroneOption(id).check();
    await dash.tid('mission-assign').click();
    await dash.missionProgress(id).waitFor({ state: 'visible' });
  });
  /** What the node says of the mission, for a failure message that tells the page's view from the node's. */
  const nodeSays = async () => {
    const m = await world.admin.get(`/missions/${mission.id}`);
    return `the node says the mission is ${m.state}, its drone ${m.drones[0]?.state}`;
  };
  await s.step('upload: ready, Start offered', async () => {
    await dash.tid('mission-upload').click();
    try {
      await until(
        async () => (await dash.tid('mission-state').getAttribute('data-state')) === 'ready' && (await dash.tid('mission-start').isVisible()),
        { timeout: 15_000, message: 'the mission "ready" with its Start button' },
      );
    } catch (e) {
      e.message += ` (the page shows "${await dash.tid('mission-state').getAttribute('data-state')}"; ${await nodeSays()})`;
      throw e;
    }
  });
  await s.step('start: the drone flies it to completed', async () => {
    try {
      await dash.tid('mission-start').click({ timeout: 3000 });
    } catch (e) {
      e.message = `clicking Start: ${e.message.split('\n')[0]} (the page shows "${await dash.tid('mission-state').getAttribute('data-state')}"; ${await nodeSays()})`;
      throw e;
    }
    const states = [];
    await until(
      async () => {
        const st = await dash.tid('mission-state').getAttribute('data-state', { timeout: 1000 });
        if (st && states[states.length - 1] !== st) states.push(st);
        return ['completed', 'aborted', 'failed'].includes(st);
      },
      { timeout: 60_000, interval: 100, message: 'the mission to end', describe: () => states.join(' → ') },
    );
    if (states[states.length - 1] !== 'completed') throw new Error(`the mission went ${states.join(' → ')}`);
    await s.waitAttr(dash.missionProgress(id), 'data-state', (v) => v === 'completed', { message: `${id} completed` });
    const reached = await dash.missionProgress(id).getAttribute('data-reached');
    if (reached !== '3') throw new Error(`${id} reached ${reached} waypoints, not 3`);
    const m = await world.admin.get(`/missions/${mission.id}`);
    if (m.state !== 'completed' || m.drones[0]?.reached?.length !== 3) throw new Error(`the node's mission: ${JSON.stringify(m)}`);
  });
});

scenario('i2', 'admin registers a drone and sees its secret once', async (t) => {
  const { s, dash } = t;
  const id = `${PREFIX}r-00000`;
  await asAdmin(t);
  await s.step('the drone registry of the admin page', async () => {
    if ((await dash.nav('admin').count()) === 0) skip('no admin screen yet (no [data-testid="nav-admin"] link)');
    await dash.go('admin');
    await dash.tid('admin-tab-registry').click();
    await dash.tid('reg-form').waitFor({ state: 'visible' });
  });
  let secret;
  await s.step('register a drone: its secret is shown', async () => {
    await dash.tid('reg-id').fill(id);
    await dash.tid('reg-name').fill('E2E registered');
    await dash.tid('reg-group').fill('default');
    await dash.tid('reg-model').fill('e2e-quad');
    await dash.tid('register-drone').click();
    await dash.tid('secret-dialog').waitFor({ state: 'visible' });
    secret = await until(async () => (await dash.tid('secret-value').inputValue()).trim(), { message: 'the secret in the dialog' });
    if (secret.length < 16) throw new Error(`a short secret: "${secret}"`);
    t.defer(() => world.admin.delete(`/drones/${id}`));
    const d = await world.admin.drone(id);
    if (!d.registered || d.registry.credential !== 'active' || d.registry.model !== 'e2e-quad') throw new Error(`the node's registry: ${JSON.stringify(d.registry)}`);
  });
  await s.step('close the dialog: the secret is gone from the page for good', async () => {
    await dash.tid('secret-close').click();
    await dash.tid('secret-dialog').waitFor({ state: 'detached' });
    await s.waitAttr(dash.regRow(id), 'data-credential', (v) => v === 'active', { message: `the registry row of ${id}, credential active` });
    if (await dash.tid('secret-value').count()) throw new Error('a secret field is still on the page');
    if ((await s.page.content()).includes(secret)) throw new Error('the secret is still in the page');
    // Opened again (a fresh read of the registry), the page has no way to show it.
    await dash.tid('admin-tab-users').click();
    await dash.tid('admin-tab-registry').click();
    await s.waitAttr(dash.regRow(id), 'data-credential', (v) => v === 'active', { message: `the registry row of ${id} again` });
    if ((await s.page.content()).includes(secret)) throw new Error('the secret is shown again');
  });
});

/** The analytics table's rows as { id: { flight_s, flights, group } } (data-* of each row, the group column's text). */
async function analyticsRows(dash) {
  const rows = await dash.tid('analytics-row').evaluateAll((trs) =>
    trs.map((tr) => ({ id: tr.dataset.id, flight_s: Number(tr.dataset.flightS), flights: Number(tr.dataset.flights), group: tr.cells[1]?.textContent.trim() })),
  );
  return Object.fromEntries(rows.map((r) => [r.id, r]));
}

/** Apply on the analytics page, and the answer shown (the status no longer "Loading…"). */
async function applyAnalytics(s, dash) {
  await dash.tid('analytics-apply').click({ timeout: 5000 });
  await s.waitText(dash.tid('analytics-status'), (txt) => txt !== 'Loading…', { message: 'the analytics answer shown' });
  if (await dash.tid('analytics-error').isVisible()) throw new Error(`the page says: ${(await dash.tid('analytics-error').textContent()).trim()}`);
}

scenario('j', 'analytics: the flying drones counted per drone and day; an analytics user reads them, commands nothing', async (t) => {
  const { s, dash } = t;
  // The scripted drones fly from the start; scenario e (when it ran) flew an autopilot drone by command.
  const flown = [SCRIPTED[0], ...world.flew];
  await s.step(`the node's rollup counts flight time of ${flown.join(', ')} (REST)`, async () => {
    let last;
    await until(
      async () => {
        last = await world.admin.get('/analytics/daily');
        return last.computed_through !== null && flown.every((id) => last.rows.some((r) => r.drone_id === id && r.flight_s > 0));
      },
      { timeout: 40_000, interval: 1000, message: `GET /analytics/daily to count flight time of ${flown.join(', ')}`, describe: () => JSON.stringify({ computed_through: last?.computed_through, rows: last?.rows?.map((r) => `${r.day} ${r.drone_id} ${r.flight_s}`) }) },
    );
  });
  await asAdmin(t);
  await s.step('the analytics page: form (the last 7 UTC days), tiles, charts, table', async () => {
    await dash.go('analytics');
    await dash.tid('analytics-page').waitFor({ state: 'visible' });
    await dash.tid('analytics-form').waitFor({ state: 'visible' });
    const from = await dash.tid('analytics-from').inputValue();
    const to = await dash.tid('analytics-to').inputValue();
    if ((Date.parse(to) - Date.parse(from)) / 86_400_000 !== 6) throw new Error(`the default range is ${from} … ${to}, not 7 days`);
    if (to !== new Date().toISOString().slice(0, 10)) throw new Error(`the range ends ${to}, not today (UTC)`);
    for (const hook of ['analytics-tiles', 'tile-flight', 'tile-distance', 'tile-flights', 'tile-battery', 'tile-alarms', 'tile-drones', 'analytics-table']) {
      await dash.tid(hook).waitFor({ state: 'visible' });
    }
  });
  let rows;
  await s.step(`the table lists ${flown.join(', ')} with flight time`, async () => {
    await until(
      async () => {
        await applyAnalytics(s, dash);
        rows = await analyticsRows(dash);
        return flown.every((id) => rows[id]?.flight_s > 0);
      },
      { timeout: 20_000, interval: 1000, message: `rows of ${flown.join(', ')} with flight time > 0`, describe: () => JSON.stringify(rows) },
    );
    for (const id of world.flew) if (!(rows[id].flights >= 1)) throw new Error(`${id} took off by command, the table counts ${rows[id].flights} flights`);
  });
  await s.step('tiles, charts and the note agree', async () => {
    const value = async (k) => Number(await dash.tid(`tile-${k}`).getAttribute('data-value'));
    if (!((await value('flight')) > 0)) throw new Error(`the flight tile holds ${await value('flight')} s`);
    if (!((await value('drones')) >= flown.length)) throw new Error(`the drones tile counts ${await value('drones')}`);
    for (const c of ['flight-hours', 'distance', 'flights-alarms']) {
      const points = await dash.tid(`chart-${c}`).getAttribute('data-points');
      if (points !== '7') throw new Error(`the chart ${c} draws ${points} days, not 7`);
    }
    await s.waitText(dash.tid('analytics-computed'), (txt) => /^figures up to \d\d:\d\d:\d\d UTC$/.test(txt), { message: 'the note "figures up to HH:MM:SS UTC"' });
    if (await dash.tid('analytics-empty').isVisible()) throw new Error('"No flights in this range" beside rows');
    // The table is /drones' (a row per drone, summed by the node): every drone it lists is in the node's answer read
    // after it (drones only ever join the range's rows), with its registry group.
    await dash.tid('analytics-csv-drones').waitFor({ state: 'visible' });
    const node = await world.admin.get('/analytics/drones');
    const byId = new Map(node.drones.map((d) => [d.drone_id, d]));
    for (const r of Object.values(rows)) {
      if (!byId.has(r.id)) throw new Error(`the table lists ${r.id}, GET /analytics/drones does not`);
      if (byId.get(r.id).group !== r.group) throw new Error(`the table puts ${r.id} in group ${r.group}, the node in ${byId.get(r.id).group}`);
    }
  });
  await s.step(`one drone: its days (today's with flight time); its id opens its detail`, async () => {
    const id = SCRIPTED[0];
    await dash.tid('analytics-drone').fill(id);
    await applyAnalytics(s, dash);
    await dash.tid('analytics-days').waitFor({ state: 'visible' });
    const today = new Date().toISOString().slice(0, 10);
    await dash.page.locator(`[data-testid="analytics-day-row"][data-day="${today}"]`).waitFor({ state: 'visible' });
    rows = await analyticsRows(dash);
    if (Object.keys(rows).join() !== id) throw new Error(`the table lists ${Object.keys(rows).join(', ')} for ${id} alone`);
    await dash.page.locator(`[data-testid="analytics-row"][data-id="${id}"] a`).click();
    await s.waitText(dash.tid('detail-id'), (txt) => txt === id, { message: `the detail of ${id}` });
  });
  const name = `e2e-analytics-${RUN}`;
  const password = randomPassword();
  await s.step('log in again as an analytics user of group "default"', async () => {
    await world.admin.post('/users', { name, password, role: 'analytics', groups: ['default'] });
    await dash.tid('logout').click();
    await dash.login(name, password, { role: 'analytics' });
  });
  await s.step('the analytics user reads the analytics of group "default"', async () => {
    await dash.go('analytics');
    await dash.tid('analytics-page').waitFor({ state: 'visible' });
    await dash.tid('analytics-drone').fill('');
    await until(
      async () => {
        await applyAnalytics(s, dash);
        rows = await analyticsRows(dash);
        return rows[SCRIPTED[0]]?.flight_s > 0;
      },
      { timeout: 10_000, interval: 1000, message: `the row of ${SCRIPTED[0]} (group default) with flight time`, describe: () => JSON.stringify(rows) },
    );
    const others = Object.values(rows).filter((r) => r.group !== 'default');
    if (others.length) throw new Error(`an analytics user of "default" sees ${others.map((r) => `${r.id} (${r.group})`).join(', ')}`);
  });
  await s.step('…and sees no command panel or lease buttons on a drone', async () => {
    await dash.page.locator(`[data-testid="analytics-row"][data-id="${SCRIPTED[0]}"] a`).click();
    await s.waitText(dash.tid('detail-id'), (txt) => txt === SCRIPTED[0], { message: `the detail of ${SCRIPTED[0]}` });
    await s.waitText(dash.tid('lease-holder'), (txt) => txt.length > 0, { message: 'the lease holder line' });
    for (const hook of ['command-panel', 'cmd-arm', 'cmd-takeoff', 'lease-take', 'lease-takeover', 'lease-release']) {
      if (await dash.tid(hook).isVisible()) throw new Error(`an analytics user sees [data-testid="${hook}"]`);
    }
  });
});

// A drone whose hello lists only arm and land (a third simulator, started and stopped here): its panel offers only
// those; a drone listing every kind gets every button. The node is a single node: the detail and the cluster tab say so.
scenario('k', 'command kinds a drone lists: only those offered; the cluster tab of a single node', async (t) => {
  const { s, dash } = t;
  const id = `${PREFIX}k-00000`;
  await s.step('a drone listing arm and land (dccs-sim --commands arm,land), as the node reports it (REST)', async () => {
    const sim = new Simulator(world.env, world.node, 'sim-commands', ['--drones', '1', '--rate', '2', '--prefix', `${PREFIX}k-`, '--autopilot', '--commands', 'arm,land'], world.dir);
    t.defer(() => sim.stop());
    await sim.start();
    let d;
    await until(
      async () => {
        d = await world.admin.drone(id).catch(() => undefined);
        return d?.status === 'online' && Array.isArray(d.commands);
      },
      { timeout: 15_000, message: `${id} online with its "commands"`, describe: () => JSON.stringify(d) },
    );
    if (JSON.stringify(d.commands) !== '["arm","land"]') throw new Error(`the node says ${id} lists ${JSON.stringify(d.commands)}`);
    if ('node' in d) throw new Error(`a single node names an owner: node ${JSON.stringify(d.node)}`);
  });
  await asAdmin(t);
  const hidden = ['cmd-disarm', 'cmd-takeoff', 'cmd-takeoff-alt', 'cmd-rtl', 'cmd-hold', 'cmd-resume', 'cmd-goto-pick', 'cmd-goto'];
  await s.step('its command panel: Arm and Land only', async () => {
    await dash.open(`#/drone/${id}`);
    await s.waitText(dash.tid('detail-id'), (txt) => txt === id);
    await dash.tid('command-panel').waitFor({ state: 'visible' });
    await dash.tid('cmd-takeoff').waitFor({ state: 'hidden' });
    for (const hook of ['cmd-arm', 'cmd-land']) if (!(await dash.tid(hook).isVisible())) throw new Error(`no [data-testid="${hook}"] for a drone listing it`);
    for (const hook of hidden) if (await dash.tid(hook).isVisible()) throw new Error(`[data-testid="${hook}"] shown for a drone listing only arm and land`);
    if (await dash.tid('command-none').isVisible()) throw new Error('"executes none of the commands" for a drone listing two');
  });
  await s.step('its detail: the kinds it lists, single node', async () => {
    await s.waitText(dash.tid('detail-commands'), (txt) => txt === 'arm, land', { message: 'the detail\'s commands "arm, land"' });
    await s.waitText(dash.tid('detail-node'), (txt) => txt === 'single node (not clustered)', { message: 'the detail\'s node "single node (not clustered)"' });
  });
  await s.step('a drone listing every kind: every button', async () => {
    const other = SCRIPTED[0];
    const d = await world.admin.drone(other);
    if (!Array.isArray(d.commands) || !d.commands.includes('takeoff')) throw new Error(`the node says ${other} lists ${JSON.stringify(d.commands)}`);
    await dash.open(`#/drone/${other}`);
    await s.waitText(dash.tid('detail-id'), (txt) => txt === other);
    await s.waitText(dash.tid('detail-commands'), (txt) => txt === d.commands.join(', '), { message: `the detail's commands "${d.commands.join(', ')}"` });
    await dash.tid('cmd-takeoff').waitFor({ state: 'visible' });
    for (const hook of ['cmd-arm', 'cmd-land', ...hidden]) if (!(await dash.tid(hook).isVisible())) throw new Error(`no [data-testid="${hook}"] for a drone listing every kind`);
  });
  await s.step('the admin page\'s cluster tab: single node (not clustered)', async () => {
    const c = await world.admin.get('/cluster');
    if (c.enabled !== false) throw new Error(`GET /cluster: ${JSON.stringify(c)}`);
    await dash.go('admin');
    await dash.tid('admin-tab-cluster').click();
    await dash.tid('admin-cluster').waitFor({ state: 'visible' });
    await s.waitAttr(dash.tid('cluster-status'), 'data-enabled', (v) => v === 'false', { message: 'the membership read (data-enabled="false")' });
    const status = (await dash.tid('cluster-status').textContent()).trim();
    if (status !== 'single node (not clustered)') throw new Error(`the cluster tab says "${status}"`);
    if (await dash.tid('cluster-member').count()) throw new Error('member rows on a single node');
    const total = await dash.counter('total');
    await s.waitText(dash.tid('cluster-drones'), (txt) => txt.startsWith(`${total} drones in this session's live view`), { message: `the tab to count the ${total} drones of the header` });
  });
});

// Last: it stops the node (a scenario after it would find the node back, but a failure here would take it along).
scenario('h', 'the page survives a node restart (same port, database, Redis, key)', async (t) => {
  const { s, dash } = t;
  await asAdmin(t);
  await s.step('drones shown, socket live', async () => {
    await until(async () => (await dash.counter('online')) === FLEET.length, { message: `${FLEET.length} drones online` });
    await s.page.evaluate(() => {
      window.__e2eNotReloaded = true;
    });
  });
  // While the node is away the browser logs the failed ticket requests and socket attempts itself.
  s.allowErrors(/Failed to load resource: net::ERR_CONNECTION_REFUSED|WebSocket connection to .* failed|status of 503/);
  await s.step('stop the node (SIGTERM): the page notices', async () => {
    const status = await world.node.stop();
    if (status.code !== 0) throw new Error(`the node exited with ${JSON.stringify(status)}`);
    await s.waitAttr(dash.tid('conn-state'), 'data-state', (v) => v !== 'live', { message: 'the connection state to leave "live"' });
  });
  await s.step('start it again on the same port: the page reconnects by itself', async () => {
    await world.node.start();
    await dash.waitConnected(30_000);
    await until(async () => (await dash.counter('online')) === FLEET.length, {
      timeout: 30_000,
      message: `${FLEET.length} drones online again`,
    });
    await expectRows(dash, await knownIds());
    // Live updates flow again (not only the snapshot): a flying drone's position moves.
    const id = await cruisingDrone();
    const first = `${await dash.cell(id, 'lat')} ${await dash.cell(id, 'lon')}`;
    await until(async () => `${await dash.cell(id, 'lat')} ${await dash.cell(id, 'lon')}` !== first, {
      timeout: 15_000,
      message: `the position of ${id} to change from ${first} after the restart`,
    });
    if (!(await s.page.evaluate(() => window.__e2eNotReloaded === true))) throw new Error('the page was reloaded');
    if (await dash.tid('login-form').isVisible()) throw new Error('the login form is shown again');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The runner

async function runScenario(browser, sc) {
  const s = await Session.open(browser, { name: sc.id, artifacts: world.dir, baseURL: world.node.url });
  const deferred = [];
  const t = { s, page: s.page, dash: new Dashboard(s), defer: (fn) => deferred.push(fn) };
  try {
    await sc.fn(t);
    s.checkConsole();
  } finally {
    for (const fn of deferred.reverse()) await fn().catch((e) => console.error(`  (cleanup of ${sc.id}: ${e.message})`));
    await s.close();
  }
}

async function main() {
  const t0 = Date.now();
  let env;
  try {
    env = readEnv();
  } catch (e) {
    console.error(`e2e: ${e.message}`);
    return 2;
  }
  for (const [what, p] of [['DCCS_WEB_DIST', path.join(env.webDist, 'index.html')], ['DCCS_NODE_BIN', env.nodeBin], ['DCCS_SIM_BIN', env.simBin], ['chromium', env.chromium]]) {
    if (!existsSync(p)) {
      console.error(`e2e: ${what}: ${p} does not exist`);
      return 2;
    }
  }
  const dir = artifactsDir();
  console.log(`e2e: artifacts (screenshots, console logs, node and simulator logs) in ${dir}`);
  const chosen = scenarios.filter((sc) => !env.only.length || env.only.includes(sc.id));
  const unknown = env.only.filter((id) => !scenarios.some((sc) => sc.id === id));
  if (unknown.length) {
    console.error(`e2e: DCCS_E2E_ONLY names no scenario ${unknown.join(', ')} (there are ${scenarios.map((sc) => sc.id).join(', ')})`);
    return 2;
  }
  // Every wait ends at the deadline; should something hang all the same, stop and clean up a little after it.
  setTimeout(() => {
    console.log(`FAIL the run did not end by its deadline (DCCS_E2E_DEADLINE_S)`);
    cleanup().finally(() => process.exit(1));
  }, deadlineMs - Date.now() + 15_000).unref();

  let browser;
  try {
    await setUp(env, dir);
    browser = await launchBrowser(env);
    console.log(`e2e: node on ${world.node.url}, ${FLEET.length} drones, set up in ${elapsed(t0)}`);
  } catch (e) {
    console.log(`FAIL setup: ${e.message}`);
    await cleanup();
    return 1;
  }

  const results = [];
  for (const sc of chosen) {
    if (isStopping()) break;
    const t1 = Date.now();
    const label = `${sc.id.padEnd(3)} ${sc.title}`;
    try {
      if (!world.node.child.running) throw new Error('the node is not running (an earlier scenario stopped it)');
      await runScenario(browser, sc);
      results.push('ok');
      console.log(`ok   ${label} (${elapsed(t1)})`);
    } catch (e) {
      const skipped = e instanceof Skip || e instanceof MissingHook;
      if (skipped && !env.requireAll) {
        results.push('skip');
        console.log(`skip ${label}: ${e.message}`);
      } else {
        results.push('fail');
        // Playwright's messages carry a coloured call log: the first line, then a few of the rest, plain.
        if (isStopping()) break;
        const plain = String(e.message).replace(/\x1b\[[0-9;]*m/g, '').split(/\n\s*Browser logs:/)[0];
        const [first, ...rest] = plain.split('\n').filter((l) => l.trim());
        console.log(`FAIL ${label} (${elapsed(t1)}): ${first}`);
        for (const line of rest.slice(0, 6)) console.log(`     ${line.trim()}`);
        if (e.cause?.stack && !e.cause.quiet && !(e.cause instanceof TimeoutError)) console.log(`     ${e.cause.stack.split('\n').slice(1, 4).join('\n     ')}`);
        for (const f of e.artifacts ?? []) console.log(`     artifact: ${f}`);
      }
    }
  }

  await cleanup();
  const count = (r) => results.filter((x) => x === r).length;
  console.log(`e2e: ${count('ok')} passed, ${count('fail')} failed, ${count('skip')} skipped in ${elapsed(t0)}; logs in ${dir}`);
  return count('fail') ? 1 : 0;
}

process.exitCode = await main();
