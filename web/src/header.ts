// The header: navigation (with the active-alarm badge), the socket's state told truthfully, the fleet counters, and
// who is logged in. While the socket is not live the counters are greyed (they are the last known values) and the
// receive rates are cleared.
import type { AlarmBook } from './alarmModel';
import type { Session } from './auth';
import { byId, h, setClass, setText } from './dom';
import type { ConnState } from './live';
import type { RouteDef } from './router';
import type { RxStats } from './stats';
import type { DroneStore } from './store';

const KNOWN_ROLES = new Set(['admin', 'operator', 'viewer', 'analytics']);

export class Header {
  private readonly conn = byId('conn');
  private readonly counters = byId('counters');
  private readonly total = byId('n-total');
  private readonly online = byId('n-online');
  private readonly stale = byId('n-stale');
  private readonly lost = byId('n-lost');
  private readonly latency = byId('latency');
  private readonly rate = byId('rate');
  private readonly nav = byId('nav');
  private readonly whoName = byId('who-name');
  private readonly whoRole = byId('who-role');
  private readonly whoGroups = byId('who-groups');
  private readonly who = byId('who');
  private readonly alarmBadges: HTMLElement[] = [];
  private links: { path: string; a: HTMLAnchorElement }[] = [];
  private versionSeen = -1;
  private alarmsSeen = -1;
  private live = false;

  constructor(
    private readonly session: Session,
    private readonly store: DroneStore,
    private readonly alarms: AlarmBook,
    private readonly stats: RxStats,
  ) {
    byId('logout').addEventListener('click', () => session.logout());
  }

  /** The navigation for the user's role; call again when the role changes. */
  renderNav(routes: readonly RouteDef[]): void {
    const role = this.session.user?.role ?? '';
    this.alarmBadges.length = 0;
    this.links = routes
      .filter((r) => r.nav && (!r.allowed || r.allowed(role)))
      .map((r) => {
        const a = h('a', { text: r.nav!, attrs: { href: `#/${r.path}` }, testid: `nav-${r.path.replace(/\//g, '-')}` });
        if (r.path === 'alarms') {
          const badge = h('span', { class: 'badge-count', testid: 'alarm-badge', hidden: true });
          this.alarmBadges.push(badge);
          a.append(badge);
        }
        return { path: r.path, a };
      });
    this.nav.replaceChildren(...this.links.map((l) => l.a));
    this.alarmsSeen = -1;
    this.markActive();
  }

  /** Marks the link of the page shown (by the hash's first segment). */
  markActive(): void {
    const first = location.hash.replace(/^#\/?/, '').split('/')[0] || 'fleet';
    for (const { path, a } of this.links) a.classList.toggle('active', path.split('/')[0] === first);
  }

  renderWho(): void {
    const u = this.session.user;
    this.who.hidden = !this.session.loggedIn;
    setText(this.whoName, u?.name ?? '…');
    const role = u?.role ?? '';
    setText(this.whoRole, role || '?');
    setClass(this.whoRole, `role ${KNOWN_ROLES.has(role) ? role : ''}`);
    const groups = u?.groups ?? [];
    setText(this.whoGroups, groups.length ? `groups: ${groups.join(', ')}` : 'no groups');
    const ends = this.session.loginEndsAt;
    this.who.title = u
      ? `${u.name} · ${role || 'unknown role'} · ${groups.length ? groups.join(', ') : 'no groups'}` +
        (ends !== null ? `\nthe login ends ${new Date(ends * 1000).toLocaleString()}` : '')
      : '';
  }

  renderConn(state: ConnState): void {
    this.live = state.phase === 'live';
    setText(this.conn, state.text);
    setClass(this.conn, `conn ${state.phase}`);
    this.conn.dataset.state = state.phase;
    this.conn.title = state.title;
    this.counters.classList.toggle('stale-data', !this.live);
    if (!this.live) this.renderStats();
  }

  /** Once a second, after the statistics rolled over. */
  renderStats(): void {
    setText(this.latency, this.live ? this.stats.latency : '–');
    setText(this.rate, this.live ? this.stats.rate : '–');
  }

  /** Once per animation frame. */
  render(): void {
    if (this.store.version !== this.versionSeen) {
      this.versionSeen = this.store.version;
      const c = this.store.counts();
      setText(this.total, String(c.total));
      setText(this.online, String(c.online));
      setText(this.stale, String(c.stale));
      setText(this.lost, String(c.lost));
    }
    if (this.alarms.version !== this.alarmsSeen) {
      this.alarmsSeen = this.alarms.version;
      const { active, critical } = this.alarms.activeCounts();
      for (const b of this.alarmBadges) {
        b.hidden = active === 0;
        setText(b, String(active));
        b.classList.toggle('critical', critical > 0);
        b.title = `${active} active alarm${active === 1 ? '' : 's'}${critical ? `, ${critical} critical` : ''}`;
      }
    }
  }
}
