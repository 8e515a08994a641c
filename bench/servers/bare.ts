/**
 * The reference: a bare Fastify app on the same machine, without logger, hooks,
 * authentication or database. /health answers like the real one; POST
 * /api/v1/ingest parses the JSON body as any Fastify route does and answers.
 */
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 100 * 1024 * 1024 });
app.get('/health', async () => ({ status: 'ok' }));
app.post('/api/v1/ingest', async () => ({ status: 'completed' }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ pid: process.pid, url })}\n`);
