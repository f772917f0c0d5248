// The base map that always works offline: land and borders from Natural Earth (npm world-atlas, bundled as a lazily
// loaded chunk), a graticule, and, when the node names a tile server (GET /api/v1/config/web), its tiles above them.
import * as L from 'leaflet';
import { feature, mesh } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { WebConfig } from '../types';
import { setText } from '../dom';
import { graticuleLines, graticuleStep } from './graticule';

const BASE_PANE = 'base';
/** Tiles failing in a row, none loaded, after which the tile server counts as unreachable (an offline site). */
const GIVE_UP_AFTER = 8;
const OFFLINE_ATTRIBUTION = 'Natural Earth';

export class BaseMap {
  private readonly renderer: L.Canvas;
  private readonly graticule: L.LayerGroup;
  private tiles: L.TileLayer | null = null;

  /** `attribution`: where the map's sources are credited (text); `onTileTrouble`: a notice. */
  constructor(
    private readonly map: L.Map,
    private readonly attribution: HTMLElement,
    private readonly onTileTrouble: (text: string) => void,
  ) {
    // Below the tile pane (200): tiles, when there are any, cover it; where they fail to load it shows through.
    map.createPane(BASE_PANE).style.zIndex = '150';
    this.renderer = L.canvas({ pane: BASE_PANE, padding: 0.5 });
    this.graticule = L.layerGroup([], { pane: BASE_PANE }).addTo(map);
    map.on('moveend', () => this.drawGraticule());
    this.drawGraticule();
    void this.loadLand();
  }

  /** Tiles above the offline layers, or none (tile_url ""). */
  setTiles(config: WebConfig | null): void {
    this.tiles?.remove();
    this.tiles = null;
    setText(this.attribution, OFFLINE_ATTRIBUTION);
    if (!config || typeof config.tile_url !== 'string' || config.tile_url === '') return;
    const maxNative = Number.isFinite(config.tile_max_zoom) ? config.tile_max_zoom : 19;
    let loaded = 0;
    let failed = 0;
    let reported = false;
    const tiles = L.tileLayer(config.tile_url, {
      maxNativeZoom: maxNative,
      maxZoom: this.map.getMaxZoom(),
      // The node's pages go out with Referrer-Policy: no-referrer, but public tile servers ask for a Referer
      // (OpenStreetMap's tile usage policy may block requests without one): the tiles send the origin, nothing more.
      referrerPolicy: 'strict-origin',
    })
      .on('tileload', () => loaded++)
      .on('tileerror', () => {
        if (this.tiles !== tiles) return; // replaced or given up meanwhile
        failed++;
        if (loaded === 0 && failed >= GIVE_UP_AFTER) {
          // Nothing ever came: stop asking (each try costs a request and a console error) and stay offline.
          tiles.remove();
          this.tiles = null;
          setText(this.attribution, OFFLINE_ATTRIBUTION);
          this.onTileTrouble('the map tile server does not answer: the map shows its offline base (reload the page to try again)');
        } else if (loaded > 0 && !reported) {
          reported = true; // once: the offline base shows beneath the missing tiles
          this.onTileTrouble('some map tiles did not load; the offline map is shown where they are missing');
        }
      })
      .addTo(this.map);
    this.tiles = tiles;
    setText(this.attribution, config.tile_attribution ? `${config.tile_attribution} · ${OFFLINE_ATTRIBUTION}` : OFFLINE_ATTRIBUTION);
  }

  private drawGraticule(): void {
    const b = this.map.getBounds();
    const span = b.getEast() - b.getWest();
    const step = graticuleStep(span);
    const lines = graticuleLines(
      { south: b.getSouth() - step, west: b.getWest() - step, north: b.getNorth() + step, east: b.getEast() + step },
      step,
    );
    this.graticule.clearLayers();
    for (const line of lines) {
      L.polyline(line, { renderer: this.renderer, pane: BASE_PANE, interactive: false, color: '#30445a', weight: 1 }).addTo(this.graticule);
    }
  }

  private async loadLand(): Promise<void> {
    const { default: topo } = (await import('world-atlas/countries-50m.json')) as unknown as { default: Topology };
    const land = topo.objects.land as GeometryCollection;
    const countries = topo.objects.countries as GeometryCollection;
    // L.geoJSON hands its own options to the layers it makes: that is how they get the base pane's renderer.
    const options = (style: L.PathOptions): L.GeoJSONOptions =>
      ({ pane: BASE_PANE, renderer: this.renderer, interactive: false, style }) as L.GeoJSONOptions;
    L.geoJSON(feature(topo, land), options({ stroke: false, fillColor: '#1f2a36', fillOpacity: 1 })).addTo(this.map);
    L.geoJSON(mesh(topo, countries, (a, b) => a !== b), options({ color: '#4a5a6b', weight: 1, fill: false })).addTo(this.map);
    // Land covers the graticule drawn before it arrived: draw the lines again on top.
    this.graticule.remove().addTo(this.map);
  }
}
