/**
 * A workout's route on a map: tiles (Web Mercator, from MAP_TILE_URL, named in the
 * page's <meta name="map-tile-url">) as images under a canvas the route is drawn
 * on. Without tiles, or while they load or when they fail, the route is still
 * drawn, on the plain background. The tiles are separate <img> elements, not
 * drawn into the canvas, so the canvas is never tainted by another origin.
 */
import { colour } from './chart.js';
import { h } from './dom.js';

const TILE = 256;
const MAX_ZOOM = 18;

/** The configured tile URL template, or null for none. */
const tileTemplate = (): string | null => document.querySelector<HTMLMetaElement>('meta[name="map-tile-url"]')?.content || null;

/** World pixel coordinates at zoom 0 (0..256). */
function project([lon, lat]: number[]): [number, number] {
  const sin = Math.sin((Math.max(-85.05, Math.min(85.05, lat!)) * Math.PI) / 180);
  return [((lon! + 180) / 360) * TILE, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * TILE];
}

function attribution(template: string): string {
  const host = new URL(template.replace(/\{[xyz]\}/g, '0')).hostname;
  return host.endsWith('openstreetmap.org') ? '© OpenStreetMap contributors' : `Map tiles: ${host}`;
}

export function routeMap(coordinates: number[][], title: string): HTMLElement {
  const template = tileTemplate();
  const canvas = h('canvas', { class: 'route', role: 'img', 'aria-label': title });
  const tiles = h('div', { class: 'tiles', 'aria-hidden': 'true' });
  const frame = h('div', { class: 'map-frame' }, tiles, canvas);
  const figure = h('figure', { class: 'map', 'data-colors': colour('accent') }, h('figcaption', {}, title), frame, template ? h('p', { class: 'attribution' }, attribution(template)) : null);
  const points = coordinates.map(project);

  const draw = () => {
    const width = frame.clientWidth;
    const height = frame.clientHeight;
    if (width === 0 || height === 0) return;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    // The largest zoom at which the route, with a margin, fits the frame.
    const fit = Math.min((width * 0.85) / Math.max(maxX - minX, 1e-9), (height * 0.85) / Math.max(maxY - minY, 1e-9));
    const zoom = Math.max(0, Math.min(MAX_ZOOM, Math.floor(Math.log2(fit))));
    const scale = 2 ** zoom;
    const left = ((minX + maxX) / 2) * scale - width / 2;
    const top = ((minY + maxY) / 2) * scale - height / 2;

    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext('2d')!;
    context.scale(ratio, ratio);
    context.lineWidth = 4;
    context.lineJoin = 'round';
    context.lineCap = 'round';
    context.strokeStyle = colour('accent');
    context.beginPath();
    points.forEach(([x, y], i) => (i === 0 ? context.moveTo(x * scale - left, y * scale - top) : context.lineTo(x * scale - left, y * scale - top)));
    context.stroke();

    if (!template) return;
    const images: HTMLImageElement[] = [];
    const count = 2 ** zoom;
    for (let tx = Math.floor(left / TILE); tx <= Math.floor((left + width) / TILE); tx++) {
      for (let ty = Math.max(0, Math.floor(top / TILE)); ty <= Math.min(count - 1, Math.floor((top + height) / TILE)); ty++) {
        const wrapped = ((tx % count) + count) % count;
        const image = h('img', { alt: '', src: template.replace('{z}', String(zoom)).replace('{x}', String(wrapped)).replace('{y}', String(ty)), width: TILE, height: TILE });
        image.style.left = `${tx * TILE - left}px`;
        image.style.top = `${ty * TILE - top}px`;
        images.push(image);
      }
    }
    tiles.replaceChildren(...images);
  };
  new ResizeObserver(draw).observe(frame);
  return figure;
}
