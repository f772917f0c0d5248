// #/fleet: the map above the fleet table. A click on a drone (map or table) opens its detail.
import type { AppContext } from '../context';
import { href, type Page } from '../router';
import { FleetTable } from '../table';

export class FleetPage implements Page {
  readonly layout = 'map-top';
  private readonly stops: (() => void)[] = [];

  constructor(private readonly ctx: AppContext) {}

  mount(panel: HTMLElement): void {
    const table = new FleetTable(this.ctx);
    panel.append(table.root);
    this.ctx.map.select(null);
    this.stops.push(
      this.ctx.frames.add((now) => table.render(now)),
      table.filterChanged.on((predicate) => this.ctx.map.drones.setHighlight(predicate)),
      this.ctx.map.droneClicked.on((id) => this.ctx.router.go(href('drone', id))),
      this.ctx.tick.on(() => table.touch()),
      () => table.destroy(),
    );
  }

  unmount(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.ctx.map.drones.setHighlight(null);
  }
}
