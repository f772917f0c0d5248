// The one Leaflet map of the app, shared by the pages that show it (fleet, drone detail): the offline base, the
// drones, the geofences, a replayed track, a picked goto target, and its controls (fit to fleet, follow, legend).
import * as L from 'leaflet';
import { button, h, setText } from '../dom';
import { Emitter } from '../events';
import { coord, isNum } from '../format';
import type { DroneStore } from '../store';
import type { Geofence, WebConfig } from '../types';
import { BaseMap } from './basemap';
import { DroneLayer, LOW_BATTERY } from './droneLayer';
import { geofenceLayer } from './geofences';

const START_VIEW: L.LatLngExpression = [30, 0];
const FIT_MAX_ZOOM = 16;

/** A track shown on the map for replay; remove() takes it off. */
export interface TrackOverlay {
  moveMarker(lat: number, lon: number): void;
  remove(): void;
}

/** Builds a Leaflet control from a DOM element (content made with textContent: never Leaflet's HTML strings). */
function control(position: L.ControlPosition, content: HTMLElement): L.Control {
  const Ctl = L.Control.extend({
    onAdd: () => {
      L.DomEvent.disableClickPropagation(content);
      L.DomEvent.disableScrollPropagation(content);
      return content;
    },
  });
  return new Ctl({ position });
}

export class FleetMap {
  readonly map: L.Map;
  readonly drones: DroneLayer;
  /** A drone was clicked (not while a point is being picked). */
  readonly droneClicked = new Emitter<string>();

  private readonly base: BaseMap;
  private readonly fences = L.layerGroup();
  private fenceList: readonly Geofence[] = [];
  private hiddenFence: string | null = null;
  private following = false;
  private followedAt: [number, number] | null = null;
  private clickHandler: ((lat: number, lon: number) => void) | null = null;
  private picking: { pick: (lat: number, lon: number) => void; cancel: () => void } | null = null;
  private target: L.CircleMarker | null = null;
  private readonly followButton: HTMLButtonElement;
  private readonly inView = h('span', { class: 'muted' });
  private readonly cursor = h('span', { class: 'muted' });
  private readonly attribution = h('span');
  private fitted = false; // the view was fitted to the fleet once, or chosen otherwise

  constructor(
    container: HTMLElement,
    private readonly store: DroneStore,
    requestFrame: () => void,
    onTrouble: (text: string) => void,
  ) {
    this.map = L.map(container, {
      center: START_VIEW,
      zoom: 2,
      minZoom: 1,
      maxZoom: 20,
      attributionControl: false, // Leaflet's renders HTML; ours (the legend's last line) renders text
    });
    this.base = new BaseMap(this.map, this.attribution, onTrouble);
    this.fences.addTo(this.map);
    this.drones = new DroneLayer(store, requestFrame).addTo(this.map);
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(this.map);

    this.followButton = button('Follow', { testid: 'map-follow', title: 'keep the selected drone in the middle', attrs: { 'aria-pressed': 'false' } }, () =>
      this.setFollow(!this.following),
    );
    const fit = button('Fit fleet', { testid: 'map-fit', title: 'zoom to every drone with a position' }, () => this.fitFleet());
    control('topright', h('div', { class: 'map-buttons' }, [fit, this.followButton])).addTo(this.map);
    control('bottomright', this.legend()).addTo(this.map);
    control('bottomleft', h('div', { class: 'map-info' }, [this.inView, ' ', this.cursor])).addTo(this.map);

    this.map.on('click', (ev: L.LeafletMouseEvent) => this.onClick(ev));
    this.map.on('dragstart', () => this.setFollow(false)); // the user takes over the view
    this.map.on('mousemove', (ev: L.LeafletMouseEvent) => setText(this.cursor, `${coord(ev.latlng.lat)}, ${coord(ev.latlng.lng)}`));
    this.map.on('mouseout', () => setText(this.cursor, ''));
    container.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.cancelPick();
    });
    new ResizeObserver(() => this.map.invalidateSize({ pan: false })).observe(container);
    this.setTiles(null);
  }

  /** Once per animation frame: follow the selected drone, then draw the drones if anything changed. */
  render(): void {
    if (!this.fitted && this.store.entries.size > 0 && this.fitFleet()) this.fitted = true;
    if (this.following && this.drones.selected) {
      const d = this.store.get(this.drones.selected)?.drone;
      if (d && isNum(d.lat) && isNum(d.lon) && (this.followedAt?.[0] !== d.lat || this.followedAt?.[1] !== d.lon)) {
        this.followedAt = [d.lat, d.lon];
        this.map.setView([d.lat, d.lon], this.map.getZoom(), { animate: false });
      }
    }
    this.drones.render();
    setText(this.inView, `${this.drones.inView} in view${this.drones.dense ? ' · zoom in for headings' : ''}`);
  }

  /** The drone of the detail page (ring and label, the one Follow follows), or null. */
  select(id: string | null): void {
    this.drones.selected = id;
    this.followButton.disabled = id === null;
    if (id === null) this.setFollow(false);
  }

  setTiles(config: WebConfig | null): void {
    this.base.setTiles(config);
  }

  setGeofences(list: readonly Geofence[]): void {
    this.fenceList = list;
    this.fences.clearLayers();
    for (const g of list) if (g.id !== this.hiddenFence) geofenceLayer(g)?.addTo(this.fences);
  }

  /** Leaves one fence out (the one the geofence editor draws itself), or none; kept across setGeofences. */
  hideGeofence(id: string | null): void {
    if (id === this.hiddenFence) return;
    this.hiddenFence = id;
    this.setGeofences(this.fenceList);
  }

  /** Zooms to every drone with a position; false when there is none. */
  fitFleet(): boolean {
    let bounds: L.LatLngBounds | null = null;
    for (const { drone: d } of this.store.entries.values()) {
      if (!isNum(d.lat) || !isNum(d.lon)) continue;
      if (bounds) bounds.extend([d.lat, d.lon]);
      else bounds = L.latLngBounds([d.lat, d.lon], [d.lat, d.lon]);
    }
    if (!bounds) return false;
    this.setFollow(false);
    this.map.fitBounds(bounds.pad(0.1), { maxZoom: FIT_MAX_ZOOM, animate: false });
    return true;
  }

  /** Shows a place (and no longer fits the fleet by itself: the view was chosen). */
  centerOn(lat: number, lon: number, minZoom = 14): void {
    this.fitted = true;
    this.map.setView([lat, lon], Math.max(this.map.getZoom(), minZoom), { animate: false });
  }

  setFollow(on: boolean): void {
    this.following = on && this.drones.selected !== null;
    this.followedAt = null;
    this.followButton.classList.toggle('on', this.following);
    this.followButton.setAttribute('aria-pressed', String(this.following));
  }

  /** The next click on the map gives a point (goto target) instead of picking a drone; Escape cancels. */
  pickPoint(pick: (lat: number, lon: number) => void, cancel: () => void): void {
    this.cancelPick();
    this.picking = { pick, cancel };
    this.map.getContainer().classList.add('picking');
    this.map.getContainer().focus();
  }

  cancelPick(): void {
    const picking = this.picking;
    this.endPick();
    picking?.cancel();
  }

  private endPick(): void {
    this.picking = null;
    this.map.getContainer().classList.remove('picking');
  }

  /**
   * While set, a click on the map (not on a marker) gives its point to `fn` instead of picking a drone: the mission
   * planner's waypoints, the geofence editor's vertices. null gives clicks back to the drones. The container gets the
   * class `editing` (a crosshair cursor).
   */
  setClickHandler(fn: ((lat: number, lon: number) => void) | null): void {
    this.clickHandler = fn;
    this.map.getContainer().classList.toggle('editing', fn !== null);
  }

  /** A marker for a command's target point, or none. */
  showTarget(lat: number | null, lon: number | null): void {
    this.target?.remove();
    this.target = null;
    if (lat === null || lon === null) return;
    this.target = L.circleMarker([lat, lon], { radius: 8, color: '#58a6ff', weight: 2, fillOpacity: 0.15, interactive: false }).addTo(this.map);
  }

  /** A track to replay; the view moves to it (and stops following). */
  showTrack(points: readonly L.LatLngTuple[]): TrackOverlay {
    this.setFollow(false);
    const line = L.polyline([...points], { color: '#a371f7', weight: 3, opacity: 0.9, interactive: false }).addTo(this.map);
    const first = points[0] ?? [0, 0];
    const marker = L.circleMarker(first, { radius: 7, color: '#ffffff', weight: 2, fillColor: '#a371f7', fillOpacity: 1, interactive: false }).addTo(
      this.map,
    );
    if (points.length > 0) this.map.fitBounds(line.getBounds().pad(0.15), { maxZoom: 17, animate: false });
    return {
      moveMarker: (lat, lon) => marker.setLatLng([lat, lon]),
      remove: () => {
        line.remove();
        marker.remove();
      },
    };
  }

  private onClick(ev: L.LeafletMouseEvent): void {
    if (this.picking) {
      const { pick } = this.picking;
      this.endPick();
      pick(ev.latlng.lat, ev.latlng.lng);
      return;
    }
    if (this.clickHandler) {
      this.clickHandler(ev.latlng.lat, ev.latlng.lng);
      return;
    }
    const id = this.drones.pick(ev.containerPoint);
    if (id) this.droneClicked.emit(id);
  }

  private legend(): HTMLElement {
    const item = (cls: string, text: string): HTMLElement => h('span', { class: 'legend-item' }, [h('i', { class: `sw ${cls}` }), text]);
    return h('div', { class: 'map-legend', testid: 'map-legend' }, [
      item('sw-online', 'online'),
      item('sw-stale', 'stale'),
      item('sw-lost', 'lost'),
      item('sw-lowbat', `battery < ${LOW_BATTERY} %`),
      h('div', { class: 'attribution' }, [this.attribution]),
    ]);
  }
}
