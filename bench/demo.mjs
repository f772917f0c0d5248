// bench/demo.mjs: the scripted story of the demo (docs/demo.md), driven in Chromium against the cluster that
// bench/demo.sh started: log in; the fleet live on the map and the table; a drone taken under control, armed and
// taken off; a 3-waypoint mission planned, validated, assigned, uploaded, started and flown to completed; a no-fly
// zone drawn in the geofence editor over the hovering drone, its breach alarm acknowledged; the member that owns
// the most drones (not the one the page is on) killed with SIGKILL and the fleet re-homed on the others; the
// analytics page with the day's figures. One browser context at 1280×800 records the video (recordVideo); each step
// waits for conditions on the page (or the REST API), with limits, and leaves a numbered screenshot in DEMO_OUT; a
// caption at the top of the page says what happens. A failing step saves a screenshot and the page's console log
// (DEMO_OUT/failed-*), says which step failed and exits 1.
//
// Environment (set by bench/demo.sh): DEMO_OUT, DEMO_NODE_LIST ("host:port=pid,..."; the page uses the first),
// DEMO_PASSWORD_FILE (admin's), DEMO_FLEET (drones in all), DEMO_AUTOPILOT (how many are auto-NNNNN), DEMO_VIDEO,
// DEMO_PAUSE_MS, DEMO_CAPTIONS, DCCS_CHROMIUM, DCCS_E2E_HEADED, DCCS_E2E_DEADLINE_S (every wait ends by then).
// Page helpers and test hooks are the end-to-end tests' (tests/web/: browser.mjs, dashboard.mjs, harness.mjs).

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import { launchBrowser, Session } from '../tests/web/browser.mjs';
import { Dashboard } from '../tests/web/dashboard.mjs';
import { Api, cleanup, elapsed, until } from '../tests/web/harness.mjs';

const OUT = process.env.DEMO_OUT;
const NODES = (process.env.DEMO_NODE_LIST || '').split(',').filter(Boolean).map((s) => {
  const [http, pid] = s.split('=');
  return { http, pid: Number(pid), url: `http://${http}` };
});
const FLEET = Number(process.env.DEMO_FLEET || 30);
const AUTOPILOT = Number(process.env.DEMO_AUTOPILOT || 6);
const VIDEO = process.env.DEMO_VIDEO === '1';
const PAUSE_MS = Number(process.env.DEMO_PAUSE_MS ?? 1500);
const CAPTIONS = process.env.DEMO_CAPTIONS !== '0';
const VIEWPORT = { width: 1280, height: 800 };

const auto = (i) => `auto-${String(i).padStart(5, '0')}`;
const TAKEOFF = auto(0); // armed and taken off by command, then hovers: the geofence's breach
const MISSION = auto(1); // flies the mission

/** A pause for the viewer of the video only (DEMO_PAUSE_MS; 0 for none): never a wait for something to happen. */
const watch = (factor = 1) => new Promise((resolve) => setTimeout(resolve, PAUSE_MS * factor));

const t0 = Date.now();
const log = (msg) => console.error(`[demo +${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}`);

let browser;
let s; // the Session (tests/web/browser.mjs): console collection, failure screenshots
let dash; // the Dashboard (tests/web/dashboard.mjs): the test hooks
let admin; // REST as admin, on the page's node

/** Screenshot NN-name.png of the viewport (1280×800; bench/demo.sh makes the small copies). */
async function shot(name) {
  await s.page.screenshot({ path: path.join(OUT, `${name}.png`), scale: 'css', animations: 'disabled' });
  log(`  screenshot ${name}.png`);
}

/**
 * The caption the video and the screenshots show at the top of the page: what the step does (DEMO_CAPTIONS=0: none).
 * An element of the demo's own, added to the page's body (set through element.style, which the page's CSP allows).
 */
async function caption(text) {
  if (!CAPTIONS) return;
  await s.page.evaluate((t) => {
    let el = document.getElementById('demo-caption');
    if (!el) {
      el = document.createElement('div');
      el.id = 'demo-caption';
      // In the header's second line, left of the user's name (empty at 1280 px): it hides none of the page.
      Object.assign(el.style, {
        position: 'fixed', left: '10px', top: '35px', zIndex: '100000', maxWidth: 'calc(100% - 300px)',
        padding: '3px 10px', borderRadius: '4px', pointerEvents: 'none', background: 'rgba(31, 111, 235, 0.92)',
        color: '#ffffff', font: '600 14px/1.3 system-ui, sans-serif', boxShadow: '0 1px 6px rgba(0,0,0,0.5)',
      });
    }
    if (el.parentNode !== document.body) document.body.appendChild(el);
    el.textContent = t;
  }, text);
}

const steps = [];
/** One step of the story: a failure saves a screenshot and the console log (Session.step) and names the step. */
async function step(title, fn) {
  const t1 = Date.now();
  log(title);
  await s.step(title, fn);
  steps.push({ title, s: (Date.now() - t1) / 1000 });
}

/** The drones as the page's node tells them (REST). */
const drones = async () => admin.drones();
const drone = (id) => admin.drone(id);

/** A drone's first stored sample's altitude: where it stood on the ground (the autopilots start there). */
async function groundAlt(id) {
  const rows = (await admin.get(`/drones/${id}/telemetry?limit=1`)).rows;
  if (!rows.length) throw new Error(`no stored telemetry of ${id}`);
  return rows[0].alt;
}

/** Metres north and east of a point, in degrees. */
function offset(lat, lon, north, east) {
  return { lat: lat + north / 111_320, lon: lon + east / (111_320 * Math.cos((lat * Math.PI) / 180)) };
}

/** Metres between two points (an equirectangular approximation: fine over a few hundred metres). */
function metres(a, b) {
  const k = 111_320;
  return Math.hypot((a.lat - b.lat) * k, (a.lon - b.lon) * k * Math.cos((a.lat * Math.PI) / 180));
}

/** "node 2" for a member's HTTP address (the order of bench/demo.sh's nodes). */
const nodeName = (http) => `node ${NODES.findIndex((n) => n.http === http) + 1}`;

async function story() {
  // ---------------------------------------------------------------------------------------------------------------
  await step('log in as admin', async () => {
    await dash.open();
    await dash.tid('login-form').waitFor({ state: 'visible' });
    await caption(`DCCS: a cluster of ${NODES.length} nodes and ${FLEET} simulated drones. Log in as admin`);
    await watch();
    await dash.tid('login-name').fill('admin');
    await dash.tid('login-password').fill(readFileSync(process.env.DEMO_PASSWORD_FILE, 'utf8').trim());
    await shot('01-login');
    await dash.tid('login-submit').click();
    await dash.tid('login-form').waitFor({ state: 'hidden' });
    await s.waitText(dash.tid('who-name'), (t) => t === 'admin', { message: 'the header to name admin' });
    await dash.waitConnected();
  });

  // ---------------------------------------------------------------------------------------------------------------
  await step(`the fleet live: ${FLEET} drones online on the map and in the table, moving`, async () => {
    await caption(`The fleet live over the operator socket: ${FLEET} drones spread over ${NODES.length} nodes`);
    await until(async () => (await dash.counter('online')) === FLEET && (await dash.counter('total')) === FLEET, {
      timeout: 30_000,
      message: `the header to count ${FLEET} drones, ${FLEET} online`,
    });
    await s.waitCount(dash.rows(), (n) => n === FLEET, { message: `${FLEET} rows in the table` });
    await dash.tid('map-fit').click();
    // The scripted drones take off, then cruise their patterns: wait until half of them cruise, and a row moves.
    const scripted = FLEET - AUTOPILOT;
    let cruising = [];
    await until(
      async () => {
        cruising = (await drones()).filter((d) => d.id.startsWith('fleet-') && d.mode === 'MISSION' && d.speed > 2).map((d) => d.id);
        return cruising.length >= scripted / 2;
      },
      { timeout: 90_000, message: `half of the ${scripted} scripted drones cruising (mode MISSION, speed > 2 m/s)`, describe: () => `${cruising.length} cruising` },
    );
    const id = cruising[0];
    const pos = async () => `${await dash.cell(id, 'lat')} ${await dash.cell(id, 'lon')}`;
    const first = await pos();
    await until(async () => (await pos()) !== first, { timeout: 20_000, message: `the position of ${id} in the table to change` });
    await dash.tid('map-fit').click();
    await watch(2); // the trails grow on the map
    await shot('02-fleet');
  });

  // ---------------------------------------------------------------------------------------------------------------
  await step(`open ${TAKEOFF} (on the ground) and take its control lease`, async () => {
    const d = await drone(TAKEOFF);
    if (d.armed || d.status !== 'online') throw new Error(`${TAKEOFF} is not on the ground and online: ${JSON.stringify(d)}`);
    await caption(`Open ${TAKEOFF}, on the ground, and take its control lease`);
    await dash.openDrone(TAKEOFF);
    await dash.tid('command-panel').waitFor({ state: 'visible' });
    await dash.tid('map-follow').click(); // the map keeps the drone in the middle
    await watch();
    await dash.tid('lease-take').click();
    await s.waitText(dash.tid('lease-holder'), (t) => t.startsWith('you'), { message: 'the lease holder "you"' });
    await shot('03-drone-control');
  });

  await step(`arm ${TAKEOFF} and take off to 25 m: the command reaches succeeded`, async () => {
    await caption(`Arm ${TAKEOFF}, then take off to 25 m: every command is journaled and tracked to its final state`);
    await dash.tid('cmd-arm').click();
    await s.waitAttr(dash.commandEntry('arm'), 'data-state', (v) => v === 'succeeded', { timeout: 15_000, message: 'arm succeeded' });
    await watch(0.5);
    await dash.tid('cmd-takeoff-alt').fill('25');
    await dash.tid('cmd-takeoff').click();
    const entry = dash.commandEntry('takeoff');
    const seen = [];
    await until(
      async () => {
        const st = await entry.getAttribute('data-state', { timeout: 1000 });
        if (st && seen[seen.length - 1] !== st) seen.push(st);
        return ['succeeded', 'failed', 'rejected', 'expired', 'timed_out', 'cancelled'].includes(st);
      },
      { timeout: 40_000, interval: 50, message: 'the takeoff to end', describe: () => seen.join(' → ') },
    );
    if (seen[seen.length - 1] !== 'succeeded') throw new Error(`the takeoff ended ${seen.join(' → ')}`);
    log(`  takeoff: ${seen.join(' → ')}`);
    const ground = await groundAlt(TAKEOFF);
    await until(async () => {
      const d = await drone(TAKEOFF);
      return d.armed === true && d.mode === 'GUIDED' && d.alt > ground + 15;
    }, { message: `${TAKEOFF} hovering (armed, GUIDED, 15 m above the ground or more)` });
    await caption(`Take-off succeeded: ${TAKEOFF} hovers 25 m above its take-off point`);
    await watch();
    await shot('04-takeoff');
    await dash.tid('lease-release').click();
    await s.waitText(dash.tid('lease-holder'), (t) => t.startsWith('nobody'), { message: 'nobody holds the lease' });
  });

  // ---------------------------------------------------------------------------------------------------------------
  const missionName = `Demo survey ${new Date().toISOString().slice(11, 16)}`;
  let wps;
  await step(`plan a 3-waypoint mission for ${MISSION} on the missions page: validated`, async () => {
    await caption(`Plan a mission: 3 waypoints 150 m apart, 30 m up, then back home (RTL)`);
    await dash.go('missions');
    await dash.tid('missions-page').waitFor({ state: 'visible' });
    const d = await drone(MISSION);
    const alt = String(Math.round((await groundAlt(MISSION)) + 30));
    // A square of 150 m sides with the drone's take-off point as its fourth corner, 30 m above it; back home (rtl).
    wps = [[150, 0], [150, 150], [0, 150]].map(([n, e]) => offset(d.lat, d.lon, n, e));
    await dash.tid('mission-new').click();
    await dash.tid('mission-editor').waitFor({ state: 'visible' });
    await dash.tid('mission-name').fill(missionName);
    await dash.tid('mission-group').selectOption('default');
    await dash.tid('mission-final').selectOption('rtl');
    for (const [i, wp] of wps.entries()) {
      await dash.tid('wp-add-lat').fill(wp.lat.toFixed(7));
      await dash.tid('wp-add-lon').fill(wp.lon.toFixed(7));
      await dash.tid('wp-add-alt').fill(alt);
      await dash.tid('wp-add').click();
      await s.waitCount(dash.tid('waypoint-row'), (n) => n === i + 1, { message: `${i + 1} waypoint rows` });
      await watch(0.3);
    }
    await dash.tid('mission-save').click();
    await s.waitAttr(dash.tid('mission-state'), 'data-state', (v) => v === 'validated', { message: 'the mission "validated"' });
    await caption(`The node validated the plan (limits, geofences, battery); assign ${MISSION}`);
    await dash.missionDroneOption(MISSION).check();
    await dash.tid('mission-assign').click();
    await dash.missionProgress(MISSION).waitFor({ state: 'visible' });
    await watch();
    await shot('05-mission-plan');
  });

  await step('upload it, start it: the drone flies the waypoints to completed', async () => {
    await caption(`Upload the mission item by item to ${MISSION}, then start it`);
    await dash.tid('mission-upload').click();
    await until(
      async () => (await dash.tid('mission-state').getAttribute('data-state')) === 'ready' && (await dash.tid('mission-start').isVisible()),
      { timeout: 20_000, message: 'the mission "ready" with its Start button' },
    );
    await watch(0.5);
    await dash.tid('mission-start').click({ timeout: 3000 });
    await caption(`${MISSION} flies the mission: progress item by item, live`);
    await s.waitAttr(dash.missionProgress(MISSION), 'data-reached', (v) => Number(v) >= 1, {
      timeout: 60_000,
      message: `${MISSION} to reach its first waypoint`,
    });
    // On its way to the second waypoint (not hidden under the first one's marker).
    await until(async () => metres(await drone(MISSION), wps[0]) > 50, { timeout: 20_000, message: `${MISSION} 50 m past waypoint 1` });
    await shot('06-mission-flying');
    const states = [];
    await until(
      async () => {
        const st = await dash.tid('mission-state').getAttribute('data-state', { timeout: 1000 });
        if (st && states[states.length - 1] !== st) states.push(st);
        return ['completed', 'aborted', 'failed'].includes(st);
      },
      { timeout: 120_000, interval: 200, message: 'the mission to end', describe: () => states.join(' → ') },
    );
    if (states[states.length - 1] !== 'completed') throw new Error(`the mission went ${states.join(' → ')}`);
    await s.waitAttr(dash.missionProgress(MISSION), 'data-state', (v) => v === 'completed', { message: `${MISSION} completed` });
    const reached = await dash.missionProgress(MISSION).getAttribute('data-reached');
    if (reached !== '3') throw new Error(`${MISSION} reached ${reached} waypoints, not 3`);
    await caption(`Mission completed: 3 waypoints reached, ${MISSION} back home, landed and disarmed`);
    await watch();
    await shot('07-mission-completed');
  });

  // ---------------------------------------------------------------------------------------------------------------
  let alarm;
  await step(`draw a no-fly zone over the hovering ${TAKEOFF} in the geofence editor`, async () => {
    await caption(`Draw a no-fly zone (exclusion geofence) over ${TAKEOFF}, which still hovers there`);
    const d = await drone(TAKEOFF);
    await dash.go('geofences');
    await dash.tid('fences-page').waitFor({ state: 'visible' });
    await dash.tid('fence-new').click();
    await dash.tid('fence-editor').waitFor({ state: 'visible' });
    await dash.tid('fence-name').fill('No-fly: stadium');
    await dash.tid('fence-group').selectOption('default');
    await dash.tid('fence-kind').selectOption('exclusion');
    await dash.tid('fence-action').selectOption('alert');
    // A square of 200 m around the drone, which hovers where it took off.
    const corners = [[-100, -100], [-100, 100], [100, 100], [100, -100]].map(([n, e]) => offset(d.lat, d.lon, n, e));
    for (const [i, c] of corners.entries()) {
      await dash.tid('fence-add-lat').fill(c.lat.toFixed(7));
      await dash.tid('fence-add-lon').fill(c.lon.toFixed(7));
      await dash.tid('fence-add').click();
      await s.waitAttr(dash.tid('fence-vertex-count'), 'data-count', (v) => v === String(i + 1), { message: `${i + 1} points` });
      await watch(0.3);
    }
    await dash.tid('fence-close').click();
    await s.waitAttr(dash.tid('fence-vertex-count'), 'data-closed', (v) => v === 'true', { message: 'the outline closed' });
    await dash.tid('fence-save').click();
    await s.waitCount(dash.tid('fence-entry'), (n) => n >= 1, { message: 'the saved fence in the list' });
    await shot('08-geofence');
  });

  await step('the breach raises an alarm: the header counts it, the alarms page lists it active', async () => {
    alarm = await until(
      async () => (await admin.get(`/alarms?state=open&drone=${TAKEOFF}&kind=geofence_breach`)).alarms[0],
      { timeout: 20_000, message: `a geofence_breach alarm of ${TAKEOFF}` },
    );
    await s.waitText(dash.tid('alarm-badge'), (t) => Number(t) >= 1, { message: 'the alarm badge to count at least 1' });
    await caption(`${TAKEOFF} is inside the no-fly zone: a geofence breach alarm, counted in the header`);
    await watch();
    await dash.go('alarms');
    await dash.tid('alarms-page').waitFor({ state: 'visible' });
    await s.waitAttr(dash.alarmEntry(alarm.id), 'data-state', (v) => v === 'active', { message: `alarm ${alarm.id} listed active` });
    await watch();
    await shot('09-alarm');
  });

  await step('acknowledge the alarm', async () => {
    await dash.alarmEntry(alarm.id).getByTestId('alarm-ack').click();
    await s.waitAttr(dash.alarmEntry(alarm.id), 'data-state', (v) => v === 'acknowledged', { message: 'the entry acknowledged' });
    const a = await admin.get(`/alarms/${alarm.id}`);
    if (a.state !== 'acknowledged' || a.acknowledged_by !== 'admin') throw new Error(`the node's alarm: ${JSON.stringify(a)}`);
    await caption('Acknowledged by admin (the node records who and when; the alarm clears when the breach ends)');
    await watch();
    await shot('10-alarm-acknowledged');
  });

  // ---------------------------------------------------------------------------------------------------------------
  let killedAt;
  let before; // drones owned per node before the kill
  await step('kill -9 the member that owns the most drones (the page is on another one)', async () => {
    await dash.go('fleet');
    await dash.tid('map-fit').click();
    await until(async () => (await dash.counter('online')) === FLEET, { timeout: 20_000, message: `${FLEET} drones online` });
    const cluster = await admin.get('/cluster');
    if (cluster.members.length !== NODES.length) throw new Error(`the cluster has ${cluster.members.length} members, not ${NODES.length}`);
    const self = cluster.members.find((m) => m.self);
    if (self?.http !== NODES[0].http) throw new Error(`the page's node is ${self?.http}, not ${NODES[0].http}`);
    const victim = cluster.members.filter((m) => !m.self).sort((a, b) => b.drones - a.drones)[0];
    const node = NODES.find((n) => n.http === victim.http);
    if (!node) throw new Error(`no pid for the member at ${victim.http}`);
    before = Object.fromEntries(cluster.members.map((m) => [nodeName(m.http), m.drones]));
    const owned = Object.keys(before).sort().map((n) => `${n}: ${before[n]}`).join(', ');
    log(`  drones owned: ${owned} (the page is on node 1)`);
    await caption(`Drones owned: ${owned}. The page is on node 1; now kill -9 ${nodeName(victim.http)}`);
    await watch(2);
    // Whether the page's socket ever leaves "live" from here on (its node survives: it should not).
    await s.page.evaluate(() => {
      const el = document.querySelector('[data-testid="conn-state"]');
      window.__demoConn = [];
      new MutationObserver(() => window.__demoConn.push(el.dataset.state)).observe(el, { attributes: true, attributeFilter: ['data-state'] });
    });
    log(`  kill -9 ${node.pid} (${nodeName(victim.http)}, ${victim.http}, owner of ${victim.drones} drones)`);
    process.kill(node.pid, 'SIGKILL');
    killedAt = Date.now();
    await until(async () => (await admin.get('/cluster')).members.length === NODES.length - 1, {
      timeout: 15_000,
      interval: 100,
      message: `the page's node to see ${NODES.length - 1} members`,
    });
    const ms = Date.now() - killedAt;
    log(`  the cluster saw the member go after ${ms} ms`);
    await caption(`${nodeName(victim.http)} killed (kill -9, owner of ${victim.drones} drones): the cluster saw it go within ${ms} ms`);
    await shot('11-node-killed');
  });

  await step('the fleet re-homed: every drone owned by a survivor, live again, counted online', async () => {
    let owners;
    await until(
      async () => {
        const c = await admin.get('/cluster');
        const now = Object.fromEntries(c.members.map((m) => [nodeName(m.http), m.drones]));
        owners = Object.keys(before).sort().map((n) => `${n}: ${before[n]} → ${now[n] ?? 'killed'}`).join(', ');
        return c.members.length === NODES.length - 1 && c.members.reduce((n, m) => n + m.drones, 0) === FLEET;
      },
      { timeout: 30_000, message: `the ${NODES.length - 1} survivors to own all ${FLEET} drones`, describe: () => owners },
    );
    let behind = [];
    await until(
      async () => {
        const ds = await drones();
        behind = ds.filter((d) => d.status !== 'online' || !(d.recv > killedAt)).map((d) => `${d.id} ${d.status}`);
        return ds.length === FLEET && behind.length === 0;
      },
      { timeout: 30_000, message: 'every drone online with telemetry received after the kill', describe: () => behind.join(', ') },
    );
    await until(async () => (await dash.counter('online')) === FLEET, { timeout: 15_000, message: `the header to count ${FLEET} online` });
    const ms = Date.now() - killedAt;
    const conn = await s.page.evaluate(() => window.__demoConn);
    if (conn.some((st) => st !== 'live')) throw new Error(`the page's socket went ${conn.join(' → ')} during the failover`);
    log(`  every drone live again within ${ms} ms of the kill; drones owned ${owners}`);
    await caption(`Re-homed: all ${FLEET} drones live again ${(ms / 1000).toFixed(1)} s after the kill; drones owned ${owners}`);
    await watch(2);
    await shot('12-rehomed');
  });

  // ---------------------------------------------------------------------------------------------------------------
  await step("the analytics page: the day's figures, the flights of the story counted", async () => {
    await caption("Analytics: today's flight hours, distance, flights, battery used and alarms, per day and per drone");
    await dash.go('analytics');
    await dash.tid('analytics-page').waitFor({ state: 'visible' });
    let rows = {};
    await until(
      async () => {
        await dash.tid('analytics-apply').click({ timeout: 5000 });
        await s.waitText(dash.tid('analytics-status'), (t) => t !== 'Loading…', { message: 'the analytics answer shown' });
        rows = Object.fromEntries(
          await dash.tid('analytics-row').evaluateAll((trs) => trs.map((tr) => [tr.dataset.id, Number(tr.dataset.flights)])),
        );
        return rows[TAKEOFF] >= 1 && rows[MISSION] >= 1;
      },
      { timeout: 60_000, interval: 2000, message: `flights of ${TAKEOFF} and ${MISSION} counted`, describe: () => JSON.stringify(rows) },
    );
    await dash.tid('analytics-tiles').waitFor({ state: 'visible' });
    await watch();
    await shot('13-analytics');
    await watch(2);
  });
}

async function main() {
  if (!OUT || NODES.length < 2) {
    console.error('bench/demo.mjs: run it through bench/demo.sh (DEMO_OUT, DEMO_NODE_LIST not set)');
    return 2;
  }
  mkdirSync(OUT, { recursive: true });
  browser = await launchBrowser({ chromium: process.env.DCCS_CHROMIUM || '/usr/bin/chromium', headed: process.env.DCCS_E2E_HEADED === '1' });
  const videoDir = path.join(OUT, 'video');
  const context = await browser.newContext({
    baseURL: NODES[0].url,
    viewport: VIEWPORT,
    ...(VIDEO ? { recordVideo: { dir: videoDir, size: VIEWPORT } } : {}),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  s = new Session(context, page, { name: 'failed', artifacts: OUT });
  dash = new Dashboard(s);
  admin = await Api.login(NODES[0], 'admin', readFileSync(process.env.DEMO_PASSWORD_FILE, 'utf8').trim());
  let rc = 0;
  try {
    await story();
  } catch (e) {
    const plain = String(e.message).replace(/\x1b\[[0-9;]*m/g, '').split(/\n\s*Browser logs:/)[0];
    console.error(`demo: FAILED ${plain.split('\n').slice(0, 8).join('\n      ')}`);
    for (const f of e.artifacts ?? []) console.error(`      artifact: ${f}`);
    rc = 1;
  }
  const video = VIDEO ? page.video() : null;
  await context.close();
  if (video) {
    const target = path.join(OUT, rc ? 'failed.webm' : 'demo.webm');
    await video.saveAs(target);
    rmSync(videoDir, { recursive: true, force: true });
    log(`video: ${target}`);
  }
  for (const st of steps) log(`  ${st.s.toFixed(1).padStart(6)} s  ${st.title}`);
  log(rc ? 'the story failed' : `the story passed in ${elapsed(t0)}`);
  return rc;
}

process.exitCode = await main().finally(() => cleanup());
