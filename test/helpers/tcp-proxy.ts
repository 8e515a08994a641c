/**
 * A TCP proxy the test owns, in front of a shared service, to simulate an
 * outage without touching the service: `refuse()` drops every connection (the
 * service is down), `stall()` keeps connections open but forwards nothing (the
 * service hangs), `restore()` forwards again.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The proxy's URL: the target's, with the proxy's host and port. */
  url: string;
  refuse(): void;
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Ports a URL of these schemes means when it names none. */
const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'mqtt:': 1883 };

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port) || DEFAULT_PORTS[target.protocol];
  if (!targetPort) throw new Error(`${targetUrl}: no port, and no default port for ${target.protocol}`);
  let mode: 'forward' | 'refuse' | 'stall' = 'forward';
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') return void client.destroy();
    if (mode === 'stall') return; // accepted, never answered
    const upstream = connect({ host: target.hostname, port: targetPort });
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: url.toString(),
    refuse() {
      mode = 'refuse';
      dropAll();
    },
    stall() {
      mode = 'stall';
      // Existing connections stay open but nothing passes any more.
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    restore() {
      mode = 'forward';
      // Stalled connections carried half-sent commands: drop them so clients reconnect cleanly.
      dropAll();
    },
    async close() {
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
