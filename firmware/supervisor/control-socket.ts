// The local control socket: one JSON request per line, one JSON reply per line.
//   {"cmd":"status"} | {"cmd":"reload"} | {"cmd":"set-priority","instance":"lan","value":150}
//   {"cmd":"maintenance","on":true,"instance":"lan"}
// Replies: {"ok":true,"result":...} or {"ok":false,"error":{"code","message"}}.
// A client that stops reading is cut off rather than letting its replies pile up in memory.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export type Handler = (req: Record<string, unknown>) => Promise<unknown> | unknown;

const MAX_REQUEST = 64 * 1024;
const MAX_BUFFERED_REPLY = 4 * 1024 * 1024;

export async function listenControl(path: string, handler: Handler): Promise<Server> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  if (existsSync(path)) {
    if (await answers(path)) throw new Error(`another tandem is already listening on ${path}`);
    rmSync(path, { force: true }); // stale, from a crashed run
  }
  const server = createServer((sock) => serve(sock, handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
  server.on('error', () => {
    /* per-connection errors are handled in serve */
  });
  return server;
}

function serve(sock: Socket, handler: Handler): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_REQUEST) {
      reply(sock, { ok: false, error: { code: 'too-large', message: 'request over 64 KiB' } });
      sock.end();
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) void handle(sock, line, handler);
    }
  });
}

async function handle(sock: Socket, line: string, handler: Handler): Promise<void> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return reply(sock, { ok: false, error: { code: 'bad-json', message: 'request is not JSON' } });
  }
  if (!req || typeof req !== 'object' || typeof (req as { cmd?: unknown }).cmd !== 'string') {
    return reply(sock, {
      ok: false,
      error: { code: 'bad-request', message: 'a request is an object with a string "cmd"' },
    });
  }
  try {
    reply(sock, { ok: true, result: await handler(req as Record<string, unknown>) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    reply(sock, {
      ok: false,
      error: { code: typeof err.code === 'string' ? err.code : 'failed', message: err.message ?? String(e) },
    });
  }
}

function reply(sock: Socket, obj: unknown): void {
  if (sock.destroyed) return;
  if (sock.writableLength > MAX_BUFFERED_REPLY) {
    sock.destroy();
    return;
  }
  sock.write(`${JSON.stringify(obj)}\n`);
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 500);
    s.on('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** One request to a running daemon. Rejects with a clear message when nothing listens. */
export function request(
  path: string,
  req: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        s.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)));
        } catch (e) {
          reject(e);
        }
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      reject(
        new Error(
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? `tandem is not running (no control socket at ${path})`
            : `${path}: ${e.code ?? e.message}`,
        ),
      );
    });
  });
}
