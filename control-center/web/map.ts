/**
 * The map of every site, with Leaflet. The base map shipped with the project is a plain background
 * with a graticule every degree (every 0.1° when zoomed in) drawn on the sites' own canvas: no
 * tiles and no second canvas (an earlier canvas tile layer and a Leaflet canvas renderer for the
 * graticule each cost more of the first paint with 1,000 sites than the sites themselves), so the
 * map works with no internet at all; a real tile server can be added at build time with VITE_SG_TILE_URL (the
 * Content-Security-Policy's img-src must then allow its host).
 *
 * Sites are drawn at the position of their site file (`position` in the API). A site without one is
 * placed deterministically from a hash of its id inside the Korean peninsula's bounding box, and
 * the page says which sites are placed so. The sites themselves are one canvas (site-layer.ts).
 */
import 'leaflet/dist/leaflet.css';
import L from 'leaflet';
import { SiteLayer } from './site-layer.ts';
import type { SiteSummary } from './state.ts';

const BOUNDS = { south: 34.6, north: 38.2, west: 126.4, east: 129.3 };

/**
 * FNV-1a with a final avalanche (murmur3's fmix32, without it ids differing in their last letter
 * land on top of each other): the same id gives the same place on every browser and every run.
 */
function hash(s: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0xffffffff;
}

export function placeOf(id: string): L.LatLngTuple {
  return [
    BOUNDS.south + hash(id, 1) * (BOUNDS.north - BOUNDS.south),
    BOUNDS.west + hash(id, 2) * (BOUNDS.east - BOUNDS.west),
  ];
}

export interface SiteMap {
  update(list: readonly SiteSummary[]): void;
  invalidate(): void;
  relabel(): void;
}

/** Where a site is drawn: its configured position, else (labelled on the page) a hash of its id. */
export function positionOf(s: SiteSummary): L.LatLngTuple {
  return s.position ? [s.position[0], s.position[1]] : placeOf(s.id);
}

export function createMap(container: HTMLElement, open: (site: string) => void): SiteMap {
  const map = L.map(container, { zoomSnap: 0.5, keyboard: true }).fitBounds([
    [BOUNDS.south, BOUNDS.west],
    [BOUNDS.north, BOUNDS.east],
  ]);
  map.attributionControl.addAttribution('Slopeguard offline map');
  const url = import.meta.env.VITE_SG_TILE_URL;
  if (url) L.tileLayer(url, { attribution: import.meta.env.VITE_SG_TILE_ATTRIBUTION ?? '' }).addTo(map);
  const layer = new SiteLayer(open, positionOf).addTo(map);
  let count = 0;
  return {
    update(list) {
      layer.setSites(list);
      // New sites: show all of them (not on every update, which would fight the user's panning).
      if (list.length > count) {
        const b = layer.bounds();
        if (b) {
          map.invalidateSize();
          map.fitBounds(b.pad(0.15), { maxZoom: 10 });
        }
      }
      count = list.length;
    },
    invalidate: () => map.invalidateSize(),
    relabel: () => layer.relabel(),
  };
}
