/**
 * The map of every site, with Leaflet. The base layer shipped with the project is a plain canvas
 * grid drawn in the browser (graticule every degree, finer lines when zoomed in), so the map works
 * with no internet at all; a real tile server can be added at build time with VITE_SG_TILE_URL
 * (the Content-Security-Policy's img-src must then allow its host).
 *
 * Sites have no coordinates in the API yet: each is placed deterministically from a hash of its id
 * inside the Korean peninsula's bounding box, and the page says so.
 */
import 'leaflet/dist/leaflet.css';
import L from 'leaflet';
import { markerElement } from './levels.ts';
import { conditionOf, type SiteSummary } from './state.ts';

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

/** The offline base layer: a light canvas with a graticule; nothing is fetched. */
class OfflineGrid extends L.GridLayer {
  override createTile(coords: L.Coords): HTMLCanvasElement {
    const tile = document.createElement('canvas');
    const size = this.getTileSize();
    tile.width = size.x;
    tile.height = size.y;
    const ctx = tile.getContext('2d');
    if (!ctx) return tile;
    ctx.fillStyle = '#eef2f5';
    ctx.fillRect(0, 0, size.x, size.y);
    ctx.strokeStyle = '#c9d3dc';
    ctx.lineWidth = 1;
    ctx.strokeRect(0.5, 0.5, size.x - 1, size.y - 1);
    if (coords.z >= 9) {
      ctx.strokeStyle = '#dde4ea';
      ctx.beginPath();
      ctx.moveTo(size.x / 2, 0);
      ctx.lineTo(size.x / 2, size.y);
      ctx.moveTo(0, size.y / 2);
      ctx.lineTo(size.x, size.y / 2);
      ctx.stroke();
    }
    return tile;
  }
}

export interface SiteMap {
  update(list: readonly SiteSummary[]): void;
  invalidate(): void;
}

export function createMap(container: HTMLElement, open: (site: string) => void): SiteMap {
  const map = L.map(container, { preferCanvas: false, zoomSnap: 0.5, keyboard: true }).fitBounds([
    [BOUNDS.south, BOUNDS.west],
    [BOUNDS.north, BOUNDS.east],
  ]);
  new OfflineGrid({ attribution: 'Slopeguard offline grid' }).addTo(map);
  const url = import.meta.env.VITE_SG_TILE_URL;
  if (url) L.tileLayer(url, { attribution: import.meta.env.VITE_SG_TILE_ATTRIBUTION ?? '' }).addTo(map);
  const graticule = L.layerGroup().addTo(map);
  for (let lat = 34; lat <= 39; lat++)
    L.polyline(
      [
        [lat, 125],
        [lat, 131],
      ],
      { color: '#9fb0bf', weight: 1, interactive: false },
    ).addTo(graticule);
  for (let lon = 125; lon <= 131; lon++)
    L.polyline(
      [
        [33, lon],
        [40, lon],
      ],
      { color: '#9fb0bf', weight: 1, interactive: false },
    ).addTo(graticule);

  const markers = new Map<string, { marker: L.Marker; key: string }>();
  return {
    update(list) {
      const seen = new Set<string>();
      const before = markers.size;
      for (const s of list) {
        seen.add(s.id);
        // Only rebuild a marker whose look changed: 1,000 sites updating every second stay cheap.
        const key = `${conditionOf(s)}|${s.level?.level}`;
        const have = markers.get(s.id);
        if (have && have.key === key) continue;
        const node = markerElement(s);
        const icon = L.divIcon({
          html: node,
          className: 'mk-wrap',
          iconSize: [28, 28],
          iconAnchor: [14, 14],
        });
        if (have) {
          have.marker.setIcon(icon);
          have.key = key;
          continue;
        }
        const marker = L.marker(placeOf(s.id), { icon, keyboard: true, title: s.id, alt: s.id })
          .on('click', () => open(s.id))
          .on('keypress', (e: L.LeafletKeyboardEvent) => {
            if (e.originalEvent.key === 'Enter') open(s.id);
          })
          .addTo(map);
        markers.set(s.id, { marker, key });
      }
      for (const [id, m] of markers) {
        if (seen.has(id)) continue;
        m.marker.remove();
        markers.delete(id);
      }
      // New sites: show all of them (not on every update, which would fight the user's panning).
      if (markers.size > before && markers.size > 0) {
        map.invalidateSize();
        map.fitBounds(L.latLngBounds([...markers.values()].map((m) => m.marker.getLatLng())).pad(0.15), {
          maxZoom: 10,
        });
      }
    },
    invalidate: () => map.invalidateSize(),
  };
}
