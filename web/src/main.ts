// The app's wiring: one session, one store, one socket, one map, and the page of the current route. Modules announce
// what happened (events.ts) and this file decides who reacts, so none of them imports another's internals.
// Vendor styles first: ours (styles.css) come later in the bundle and win where both style an element.
import 'leaflet/dist/leaflet.css';
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { AlarmBook } from './alarmModel';
import { Api } from './api';
import { Session } from './auth';
import { CommandBook } from './commandModel';
import type { AppContext } from './context';
import { byId, h } from './dom';
import { describeError, SessionEndedError } from './errors';
import { Emitter } from './events';
import { FrameLoop } from './frame';
import { Header } from './header';
import { LeaseBook } from './leases';
import { LiveConnection } from './live';
import { LoginForm } from './login';
import { FleetMap } from './map/map';
import { MissionBook } from './missionModel';
import { Notices } from './notices';
import { NotFoundPage, routes } from './pages';
import { Recorder } from './recorder';
import { Router, type Match, type Page, type RouteDef } from './router';
import { SessionData } from './sessionData';
import { RxStats } from './stats';
import { DroneStore } from './store';

const notices = new Notices();
const reportError = (e: unknown): void => {
  if (e instanceof SessionEndedError) return;
  console.error(e);
  notices.add(`internal error: ${describeError(e)}`, 'error', 'app');
};
// An error anywhere becomes a notice; the page stays as it is (never a blank screen).
window.addEventListener('error', (ev) => reportError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => reportError(ev.reason));

const frames = new FrameLoop(reportError);
const session = new Session();
const api = new Api(session);
const store = new DroneStore();
const stats = new RxStats();
const tick = new Emitter();
const reconnected = new Emitter();
const defs: RouteDef[] = [];
const ctx: AppContext = {
  session,
  api,
  store,
  frames,
  map: new FleetMap(byId('map'), store, () => frames.request(), (text) => notices.add(text, 'warning', 'app')),
  commands: new CommandBook(),
  leases: new LeaseBook(),
  alarms: new AlarmBook(),
  missions: new MissionBook(),
  notices,
  router: new Router(defs, showRoute),
  recorder: new Recorder(),
  tick,
  reconnected,
};
defs.push(...routes(ctx));

const live = new LiveConnection(session, api, store, stats);
const header = new Header(session, store, ctx.alarms, stats);
const login = new LoginForm(session);
const data = new SessionData(ctx);
const appRoot = byId('app');
const mainEl = byId('main');
const panel = byId('panel');
let page: Page | null = null;

// ---- the page of the route

function showRoute(m: Match | null): void {
  header.markActive();
  if (!session.loggedIn) return; // the login form is shown; the route opens after it
  closePage();
  const role = session.user?.role;
  // Until /auth/me answered the role is unknown: a role-restricted page waits for it (the user change calls back).
  if (m?.def.allowed && (role === undefined || !m.def.allowed(role))) {
    mainEl.className = 'layout-full';
    if (role !== undefined) panel.append(h('p', { class: 'page error', text: 'Your role may not open this page.' }));
    return;
  }
  try {
    page = m ? m.def.create(m.params) : new NotFoundPage();
    mainEl.className = `layout-${page.layout}`;
    page.mount(panel);
  } catch (e) {
    reportError(e);
    panel.replaceChildren(h('p', { class: 'page error', text: `This page failed to open: ${describeError(e)}` }));
  }
  if (page?.layout !== 'full') ctx.map.map.invalidateSize({ pan: false });
  frames.request();
}

function closePage(): void {
  if (page) {
    try {
      page.unmount();
    } catch (e) {
      reportError(e);
    }
  }
  page = null;
  panel.replaceChildren();
}

// ---- session

session.began.on(() => {
  login.hide();
  appRoot.hidden = false;
  data.began();
  live.start();
  header.renderNav(ctx.router.routes);
  ctx.router.resolve();
});

session.renewed.on((token) => {
  notices.clearTopic('session'); // a renewal trouble is over
  live.sendAuth(token);
  void data.syncUser();
});

let roleSeen: string | undefined;
session.changed.on(() => {
  header.renderWho();
  const role = session.user?.role;
  if (role !== roleSeen) {
    const before = roleSeen;
    roleSeen = role;
    header.renderNav(ctx.router.routes);
    // A role that changed makes the page again with its permissions; a role that became known opens a page that
    // waited for it (role-restricted). The pages' own controls follow the user at every frame anyway.
    if (session.loggedIn && role !== undefined && (before !== undefined || page === null)) ctx.router.resolve();
  }
  frames.request();
});

session.ended.on((message) => {
  live.stop();
  wasLive = false;
  closePage();
  store.reset();
  ctx.commands.clear();
  ctx.leases.clear();
  ctx.alarms.clear();
  ctx.missions.clear();
  ctx.recorder.clear();
  ctx.map.setGeofences([]);
  notices.clear();
  appRoot.hidden = true;
  login.show(message);
});

session.trouble.on((text) => notices.add(text, 'warning', 'session'));

// ---- socket

live.stateChanged.on((s) => {
  header.renderConn(s);
  // What the table and the map show is the last known state while the socket is down: greyed (styles.css).
  document.body.classList.toggle('offline', s.phase !== 'live');
});
let wasLive = false;
live.live.on(() => {
  notices.clearTopic('connection'); // the problem is over
  data.live();
  if (wasLive) reconnected.emit();
  wasLive = true;
});
live.trouble.on(({ text, level, topic }) => notices.add(text, level, topic));
live.commands.on((c) => ctx.commands.apply(c));
live.controls.on((c) => ctx.leases.set(c));
live.alarms.on((a) => ctx.alarms.apply(a));
live.missions.on((m) => ctx.missions.apply(m));

store.changed.on(() => frames.request());
store.received.on((d) => ctx.recorder.record(d));
for (const book of [ctx.commands, ctx.leases, ctx.alarms, ctx.missions]) book.changed.on(() => frames.request());

frames.add(() => {
  header.render();
  ctx.map.render();
});

// ---- clocks and the browser

setInterval(() => {
  stats.roll(live.phase === 'live');
  header.renderStats();
  live.tick();
  session.renewIfDue();
  login.tick();
  data.tick();
  tick.emit();
  frames.request();
}, 1000);

window.addEventListener('online', () => live.reconnectNow());
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  session.renewIfDue(); // timers of a background tab may have run late
  live.reconnectNow();
});

// ---- start: a reload goes on with the stored session, else the login form

if (!location.host) {
  login.show('Open this page from the node (http://host:port/), not from a file.');
} else {
  void session.restore().then((message) => {
    if (message !== null) login.show(message);
  });
}
