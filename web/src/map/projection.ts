// Web Mercator (EPSG:3857) as Leaflet projects it, inlined for the drone layer: projecting 10,000 positions per
// animation frame through map.latLngToContainerPoint allocates two objects per drone; this allocates none.

/** Leaflet's L.Projection.SphericalMercator.MAX_LATITUDE. */
const MAX_LATITUDE = 85.0511287798;
const D2R = Math.PI / 180;

/** World pixel x of a longitude at a world size of `world` pixels (256 · 2^zoom). */
export function mercatorX(lon: number, world: number): number {
  return ((lon + 180) / 360) * world;
}

/** World pixel y of a latitude (clamped to the projection's limit), y growing southwards. */
export function mercatorY(lat: number, world: number): number {
  const s = Math.sin(Math.max(-MAX_LATITUDE, Math.min(MAX_LATITUDE, lat)) * D2R);
  return (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * world;
}
