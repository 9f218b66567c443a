// HTTP(S) download with resume. The partial file and a small JSON record (URL, offset, validator)
// live in <root>/download/, so an interrupted transfer continues with `Range: bytes=N-` even after
// the agent restarts (RFC 9110 14.2 Range, 13.1.5 If-Range: a changed file restarts from zero).
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { freeBytes, fsyncDir, writeFileAtomic } from './fsutil.ts';

export interface DownloadOptions {
  dir: string;
  /** No bytes for this long -> fail (connect included). */
  idleTimeoutMs?: number;
  /** Whole transfer deadline. */
  totalTimeoutMs?: number;
  maxRedirects?: number;
  /** Extra bytes that must stay free besides the file itself; checked as bytes arrive too, so a
   *  download without Content-Length cannot fill the disk. */
  reserveBytes?: number;
  /** Refuse a bundle larger than this (Content-Length, or the bytes received so far). */
  maxBytes?: number;
  onBytes?: (done: number, total: number) => void;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  sha256: string;
  resumedFrom: number;
}

export class DownloadError extends Error {
  constructor(
    readonly reason: 'http-error' | 'timeout' | 'no-space' | 'network' | 'too-large',
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

interface PartRecord {
  url: string;
  offset: number;
  total: number | null;
  validator: string | null;
}

const PART = 'bundle.part';
const RECORD = 'bundle.part.json';

export async function readPartRecord(dir: string): Promise<PartRecord | null> {
  try {
    return JSON.parse(await fsp.readFile(join(dir, RECORD), 'utf8'));
  } catch {
    return null;
  }
}

/** Drop any partial download. */
export async function clearPartial(dir: string): Promise<void> {
  await fsp.rm(join(dir, PART), { force: true });
  await fsp.rm(join(dir, RECORD), { force: true });
}

function request(url: URL, headers: Record<string, string>, idleMs: number): Promise<http.IncomingMessage> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // The socket timeout covers connect and headers; the body has its own idle timer.
    const req = mod.get(url, { headers, timeout: idleMs }, (res) => {
      req.setTimeout(0);
      resolve(res);
    });
    req.on('timeout', () => req.destroy(new DownloadError('timeout', `no answer from ${url.host} in ${idleMs} ms`)));
    req.on('error', reject);
  });
}

/** Download `url` into dir/bundle.part, resuming a matching earlier partial. Resolves with the full file. */
export async function download(urlText: string, o: DownloadOptions): Promise<DownloadResult> {
  const idleMs = o.idleTimeoutMs ?? 15_000;
  const deadline = Date.now() + (o.totalTimeoutMs ?? 30 * 60_000);
  await fsp.mkdir(o.dir, { recursive: true });
  const part = join(o.dir, PART);
  let rec = await readPartRecord(o.dir);
  let offset = 0;
  if (rec && rec.url === urlText) {
    // Trust the file's real size over the record: the record is written after the bytes.
    try {
      offset = (await fsp.stat(part)).size;
    } catch {
      offset = 0;
    }
  } else {
    await clearPartial(o.dir);
    rec = null;
  }

  let url = new URL(urlText);
  let res: http.IncomingMessage | null = null;
  for (let hops = 0; ; hops++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new DownloadError('http-error', `unsupported scheme ${url.protocol}`);
    const headers: Record<string, string> = { 'user-agent': 'tandem-ota', 'accept-encoding': 'identity' };
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (rec?.validator) headers['if-range'] = rec.validator;
    }
    try {
      res = await request(url, headers, idleMs);
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      throw new DownloadError('network', `${url.host}: ${(e as Error).message}`);
    }
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && res.headers.location && hops < (o.maxRedirects ?? 5)) {
      res.resume();
      url = new URL(res.headers.location, url);
      continue;
    }
    break;
  }
  const code = res.statusCode ?? 0;
  if (code === 416 && rec?.total != null && offset === rec.total) {
    res.resume(); // already complete
  } else if (code === 200) {
    if (offset > 0) {
      offset = 0;
      await fsp.truncate(part).catch(() => {});
    } // server ignored Range or file changed
  } else if (code !== 206) {
    res.resume();
    throw new DownloadError('http-error', `${urlText}: HTTP ${code}`);
  }
  const validator =
    (res.headers.etag as string | undefined) ?? (res.headers['last-modified'] as string | undefined) ?? null;
  let total: number | null = rec?.total ?? null;
  if (code === 200 && res.headers['content-length']) total = Number(res.headers['content-length']);
  if (code === 206) {
    const m = /\/(\d+)\s*$/.exec(String(res.headers['content-range'] ?? ''));
    if (m) total = Number(m[1]);
    const start = /bytes\s+(\d+)-/.exec(String(res.headers['content-range'] ?? ''));
    if (start && Number(start[1]) !== offset) {
      res.resume();
      await clearPartial(o.dir);
      throw new DownloadError('http-error', `server resumed at ${start[1]}, asked ${offset}`);
    }
  }
  if (total != null && o.maxBytes !== undefined && total > o.maxBytes) {
    res.resume();
    await clearPartial(o.dir);
    throw new DownloadError('too-large', `the bundle is ${total} bytes, limit ${o.maxBytes}`);
  }
  if (total != null) {
    const need = total - offset + (o.reserveBytes ?? 0);
    const free = await freeBytes(o.dir);
    if (free < need) {
      res.resume();
      throw new DownloadError('no-space', `need ${need} bytes in ${o.dir}, have ${free}`);
    }
  }
  rec = { url: urlText, offset, total, validator };
  await writeFileAtomic(join(o.dir, RECORD), JSON.stringify(rec));

  // Hash what is already on disk, then continue the same hash over the new bytes.
  const hash = createHash('sha256');
  if (offset > 0) for await (const c of createReadStream(part, { end: offset - 1 })) hash.update(c as Buffer);
  const resumedFrom = offset;
  const fh = await fsp.open(part, offset > 0 ? 'a' : 'w');
  let done = offset;
  let lastRecord = Date.now();
  let lastSpaceCheck = offset;
  try {
    if (code !== 416) {
      await new Promise<void>((resolve, reject) => {
        let timedOut: DownloadError | null = null;
        const idle = () => {
          timedOut = new DownloadError('timeout', `no data for ${idleMs} ms at byte ${done}`);
          res!.destroy(timedOut);
        };
        let timer = setTimeout(idle, idleMs);
        const hard = setTimeout(
          () => {
            timedOut = new DownloadError('timeout', `transfer not finished by its deadline at byte ${done}`);
            res!.destroy(timedOut);
          },
          Math.max(0, deadline - Date.now()),
        );
        const finish = (err?: Error) => {
          clearTimeout(timer);
          clearTimeout(hard);
          if (timedOut) reject(timedOut);
          else if (err) reject(err);
          else resolve();
        };
        let chain = Promise.resolve();
        res!.on('data', (chunk: Buffer) => {
          clearTimeout(timer);
          timer = setTimeout(idle, idleMs);
          res!.pause();
          chain = chain
            .then(async () => {
              if (o.maxBytes !== undefined && done + chunk.length > o.maxBytes)
                throw new DownloadError('too-large', `more than ${o.maxBytes} bytes: the bundle is too large`);
              // Every 4 MiB: the disk keeps its reserve whatever the server announced.
              if (done - lastSpaceCheck >= 4 * 1024 * 1024) {
                lastSpaceCheck = done;
                const free = await freeBytes(o.dir);
                if (free - chunk.length < (o.reserveBytes ?? 0))
                  throw new DownloadError('no-space', `${free} bytes left in ${o.dir}, keeping ${o.reserveBytes}`);
              }
              await fh.write(chunk);
              hash.update(chunk);
              done += chunk.length;
              o.onBytes?.(done, total ?? done);
              // Persist the offset now and then: a restart re-reads the real size anyway.
              if (Date.now() - lastRecord > 1000) {
                lastRecord = Date.now();
                await fh.sync();
              }
              res!.resume();
            })
            .catch((e) => {
              // Our own verdict (too large, no space) wins over the 'close' the destroy causes.
              if (e instanceof DownloadError) timedOut = e;
              res!.destroy(e);
            });
        });
        res!.on('end', () => {
          chain.then(() => finish(), finish);
        });
        res!.on('aborted', () => finish(new DownloadError('network', `connection closed at byte ${done}`)));
        res!.on('error', (e) =>
          finish(e instanceof DownloadError ? e : new DownloadError('network', `${e.message} at byte ${done}`)),
        );
        res!.on('close', () => {
          if (!res!.complete)
            finish(new DownloadError('network', `connection closed at byte ${done}${total ? ` of ${total}` : ''}`));
        });
      });
    }
    await fh.sync();
  } finally {
    await fh.close();
    await fsyncDir(o.dir).catch(() => {});
  }
  if (total != null && done !== total) throw new DownloadError('network', `got ${done} of ${total} bytes`);
  await writeFileAtomic(join(o.dir, RECORD), JSON.stringify({ ...rec, offset: done, total: done }));
  return { file: part, bytes: done, sha256: hash.digest('hex'), resumedFrom };
}
