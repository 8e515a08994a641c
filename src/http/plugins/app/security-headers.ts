/**
 * Headers for a JSON API that browsers should never sniff, frame or leak the
 * URL of (URLs can carry ingestion ids). HTML (the Swagger UI at /docs) gets
 * only the framing rule, since it loads its own scripts and styles. A route that
 * sets its own policy and referrer rule keeps them (the dashboard's page,
 * src/http/routes/dashboard.ts).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
const PAGE_POLICY = "frame-ancestors 'none'";

export default fp(
  async function securityHeaders(app: FastifyInstance) {
    app.addHook('onSend', async (_request, reply, payload) => {
      void reply.headers({ 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' });
      if (!reply.hasHeader('Referrer-Policy')) void reply.header('Referrer-Policy', 'no-referrer');
      if (!reply.hasHeader('Content-Security-Policy')) {
        const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
        void reply.header('Content-Security-Policy', html ? PAGE_POLICY : API_POLICY);
      }
      return payload;
    });
  },
  { name: 'security-headers' },
);
