// conntrackd's `-s` report, parsed (conntrack-tools src/cache.c, src/sync-mode.c and
// src/channel.c print it), and what tandem makes of it: connected, stalled, messages lost.
// Pure: the shell runs `conntrackd -C FILE -s` and passes the text in.

export interface ConntrackdStats {
  internal: number; // "current active connections" of the internal cache (our own flows)
  external: number; // ... of the external cache (the peer's flows)
  sentPackets: number; // sync channel packets sent
  recvPackets: number; // sync channel packets received
  sendErrors: number;
  recvErrors: number;
  malformed: number; // "Malformed msgs": received messages conntrackd could not parse
  lost: number; // "Lost msgs": gaps in the peer's sequence numbers
}

export type StatsParse = { ok: true; stats: ConntrackdStats } | { ok: false; reason: string };

function section(text: string, name: string): string | undefined {
  const at = text.indexOf(`cache ${name}:`);
  if (at < 0) return undefined;
  const end = text.indexOf('\n\n', at);
  return text.slice(at, end < 0 ? undefined : end);
}

function num(re: RegExp, text: string | undefined): number | undefined {
  const m = text === undefined ? null : re.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Parse the default `-s` output. A missing field makes the whole parse fail: a conntrackd whose
 *  report changed shape must be noticed, not read as zeros. */
export function parseConntrackdStats(text: string): StatsParse {
  const active = /current active connections:\s*(\d+)/;
  const internal = num(active, section(text, 'internal'));
  const external = num(active, section(text, 'external'));
  const pk = /(\d+)\s+Pckts sent\s+(\d+)\s+Pckts recv/.exec(text);
  const er = /(\d+)\s+Error send\s+(\d+)\s+Error recv/.exec(text);
  const malformed = num(/(\d+)\s+Malformed msgs/, text);
  const lost = num(/(\d+)\s+Lost msgs/, text);
  if (internal === undefined) return { ok: false, reason: 'no internal cache in the report' };
  if (external === undefined)
    return { ok: false, reason: 'no external cache in the report (external cache disabled?)' };
  if (!pk || !er) return { ok: false, reason: 'no sync channel traffic in the report' };
  if (malformed === undefined || lost === undefined) return { ok: false, reason: 'no message tracking in the report' };
  return {
    ok: true,
    stats: {
      internal,
      external,
      sentPackets: Number(pk[1]),
      recvPackets: Number(pk[2]),
      sendErrors: Number(er[1]),
      recvErrors: Number(er[2]),
      malformed,
      lost,
    },
  };
}

/** Liveness of the sync link from successive samples: FTFW sends a keep-alive every second
 *  when it has nothing else to say, so a count of received packets that stops moving means the
 *  peer (or the link) is gone. */
export interface LinkWatch {
  readonly lastRecv: number | undefined;
  readonly startMs: number;
  readonly lastHeardMs: number | undefined; // when the received count last went up
  readonly stalled: boolean;
}

export function startWatch(nowMs: number): LinkWatch {
  return { lastRecv: undefined, startMs: nowMs, lastHeardMs: undefined, stalled: false };
}

/** A sample (or none, when conntrackd did not answer) at nowMs. */
export function watchSample(
  w: LinkWatch,
  recvPackets: number | undefined,
  nowMs: number,
  stallAfterMs: number,
): LinkWatch {
  let { lastRecv, lastHeardMs } = w;
  if (recvPackets !== undefined && recvPackets !== lastRecv) {
    // The first sample only sets the baseline; a counter that went back means conntrackd restarted.
    if (lastRecv !== undefined && recvPackets > lastRecv) lastHeardMs = nowMs;
    lastRecv = recvPackets;
  }
  return { lastRecv, startMs: w.startMs, lastHeardMs, stalled: nowMs - (lastHeardMs ?? w.startMs) >= stallAfterMs };
}

/** Connected: the peer was heard within the stall threshold. */
export function isConnected(w: LinkWatch, nowMs: number, stallAfterMs: number): boolean {
  return w.lastHeardMs !== undefined && nowMs - w.lastHeardMs < stallAfterMs;
}
