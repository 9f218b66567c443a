// One instance's BFD session at run time: the imperative shell around the pure session machine
// (core/bfd/session.ts). receive -> GTSM and decode -> step -> send / report -> re-arm one timer.
// When the session to the master goes down because the master fell silent, the instance is told
// (`onPeerSilent`) and feeds its VRRP machine `master-down-detected`.
import type { BfdDatagram, BfdSocket, Driver } from '../../drivers/types.ts';
import type { BfdConfig } from '../config/types.ts';
import {
  type BfdAction,
  type BfdCountedDrop,
  type BfdCounters,
  type BfdSession,
  type BfdSessionConfig,
  type BfdStatus,
  bfdDetectionTimeUs,
  bfdInitialSession,
  bfdMayTrigger,
  bfdNextDeadline,
  bfdReconfigure,
  bfdStep,
  bfdTxIntervalUs,
} from '../core/bfd/index.ts';
import { BFD_TTL, bfdDiagName, decodeBfd, encodeBfd } from '../core/packet/bfd.ts';
import { parseIp } from '../core/packet/addr.ts';
import type { Logger } from '../runtime/log.ts';

export interface BfdRunnerEnv {
  driver: Driver;
  log: Logger;
  now: () => number; // monotonic ms
  random: () => number;
  instance: string; // for logs
  family: 4 | 6;
  src: string; // our address (the instance's primary address)
  ifname: string;
  /** The peer fell silent while Up (Detection Time expired, not damped). */
  onPeerSilent(peer: string): void;
  /** The session changed state (an event for telemetry; status republishes). */
  onChange(e: { from: string; to: string; diag: string; peer: string }): void;
}

/** bfd.LocalDiscr must be unique on this system (RFC 5880 6.8.1): one counter per process,
 *  started at random so a restarted daemon does not reuse the discriminator the peer still holds. */
let nextDiscr = 0;
function allocDiscr(random: () => number): number {
  if (nextDiscr === 0) nextDiscr = 1 + Math.floor(random() * 0x7fffffff);
  const d = nextDiscr;
  nextDiscr = nextDiscr >= 0xfffffffe ? 1 : nextDiscr + 1;
  return d;
}

function sessionConfig(c: BfdConfig, localDiscr: number): BfdSessionConfig {
  const us = Math.round(c.intervalMs * 1000);
  return { localDiscr, desiredMinTxUs: us, requiredMinRxUs: us, detectMult: c.multiplier };
}

const zero = (): BfdCounters => ({
  packetsSent: 0,
  packetsReceived: 0,
  sendErrors: 0,
  up: 0,
  down: 0,
  peerSilent: 0,
  damped: 0,
  takeovers: 0,
  drops: {},
});

export class BfdRunner {
  private session: BfdSession;
  private socket: BfdSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private pendingTimer = false;
  private lastSendErrorLogAt = Number.NEGATIVE_INFINITY;
  private readonly peerBytes: string;
  readonly counters = zero();

  constructor(
    public cfg: BfdConfig,
    private readonly env: BfdRunnerEnv,
  ) {
    this.session = bfdInitialSession(sessionConfig(cfg, allocDiscr(env.random)), env.now());
    this.peerBytes = key(cfg.peer);
  }

  get peer(): string {
    return this.cfg.peer;
  }

  /** Opens the socket and sends the first Down. Throws DriverError (the caller logs it). */
  start(): void {
    const { driver, family, src, ifname } = this.env;
    this.socket = driver.openBfd(family, { src, ifname });
    this.socket.onDatagram((d) => this.receive(d));
    this.env.log.info(
      { instance: this.env.instance, peer: this.cfg.peer, srcPort: this.socket.srcPort, discr: this.localDiscr },
      'BFD session started',
    );
    this.arm();
  }

  get localDiscr(): number {
    return this.session.config.localDiscr;
  }

  /** New interval or multiplier (same peer): the session polls for them if Up (RFC 5880 6.8.3). */
  reconfigure(cfg: BfdConfig): void {
    this.cfg = cfg;
    const r = bfdReconfigure(this.session, sessionConfig(cfg, this.localDiscr), this.env.now());
    this.apply(r.session, r.actions);
  }

  /** Tell the peer we are going (AdminDown, diag 7: RFC 5880 6.8.16), then close. */
  stop(): void {
    if (this.socket) {
      const r = bfdStep(this.session, { type: 'admin-down' }, this.env.now(), this.env.random);
      this.session = r.session;
      // The AdminDown packet now, not at the next tick: there will be none.
      const t = bfdStep(this.session, { type: 'timer' }, this.env.now(), this.env.random);
      this.session = t.session;
      for (const a of t.actions) if (a.type === 'send') this.send(encodeBfd(a.packet));
      this.socket.close();
      this.socket = undefined;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drop(reason: BfdCountedDrop): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
  }

  receive(d: BfdDatagram): void {
    // Every session of this family sees every datagram on port 3784: keep ours only. RFC 5880
    // 6.8.6 selects by Your Discriminator when nonzero, else (RFC 5881 3) by source address.
    const data = d.data;
    const yourDiscr = data.length >= 12 ? ((data[8] << 24) | (data[9] << 16) | (data[10] << 8) | data[11]) >>> 0 : 0;
    const fromPeer = key(d.src) === this.peerBytes;
    if (yourDiscr !== 0 ? yourDiscr !== this.localDiscr : !fromPeer) return;
    // RFC 5881 5: without authentication, a TTL / Hop Limit other than 255 MUST be discarded.
    if (d.ttl !== BFD_TTL) {
      this.drop('bfd-ttl');
      return;
    }
    const dec = decodeBfd(data);
    if (!dec.ok) {
      this.drop(dec.reason);
      return;
    }
    const r = bfdStep(this.session, { type: 'packet', packet: dec.packet }, this.env.now(), this.env.random);
    if (!r.actions.some((a) => a.type === 'drop')) this.counters.packetsReceived++;
    this.apply(r.session, r.actions);
  }

  private apply(next: BfdSession, actions: BfdAction[]): void {
    this.session = next;
    for (const a of actions) {
      switch (a.type) {
        case 'send':
          this.send(encodeBfd(a.packet));
          break;
        case 'drop':
          this.drop(a.reason);
          break;
        case 'transition':
          this.transitioned(a);
          break;
        default: {
          const never: never = a;
          this.env.log.warn({ action: never }, 'unknown BFD action');
        }
      }
    }
    this.arm();
  }

  private transitioned(a: Extract<BfdAction, { type: 'transition' }>): void {
    if (a.to === 'Up') this.counters.up++;
    if (a.to === 'Down' && (a.from === 'Up' || a.from === 'Init')) this.counters.down++;
    if (a.from === 'Up' && a.to !== 'Up' && !a.peerSilent && a.diag === 1) this.counters.damped++;
    this.env.log.info(
      {
        instance: this.env.instance,
        peer: this.cfg.peer,
        from: a.from,
        to: a.to,
        diag: bfdDiagName(a.diag),
        peerSilent: a.peerSilent,
      },
      'BFD session changed',
    );
    this.env.onChange({ from: a.from, to: a.to, diag: bfdDiagName(a.diag), peer: this.cfg.peer });
    if (a.peerSilent) {
      this.counters.peerSilent++;
      this.env.onPeerSilent(this.cfg.peer);
    }
  }

  private send(bytes: Uint8Array): void {
    if (!this.socket) return;
    try {
      this.socket.send(this.cfg.peer, bytes);
      this.counters.packetsSent++;
    } catch (e) {
      this.counters.sendErrors++;
      const now = this.env.now();
      if (now - this.lastSendErrorLogAt > 5000) {
        this.lastSendErrorLogAt = now;
        this.env.log.warn(
          { instance: this.env.instance, peer: this.cfg.peer, err: (e as Error).message },
          'BFD send failed',
        );
      }
    }
  }

  /** One Node timer for the session's next deadline. Fired late rather than early (ceil), so a
   *  wake-up always finds something due. */
  private arm(): void {
    if (!this.socket) return;
    const due = bfdNextDeadline(this.session);
    if (due === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.armedFor <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = due;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(due - this.env.now())));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.pendingTimer) return;
    this.pendingTimer = true;
    // Timers run before I/O in Node's loop: after a stall, packets from the peer may be waiting
    // unread. Step in the check phase, after the poll phase has read them, so a late wake-up does
    // not declare a live peer silent.
    setImmediate(() => {
      this.pendingTimer = false;
      if (!this.socket) return;
      const r = bfdStep(this.session, { type: 'timer' }, this.env.now(), this.env.random);
      this.apply(r.session, r.actions);
    });
  }

  status(now: number): BfdStatus {
    const s = this.session;
    const held = bfdMayTrigger(s, now) || s.state !== 'Up' ? 0 : s.damping.holdMs - (now - (s.upSinceMs ?? now));
    return {
      peer: this.cfg.peer,
      state: s.state,
      remoteState: s.remoteState,
      localDiscr: s.config.localDiscr,
      remoteDiscr: s.remoteDiscr,
      configuredIntervalMs: this.cfg.intervalMs,
      multiplier: this.cfg.multiplier,
      txIntervalMs: bfdTxIntervalUs(s) / 1000,
      detectionTimeMs: bfdDetectionTimeUs(s) / 1000,
      remoteMinRxMs: s.remoteMinRxUs / 1000,
      remoteDetectMult: s.remoteDetectMult,
      polling: s.polling,
      everUp: s.everUp,
      timeInStateMs: Math.max(0, Math.round(now - s.since)),
      lastDownDiag: s.lastDownDiag === undefined ? null : bfdDiagName(s.lastDownDiag),
      takeoverHoldMs: Math.max(0, Math.round(held)),
      counters: { ...this.counters, drops: { ...this.counters.drops } },
    };
  }
}

/** An address compared by value (so 2001:DB8::2 and 2001:db8:0::2 are one peer). */
function key(text: string): string {
  const b = parseIp(text);
  return b ? b.bytes.join('.') : text;
}
