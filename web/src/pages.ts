// The app's pages by route. To add one (web/README.md, "Adding a page"): write a class implementing Page (router.ts)
// in pages/ or beside its module, add its route here with a nav label (and `allowed` when only some roles may open
// it), and add the REST calls it needs to api.ts.
import { AlarmsPage } from './alarms';
import { AdminPage } from './pages/adminPage';
import { AnalyticsPage } from './pages/analyticsPage';
import type { AppContext } from './context';
import { h } from './dom';
import { DronePage } from './pages/dronePage';
import { FleetPage } from './pages/fleetPage';
import { GeofencesPage } from './pages/geofencesPage';
import { MissionsPage } from './pages/missionsPage';
import { canReadAnalytics } from './permissions';
import { href, type Page, type RouteDef } from './router';

const isAdmin = (role: string): boolean => role === 'admin';
const readsAnalytics = (role: string): boolean => canReadAnalytics({ role });

export function routes(ctx: AppContext): RouteDef[] {
  return [
    { path: 'fleet', nav: 'Fleet', create: () => new FleetPage(ctx) },
    { path: 'drone/:id', create: (p) => new DronePage(ctx, p.id!) },
    { path: 'alarms', nav: 'Alarms', create: () => new AlarmsPage(ctx) },
    { path: 'missions', nav: 'Missions', create: () => new MissionsPage(ctx) },
    { path: 'geofences', nav: 'Geofences', create: () => new GeofencesPage(ctx) },
    { path: 'analytics', nav: 'Analytics', allowed: readsAnalytics, create: () => new AnalyticsPage(ctx) },
    { path: 'admin', nav: 'Admin', allowed: isAdmin, create: () => new AdminPage(ctx, 'users') },
    { path: 'admin/registry', allowed: isAdmin, create: () => new AdminPage(ctx, 'registry') },
    { path: 'admin/audit', allowed: isAdmin, create: () => new AdminPage(ctx, 'audit') },
    { path: 'admin/cluster', allowed: isAdmin, create: () => new AdminPage(ctx, 'cluster') },
  ];
}

/** What an unknown hash shows (a mistyped or outdated link), instead of an empty screen. */
export class NotFoundPage implements Page {
  readonly layout = 'full';

  mount(panel: HTMLElement): void {
    panel.append(
      h('section', { class: 'page', testid: 'not-found' }, [
        h('h2', { text: 'No such page' }),
        h('p', { text: `Nothing is at ${location.hash}.` }),
        h('a', { text: 'Go to the fleet', attrs: { href: href('fleet') } }),
      ]),
    );
  }

  unmount(): void {}
}
