// A geofence (docs/protocol.md, "Geofences") as a map polygon: inclusion fences outlined in blue (stay inside),
// exclusion fences filled in red (keep out), with a tooltip of its name, altitudes and action. An inclusion fence
// has no fill, so that its tooltip shows on its outline only, not wherever the mouse is on the site it encloses.
import * as L from 'leaflet';
import { h } from '../dom';
import { isNum } from '../format';
import type { Geofence } from '../types';

export function geofenceLayer(g: Geofence): L.Polygon | null {
  const ring = g.polygon?.coordinates?.[0];
  if (!Array.isArray(ring) || ring.length < 4) return null;
  const latlngs: L.LatLngTuple[] = [];
  for (const p of ring) if (isNum(p[0]) && isNum(p[1])) latlngs.push([p[1], p[0]]); // GeoJSON is [lon, lat]
  const exclusion = g.kind === 'exclusion';
  const poly = L.polygon(latlngs, {
    color: exclusion ? '#f85149' : '#58a6ff',
    weight: 2,
    dashArray: exclusion ? undefined : '6 4',
    fill: exclusion,
    fillOpacity: 0.18,
  });
  const floor = isNum(g.floor) ? `${g.floor} m` : 'ground';
  const ceiling = isNum(g.ceiling) ? `${g.ceiling} m` : 'unbounded';
  // An element, not a string: Leaflet puts string tooltips in as HTML.
  poly.bindTooltip(
    h('div', { class: 'fence-tip' }, [
      h('b', { text: g.name }),
      h('div', { text: `${g.kind} · group ${g.group}` }),
      h('div', { text: `${floor} … ${ceiling} · on breach: ${g.action ?? 'alert'}` }),
    ]),
    { sticky: true },
  );
  return poly;
}
