/**
 * Every site on one canvas instead of one DOM marker per site. With 1,000 Leaflet DOM markers the
 * first paint took seconds (each marker is a positioned element with its own style and layout, and
 * every zoom or pan moves all of them); drawing 1,000 shapes on a canvas takes a few milliseconds.
 *
 * The shapes are those of the list (circle, rounded square, square, triangle, diamond for levels
 * 0–4; a white circle with a dotted border and `?` or `✕` for no data / gateway offline; a dashed
 * border and `!` for degraded), so colour is never the only signal. Silent and worse sites are drawn
 * last, on top.
 *
 * Accessibility and tests: a canvas is a picture, so its fallback content (children of <canvas>,
 * never laid out or painted) lists every site as a link with its words and condition; screen
 * readers read it, and it carries data-x/data-y, the point where the site is drawn.
 * Pointer: a click within HIT_PX of a site opens it; hovering shows its name and level.
 */
import L from 'leaflet';
import { LEVEL_COLOURS, siteLabel } from './levels.ts';
import { type Condition, conditionOf, type SiteSummary } from './state.ts';

const R = 11;
const HIT_PX = 14;
/** Names are drawn only when few enough sites are in view to stay legible. */
const NAMES_UP_TO = 60;

interface Drawn {
  site: SiteSummary;
  ll: L.LatLng;
  cond: Condition;
  level: number | null;
  /** Container point at the last draw. */
  x: number;
  y: number;
  link: HTMLAnchorElement;
  key: string;
}

/** Draw order: Normal first, the worst on top. */
function rank(d: Drawn): number {
  if (d.cond === 'no_data' || d.cond === 'offline') return 2.5;
  return (d.level ?? -1) + (d.cond === 'degraded' ? 0.25 : 0);
}

function shapePath(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  level: number | null,
  c: Condition,
): void {
  ctx.beginPath();
  if (c === 'no_data' || c === 'offline' || level === null || level <= 0) {
    ctx.arc(x, y, R, 0, 2 * Math.PI);
  } else if (level === 1) {
    ctx.roundRect(x - R, y - R, 2 * R, 2 * R, 6);
  } else if (level === 2) {
    ctx.rect(x - R, y - R, 2 * R, 2 * R);
  } else if (level === 3) {
    ctx.moveTo(x, y - R - 3);
    ctx.lineTo(x + R + 2, y + R);
    ctx.lineTo(x - R - 2, y + R);
    ctx.closePath();
  } else {
    ctx.moveTo(x, y - R - 3);
    ctx.lineTo(x + R + 3, y);
    ctx.lineTo(x, y + R + 3);
    ctx.lineTo(x - R - 3, y);
    ctx.closePath();
  }
}

export function markText(c: Condition, level: number | null): string {
  if (c === 'no_data') return '?';
  if (c === 'offline') return '✕';
  if (c === 'degraded') return `${level ?? ''}!`;
  return level === null ? '–' : String(level);
}

export class SiteLayer extends L.Layer {
  #canvas = document.createElement('canvas');
  #fallback = document.createElement('ul');
  #drawn = new Map<string, Drawn>();
  #order: Drawn[] = [];
  #orderDirty = true;
  #frame = 0;
  #tip = document.createElement('div');
  #open: (site: string) => void;
  #place: (s: SiteSummary) => L.LatLngTuple;

  constructor(open: (site: string) => void, place: (s: SiteSummary) => L.LatLngTuple) {
    super();
    this.#open = open;
    this.#place = place;
    this.#canvas.className = 'site-canvas leaflet-zoom-hide';
    this.#canvas.setAttribute('role', 'group');
    this.#fallback.className = 'site-fallback';
    this.#canvas.append(this.#fallback);
    this.#tip.className = 'site-tip';
    this.#tip.hidden = true;
  }

  override onAdd(map: L.Map): this {
    map.getPanes().overlayPane.append(this.#canvas);
    map.getContainer().append(this.#tip);
    map.on('moveend zoomend resize viewreset', this.#reset, this);
    map.on('click', this.#click, this);
    map.on('mousemove', this.#hover, this);
    map.on('mouseout', this.#leave, this);
    this.#reset();
    return this;
  }

  override onRemove(map: L.Map): this {
    map.off('moveend zoomend resize viewreset', this.#reset, this);
    map.off('click', this.#click, this);
    map.off('mousemove', this.#hover, this);
    map.off('mouseout', this.#leave, this);
    this.#canvas.remove();
    this.#tip.remove();
    return this;
  }

  /** Sites and their state; only sites whose look changed touch the DOM. Draws on the next frame. */
  setSites(list: readonly SiteSummary[]): void {
    const seen = new Set<string>();
    for (const s of list) {
      seen.add(s.id);
      const cond = conditionOf(s);
      const level = s.level?.level ?? null;
      const pos = this.#place(s);
      const key = `${cond}|${level}|${pos[0]}|${pos[1]}`;
      let d = this.#drawn.get(s.id);
      if (d && d.key === key) {
        d.site = s;
        continue;
      }
      if (!d) {
        const link = document.createElement('a');
        link.href = `#/site/${encodeURIComponent(s.id)}`;
        link.tabIndex = -1;
        link.dataset.site = s.id;
        const li = document.createElement('li');
        li.append(link);
        this.#fallback.append(li);
        d = { site: s, ll: L.latLng(pos), cond, level, x: Number.NaN, y: Number.NaN, link, key };
        this.#drawn.set(s.id, d);
      }
      d.site = s;
      d.ll = L.latLng(pos);
      d.cond = cond;
      d.level = level;
      d.key = key;
      d.link.dataset.condition = cond;
      d.link.dataset.level = String(level ?? '');
      d.link.textContent = `${s.id}: ${markText(cond, level)} ${siteLabel(s)}`;
      this.#orderDirty = true;
    }
    for (const [id, d] of this.#drawn) {
      if (seen.has(id)) continue;
      d.link.parentElement?.remove();
      this.#drawn.delete(id);
      this.#orderDirty = true;
    }
    this.#canvas.dataset.sites = String(this.#drawn.size);
    if (this.#orderDirty) this.#schedule();
  }

  /** The labels are words in the current language: rewrite them all (language switch). */
  relabel(): void {
    for (const d of this.#drawn.values()) d.key = '';
  }

  bounds(): L.LatLngBounds | null {
    if (this.#drawn.size === 0) return null;
    return L.latLngBounds([...this.#drawn.values()].map((d) => d.ll));
  }

  #schedule(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  }

  #reset(): void {
    const map = this._map;
    if (!map) return;
    const size = map.getSize();
    const ratio = window.devicePixelRatio || 1;
    L.DomUtil.setPosition(this.#canvas, map.containerPointToLayerPoint([0, 0]));
    this.#canvas.style.width = `${size.x}px`;
    this.#canvas.style.height = `${size.y}px`;
    this.#canvas.width = Math.round(size.x * ratio);
    this.#canvas.height = Math.round(size.y * ratio);
    this.#draw();
  }

  #draw(): void {
    const map = this._map;
    const ctx = this.#canvas.getContext('2d');
    if (!map || !ctx) return;
    if (this.#orderDirty) {
      this.#order = [...this.#drawn.values()].sort((a, b) => rank(a) - rank(b));
      this.#orderDirty = false;
    }
    const ratio = window.devicePixelRatio || 1;
    const w = this.#canvas.width / ratio;
    const h = this.#canvas.height / ratio;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    this.#graticule(ctx, map, w, h);
    let inView = 0;
    for (const d of this.#order) {
      const p = map.latLngToContainerPoint(d.ll);
      d.x = Math.round(p.x);
      d.y = Math.round(p.y);
      if (d.x > -R && d.y > -R && d.x < w + R && d.y < h + R) inView++;
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const d of this.#order) {
      if (d.x < -2 * R || d.y < -2 * R || d.x > w + 2 * R || d.y > h + 2 * R) continue;
      const silent = d.cond === 'no_data' || d.cond === 'offline';
      shapePath(ctx, d.x, d.y, d.level, d.cond);
      ctx.fillStyle = silent
        ? '#ffffff'
        : d.cond === 'unset'
          ? '#9ca3af'
          : (LEVEL_COLOURS[d.level ?? 0] ?? '#9ca3af');
      ctx.fill();
      ctx.lineWidth = silent || d.cond === 'degraded' ? 3 : 2;
      ctx.setLineDash(silent ? [2, 3] : d.cond === 'degraded' ? [5, 3] : []);
      ctx.strokeStyle = '#111111';
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle =
        !silent && (d.level === 0 || d.level === 4) && d.cond !== 'unset' ? '#ffffff' : '#111111';
      ctx.font = 'bold 13px system-ui, sans-serif';
      ctx.fillText(markText(d.cond, d.level), d.x, d.y + (d.level === 3 && !silent ? 3 : 1));
    }
    if (inView <= NAMES_UP_TO) {
      ctx.font = '11px system-ui, "Noto Sans CJK KR", sans-serif';
      for (const d of this.#order) {
        const m = ctx.measureText(d.site.id);
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(d.x - m.width / 2 - 2, d.y + R + 4, m.width + 4, 14);
        ctx.fillStyle = '#111111';
        ctx.fillText(d.site.id, d.x, d.y + R + 11);
      }
    }
    for (const d of this.#order) {
      d.link.dataset.x = String(d.x);
      d.link.dataset.y = String(d.y);
    }
    this.#canvas.dataset.drawn = String(this.#order.length);
  }

  /** Lines every degree, every 0.1° when zoomed in: the base map needs no tiles (works offline). */
  #graticule(ctx: CanvasRenderingContext2D, map: L.Map, w: number, h: number): void {
    const b = map.getBounds();
    const fine = map.getZoom() >= 10;
    const step = fine ? 0.1 : 1;
    ctx.lineWidth = 1;
    ctx.setLineDash([]);
    const lines = (from: number, to: number, draw: (v: number) => void) => {
      const first = Math.ceil(from / step);
      for (let i = first; i * step <= to; i++) {
        const v = Number((i * step).toFixed(1));
        ctx.strokeStyle = Number.isInteger(v) ? '#9fb0bf' : '#dde4ea';
        ctx.beginPath();
        draw(v);
        ctx.stroke();
      }
    };
    lines(b.getSouth(), b.getNorth(), (lat) => {
      const y = Math.round(map.latLngToContainerPoint([lat, b.getWest()]).y) + 0.5;
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
    });
    lines(b.getWest(), b.getEast(), (lon) => {
      const x = Math.round(map.latLngToContainerPoint([b.getNorth(), lon]).x) + 0.5;
      ctx.moveTo(x, 0);
      ctx.lineTo(x, h);
    });
  }

  #nearest(p: L.Point): Drawn | null {
    let best: Drawn | null = null;
    let bestD = HIT_PX * HIT_PX;
    // The top-most (worst) site wins a tie, as it is drawn on top.
    for (const d of this.#order) {
      const dd = (d.x - p.x) ** 2 + (d.y - p.y) ** 2;
      if (dd <= bestD) {
        best = d;
        bestD = dd;
      }
    }
    return best;
  }

  #click(e: L.LeafletMouseEvent): void {
    const d = this.#nearest(e.containerPoint);
    if (d) this.#open(d.site.id);
  }

  #hover(e: L.LeafletMouseEvent): void {
    const d = this.#nearest(e.containerPoint);
    const container = this._map?.getContainer();
    if (container) container.style.cursor = d ? 'pointer' : '';
    if (!d) {
      this.#tip.hidden = true;
      return;
    }
    this.#tip.textContent = `${d.site.id} · ${siteLabel(d.site)}`;
    this.#tip.style.left = `${d.x + R + 4}px`;
    this.#tip.style.top = `${d.y - R}px`;
    this.#tip.hidden = false;
  }

  #leave(): void {
    this.#tip.hidden = true;
  }
}
