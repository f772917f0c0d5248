// Hash routes (#/fleet, #/drone/<id>, #/alarms, …): the page is in the URL, so a reload or a shared link opens it
// again, and the node serves one index.html for all of them. Pages are registered in pages.ts (web/README.md, "Adding
// a page").

/** How a page shares the screen with the map. */
export type Layout =
  | 'map-top' // the map above the page's panel (fleet)
  | 'map-side' // the map beside the page's panel (drone detail)
  | 'full'; // no map

export interface Page {
  readonly layout: Layout;
  /** Builds the page into `panel` (emptied before). Called once per visit. */
  mount(panel: HTMLElement): void;
  /** Stops what the page started (frame tasks, listeners, map overlays). */
  unmount(): void;
}

export interface RouteDef {
  /** Path segments after "#/"; ":name" matches one segment, given to create() decoded. */
  path: string;
  /** The navigation link's text, or undefined for routes reached from elsewhere (the drone detail). */
  nav?: string;
  /** Whether the current user may open it (hidden from the navigation otherwise). */
  allowed?: (role: string) => boolean;
  create(params: Readonly<Record<string, string>>): Page;
}

export interface Match {
  def: RouteDef;
  params: Record<string, string>;
}

const DEFAULT_PATH = 'fleet';

/** The route for a location hash ("#/drone/sim-00001"), or null when none matches. */
export function matchRoute(defs: readonly RouteDef[], hash: string): Match | null {
  const path = hash.replace(/^#\/?/, '').replace(/\/+$/, '');
  const parts = (path === '' ? DEFAULT_PATH : path).split('/');
  for (const def of defs) {
    const pattern = def.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i++) {
      const want = pattern[i]!;
      const got = parts[i]!;
      if (want.startsWith(':')) {
        try {
          params[want.slice(1)] = decodeURIComponent(got);
        } catch {
          ok = false; // a malformed %-escape matches nothing
        }
        ok &&= got !== '';
      } else {
        ok = want === got;
      }
    }
    if (ok) return { def, params };
  }
  return null;
}

/** The hash of a route path and its parameters, e.g. href('drone', 'sim 1') → "#/drone/sim%201". */
export function href(...segments: string[]): string {
  return `#/${segments.map(encodeURIComponent).join('/')}`;
}

export class Router {
  constructor(
    private readonly defs: readonly RouteDef[],
    private readonly onRoute: (m: Match | null) => void,
  ) {
    window.addEventListener('hashchange', () => this.resolve());
  }

  get routes(): readonly RouteDef[] {
    return this.defs;
  }

  resolve(): void {
    this.onRoute(matchRoute(this.defs, location.hash));
  }

  go(hash: string): void {
    if (location.hash === hash) this.resolve();
    else location.hash = hash;
  }
}
