/**
 * The browser dashboard (src/dashboard/, bundled by scripts/build.mjs into
 * dist/public/): its assets, whose names carry a hash of their content and so are
 * cached for a year, and its one page, index.html, for `/` and for every other GET
 * outside the API, so a reloaded deep link (/workouts/<id>) works. Such a GET is a
 * page, not a miss: it never counts against the address's budget for keyless
 * requests. A GET of an unknown /api/ path (or of /metrics, which only the metrics
 * listener serves) is still a 404 counted in that budget, as every other miss is.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** dist/public, from src/http/routes as from dist/http/routes. */
const PUBLIC = fileURLToPath(new URL('../../../dist/public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const escapeAttribute = (text: string) => text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * The page may run only its own script and style, talk only to this server, and
 * show images from here, data: URLs (uPlot's legend markers) and the tile server.
 */
export function dashboardPolicy(tileUrl: string | null): string {
  const tiles = tileUrl ? ` ${new URL(tileUrl.replace(/\{[xyz]\}/g, '0')).origin}` : '';
  return `default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:${tiles}; style-src 'self'; frame-ancestors 'none'`;
}

export default async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const indexFile = path.join(PUBLIC, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.warn(`the dashboard is not built (${indexFile} is missing): run npm run build`);
    return;
  }
  const { tileUrl } = app.config.dashboard;
  const page = readFileSync(indexFile, 'utf8').replace('%MAP_TILE_URL%', escapeAttribute(tileUrl ?? ''));
  const policy = dashboardPolicy(tileUrl);
  const assets = new Map(
    readdirSync(path.join(PUBLIC, 'assets')).map((name) => [name, { body: readFileSync(path.join(PUBLIC, 'assets', name)), type: TYPES[path.extname(name)] ?? 'application/octet-stream' }]),
  );

  const sendPage = (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      // A new build names new assets: the page itself is checked every time.
      .header('Cache-Control', 'no-cache')
      .header('Content-Security-Policy', policy)
      // Tile servers ask for the page's origin as referrer (never its path: it can carry ids).
      .header('Referrer-Policy', 'strict-origin-when-cross-origin')
      .send(page);

  /** An API path or an asset nobody built: the ordinary 404, counted as every miss is. */
  const miss = async (request: FastifyRequest, reply: FastifyReply) => {
    await app.rateLimits.countAnonymous(request, reply);
    return reply.callNotFound();
  };

  const hidden = { schema: { hide: true } };
  app.get('/', hidden, sendPage);
  app.get('/*', hidden, sendPage);
  app.get('/api/*', hidden, miss);
  app.get('/metrics', hidden, miss);
  app.get<{ Params: { name: string } }>('/assets/:name', hidden, async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return miss(request, reply);
    return reply.type(asset.type).header('Cache-Control', 'public, max-age=31536000, immutable').send(asset.body);
  });
}
