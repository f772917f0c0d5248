// What the session reads over REST beside the socket: who the user is (after every token renewal: the role and
// groups may change), the map's tile server, the registry's drone list (names; registered drones not live), the open
// alarms and the geofences. Lists are read again after every reconnect (the socket may have missed changes) and every
// few minutes (geofences and registry changes have no frame).
import { allPages } from './api';
import { loadOpenAlarms } from './alarms';
import type { AppContext } from './context';
import { describeError, SessionEndedError } from './errors';
import type { Geofence, RestDrone } from './types';

const REFRESH_EVERY_S = 300;
/**
 * A reconnect reads the drone list and the geofences again only when they are older than this (a flapping link must
 * not fetch 10,000 drones each time); the open alarms, a short list, are read at every reconnect.
 */
const MIN_RELOAD_MS = 60000;
const DRONE_PAGE = 10000;
const MAX_DRONES = 100000;
const MAX_FENCES = 10000;

export class SessionData {
  private listsAt = 0;
  private seconds = 0;
  private meRunning = -1; // session generation of the running /auth/me loop
  private meAgain = false;

  constructor(private readonly ctx: AppContext) {}

  /** A new session: the tile server, once. */
  began(): void {
    this.listsAt = 0;
    this.seconds = 0;
    this.ctx.api.webConfig().then(
      (config) => this.ctx.map.setTiles(config),
      (e: unknown) => this.report('cannot read the map configuration; the map stays offline', e),
    );
  }

  /** The socket is live (again): the open alarms, and the other lists unless read a moment ago. */
  live(): void {
    this.reloadAlarms();
    if (Date.now() - this.listsAt >= MIN_RELOAD_MS) this.reloadLists();
  }

  /** Once a second. */
  tick(): void {
    if (!this.ctx.session.loggedIn) return;
    if (++this.seconds % REFRESH_EVERY_S === 0) {
      this.reloadAlarms();
      this.reloadLists();
    }
  }

  /** Reads GET /auth/me after every new access token; a renewal during the read asks for one more. */
  async syncUser(): Promise<void> {
    const { session, api } = this.ctx;
    if (this.meRunning === session.current) {
      this.meAgain = true;
      return;
    }
    const generation = session.current;
    this.meRunning = generation;
    try {
      do {
        this.meAgain = false;
        const me = await api.me();
        if (me && typeof me.name === 'string') {
          session.setUser({ name: me.name, role: String(me.role ?? ''), groups: Array.isArray(me.groups) ? me.groups.filter((g) => typeof g === 'string') : [] });
        }
      } while (this.meAgain && generation === session.current);
    } catch (e) {
      this.report('cannot read the logged-in user', e);
    } finally {
      if (this.meRunning === generation) this.meRunning = -1;
    }
  }

  private reloadLists(): void {
    const { api, store, map } = this.ctx;
    this.listsAt = Date.now();
    allPages<RestDrone>(async (cursor) => {
      const page = await api.drones(DRONE_PAGE, cursor);
      return { items: page.drones ?? [], next: page.next_cursor };
    }, MAX_DRONES).then(
      (list) => store.setRestList(list),
      (e: unknown) => this.report('cannot read the drone registry', e),
    );
    allPages<Geofence>(async (after) => {
      const page = await api.geofences(1000, after);
      return { items: page.geofences ?? [], next: page.next_cursor };
    }, MAX_FENCES).then(
      (fences) => map.setGeofences(fences),
      (e: unknown) => this.report('cannot read the geofences', e),
    );
  }

  private reloadAlarms(): void {
    loadOpenAlarms(this.ctx).catch((e: unknown) => this.report('cannot read the open alarms', e));
  }

  private report(what: string, e: unknown): void {
    if (e instanceof SessionEndedError) return;
    this.ctx.notices.add(`${what}: ${describeError(e)}`, 'warning', 'app');
  }
}
