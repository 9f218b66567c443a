// The update agent: A/B slots under one root, signed bundles, trial boots with automatic rollback.
//
// Layout under root (default /var/lib/tandem):
//   slots/a, slots/b   a slot = the payload (tandem.js, tandem-ota.js, node_modules, ...) plus
//                      manifest.json, manifest.sig, slot.json and the `node` runtime
//   current            symlink -> slots/<active>; the launcher runs current/node current/tandem.js
//   ota-state.json     OtaState (state.ts), replaced atomically
//   trial              present while the active slot is on trial; holds the previous slot's letter
//                      so the launcher can run the previous (known-good) slot's boot check
//   download/          a partial download and its offset, kept across restarts
//   staging/           a bundle being unpacked and verified; never a slot until renamed into one
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  promises as fsp,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  type ReadStream,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash, type KeyObject } from 'node:crypto';
import * as tar from 'tar';
import { clearPartial, download, DownloadError, readPartRecord } from './download.ts';
import {
  exists,
  freeBytes,
  fsyncDir,
  fsyncTree,
  hashFile,
  readLinkOrNull,
  switchSymlink,
  switchSymlinkSync,
  writeFileAtomic,
  writeFileAtomicSync,
} from './fsutil.ts';
import {
  checkCompatible,
  checkSignature,
  loadPublicKey,
  MANIFEST_NAME,
  parseManifest,
  PAYLOAD_DIR,
  SIGNATURE_NAME,
  type Manifest,
  type VerifyReason,
} from './manifest.ts';
import {
  decideBoot,
  emptyState,
  other,
  reconcile,
  type BootDecision,
  type LastResult,
  type OtaState,
  type Slot,
  type SlotInfo,
} from './state.ts';

export type { BootDecision, OtaState, Slot } from './state.ts';

/** pino-compatible subset. */
export interface OtaLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

export type ApplyStep = 'download' | 'verify' | 'write' | 'switch' | 'done';
export interface ApplyProgress {
  step: ApplyStep;
  bytesDone: number;
  bytesTotal: number;
  percent: number;
}

/** Why an operation failed. Verification reasons come from manifest.ts. */
export type OtaReason =
  | VerifyReason
  | 'busy'
  | 'trial-pending'
  | 'no-space'
  | 'timeout'
  | 'http-error'
  | 'network'
  | 'not-found'
  | 'io-error'
  | 'nothing-to-confirm'
  | 'no-previous-slot'
  | 'slot-corrupt'
  | 'too-large';

export type ApplyResult =
  | {
      ok: true;
      slot: Slot;
      version: string;
      previousVersion: string | null;
      pending: boolean;
      restartRequired: true;
      bundleSha256: string;
      downgrade: boolean;
    }
  | { ok: false; reason: OtaReason; detail: string };

export type SimpleResult =
  | { ok: true; slot: Slot; version: string | null; detail: string; restartRequired: boolean }
  | { ok: false; reason: OtaReason; detail: string };

export interface OtaStatus {
  root: string;
  active: Slot | null;
  previous: Slot | null;
  pending: boolean;
  bootCount: number;
  maxTrialBoots: number;
  staged: Slot | null;
  current: string | null;
  slots: OtaState['slots'];
  rollbackIndex: number;
  healthDeadlineS: number;
  lastResult: LastResult | null;
  lastRollback: OtaState['lastRollback'];
  download: { url: string; offset: number; total: number | null } | null;
}

/** Step boundaries, in order, at which `onStep` is called (tests kill the process at each). */
export const APPLY_CHECKPOINTS = [
  'downloaded',
  'checked',
  'unpacked',
  'slot-written',
  'staged',
  'switched',
  'done',
] as const;
export type ApplyCheckpoint = (typeof APPLY_CHECKPOINTS)[number];

export interface OtaAgentOptions {
  root: string;
  /** PEM text or paths to PEM files (Ed25519 public keys). */
  trustedKeys: string[];
  allowDowngrade?: boolean;
  target?: { os: string; arch: string };
  log?: OtaLogger;
  /** Starts a trial gets before it is rolled back (default 2). */
  maxTrialBoots?: number;
  /** ABI of the Node.js that runs the slots (default: this process's). */
  nodeAbi?: string;
  /** How long the daemon waits for health before confirming; recorded for status (default 120 s). */
  healthDeadlineS?: number;
  /** Network idle timeout (default 15 s) and whole-download deadline (default 30 min). */
  netIdleTimeoutMs?: number;
  netTotalTimeoutMs?: number;
  /** Largest bundle accepted, downloaded or local (default 1 GiB). */
  maxBundleBytes?: number;
  /** Bytes a download leaves free on the OTA root's file system (default 16 MiB). */
  reserveBytes?: number;
  now?: () => number;
  /** Called at each step boundary of apply (observability, fault-injection tests). */
  onStep?: (step: ApplyCheckpoint) => void | Promise<void>;
}

/** Names a payload may not use at a slot's top level: the agent writes them. */
const RESERVED = new Set([MANIFEST_NAME, SIGNATURE_NAME, 'slot.json', 'node', 'trial.log', 'rolled-back.json']);
const DIAG_LINES = 50;
const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;
const RESERVE_BYTES = 16 * 1024 * 1024;
/** Roots with an apply running in this process: the lock file alone let a second apply in the
 *  same daemon take it over (same pid) and share the staging directory with the first. */
const APPLYING = new Set<string>();

export class OtaAgent {
  readonly root: string;
  private readonly keys: KeyObject[];
  private readonly keyErrors: string[] = [];
  private readonly opts: OtaAgentOptions;
  private readonly target: { os: string; arch: string };
  private readonly maxBoots: number;

  constructor(opts: OtaAgentOptions) {
    this.opts = opts;
    this.root = resolve(opts.root);
    this.target = opts.target ?? { os: process.platform, arch: process.arch };
    this.maxBoots = opts.maxTrialBoots ?? 2;
    this.keys = [];
    for (const k of opts.trustedKeys) {
      try {
        this.keys.push(loadPublicKey(k));
      } catch (e) {
        this.keyErrors.push(`${k.includes('BEGIN') ? 'PEM' : k}: ${(e as Error).message}`);
      }
    }
    for (const e of this.keyErrors) this.log('warn', { error: e }, 'ignoring a trusted key that does not load');
  }

  // ---------------------------------------------------------------- paths and state

  /** A path under the OTA root. */
  private underRoot(...parts: string[]): string {
    return join(this.root, ...parts);
  }
  private slotDir(s: Slot): string {
    return this.underRoot('slots', s);
  }
  private nowIso(): string {
    return new Date(this.opts.now?.() ?? Date.now()).toISOString();
  }
  private log(level: 'info' | 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    this.opts.log?.[level]({ component: 'ota', ...obj }, msg);
  }

  private linkedSlot(): Slot | null {
    let t: string | null;
    try {
      t = readlinkSync(this.underRoot('current'));
    } catch {
      return null;
    }
    const b = basename(t);
    return b === 'a' || b === 'b' ? b : null;
  }

  /** Read the state, repairing it against `current` after an interrupted switch. */
  private load(): OtaState {
    let s: OtaState;
    try {
      s = { ...emptyState(), ...JSON.parse(readFileSync(this.underRoot('ota-state.json'), 'utf8')) };
    } catch {
      s = emptyState();
    }
    let linked = this.linkedSlot();
    if (linked === null && s.active !== null && existsSync(this.slotDir(s.active))) {
      switchSymlinkSync(this.underRoot('current'), `slots/${s.active}`); // the link was lost: state knows
      linked = s.active;
    }
    const r = reconcile(s, linked, this.nowIso());
    if (r.note) {
      this.log('warn', { note: r.note }, 'repaired OTA state');
      if (!r.state.pending || r.state.active === null) this.clearTrialMarker();
      else if (r.state.previous) writeFileAtomicSync(this.underRoot('trial'), `${r.state.previous}\n`);
      this.save(r.state);
    }
    return r.state;
  }

  private save(s: OtaState): void {
    writeFileAtomicSync(this.underRoot('ota-state.json'), `${JSON.stringify(s, null, 1)}\n`);
  }

  private clearTrialMarker(): void {
    rmSync(this.underRoot('trial'), { force: true });
  }

  private record(s: OtaState, r: LastResult): OtaState {
    s.lastResult = r;
    this.save(s);
    return s;
  }

  // ---------------------------------------------------------------- status

  status(): OtaStatus {
    if (!existsSync(this.root)) {
      return {
        root: this.root,
        active: null,
        previous: null,
        pending: false,
        bootCount: 0,
        maxTrialBoots: this.maxBoots,
        staged: null,
        current: null,
        slots: { a: null, b: null },
        rollbackIndex: 0,
        healthDeadlineS: this.opts.healthDeadlineS ?? 120,
        lastResult: null,
        lastRollback: null,
        download: null,
      };
    }
    const s = this.load();
    let dl: OtaStatus['download'] = null;
    try {
      const rec = JSON.parse(readFileSync(this.underRoot('download', 'bundle.part.json'), 'utf8'));
      const size = existsSync(this.underRoot('download', 'bundle.part'))
        ? statSync(this.underRoot('download', 'bundle.part')).size
        : 0;
      dl = { url: rec.url, offset: size, total: rec.total };
    } catch {
      /* no partial download */
    }
    let current: string | null = null;
    try {
      current = readlinkSync(this.underRoot('current'));
    } catch {
      /* none */
    }
    return {
      root: this.root,
      active: s.active,
      previous: s.previous,
      pending: s.pending,
      bootCount: s.bootCount,
      maxTrialBoots: this.maxBoots,
      staged: s.staged,
      current,
      slots: s.slots,
      rollbackIndex: s.rollbackIndex,
      healthDeadlineS: this.opts.healthDeadlineS ?? 120,
      lastResult: s.lastResult,
      lastRollback: s.lastRollback,
      download: dl,
    };
  }

  // ---------------------------------------------------------------- boot protocol

  /**
   * Called once per start (by the launcher through the previous slot's helper, and by the daemon).
   * TANDEM_BOOT_ID (set by the launcher) makes both calls one boot. A trial whose starts exceed
   * maxTrialBoots is rolled back here, keeping the failed run's log tail.
   */
  bootCheck(bootId: string = process.env.TANDEM_BOOT_ID || randomBytes(8).toString('hex')): BootDecision {
    if (!existsSync(this.root)) return { decision: 'none', detail: `${this.root} does not exist` };
    const s = this.load();
    const { state, decision, rollbackTo } = decideBoot(s, bootId, this.maxBoots);
    if (rollbackTo !== null && decision.decision === 'rolled-back') {
      const failedDir = this.slotDir(decision.failedSlot);
      const diagnostics = tail(join(failedDir, 'trial.log'), DIAG_LINES);
      state.lastRollback = {
        at: this.nowIso(),
        from: decision.failedSlot,
        to: rollbackTo,
        failedVersion: decision.failedVersion,
        bootCount: s.bootCount,
        reason: decision.reason,
        diagnostics,
        reported: false,
      };
      state.lastResult = {
        op: 'boot',
        ok: false,
        at: this.nowIso(),
        version: decision.failedVersion ?? undefined,
        reason: 'rolled-back',
        detail: decision.reason,
      };
      try {
        writeFileSync(join(failedDir, 'rolled-back.json'), `${JSON.stringify(state.lastRollback, null, 1)}\n`);
      } catch {
        /* slot may be gone */
      }
      // Link first, then state: a kill in between leaves current at the previous slot, which
      // reconcile() reads as a finished rollback.
      switchSymlinkSync(this.underRoot('current'), `slots/${rollbackTo}`);
      this.save(state);
      this.clearTrialMarker();
      this.log(
        'error',
        { failed: decision.failedVersion, to: decision.version, reason: decision.reason },
        'trial failed: rolled back',
      );
    } else {
      this.save(state);
      if (decision.decision === 'trial')
        this.log(
          'warn',
          { version: decision.version, boot: decision.bootCount, of: decision.maxBoots },
          'starting a trial boot: not yet confirmed',
        );
    }
    return decision;
  }

  /** Acknowledge that telemetry has reported the last rollback. */
  rollbackReported(): void {
    const s = this.load();
    if (s.lastRollback && !s.lastRollback.reported) {
      s.lastRollback.reported = true;
      this.save(s);
    }
  }

  /** The daemon's verdict: config loaded, instances out of init, no crash for the deadline. */
  markHealthy(): SimpleResult {
    return this.confirm('health');
  }

  /** Confirm the trial: it becomes the slot to keep, and its rollback index becomes the floor. */
  confirm(by: 'health' | 'operator' = 'operator'): SimpleResult {
    const s = this.load();
    if (s.active === null) return { ok: false, reason: 'nothing-to-confirm', detail: 'no slot installed' };
    const info = s.slots[s.active];
    if (!s.pending)
      return {
        ok: true,
        slot: s.active,
        version: info?.version ?? null,
        detail: 'already confirmed',
        restartRequired: false,
      };
    s.pending = false;
    s.bootCount = 0;
    s.rollbackIndex = Math.max(s.rollbackIndex, info?.rollbackIndex ?? 0);
    this.record(s, {
      op: 'confirm',
      ok: true,
      at: this.nowIso(),
      version: info?.version,
      detail: `confirmed by ${by}`,
    });
    this.clearTrialMarker();
    this.log('info', { version: info?.version, by }, 'update confirmed');
    return {
      ok: true,
      slot: s.active,
      version: info?.version ?? null,
      detail: `confirmed by ${by}`,
      restartRequired: false,
    };
  }

  /** Switch back to the previous slot after checking its files; the daemon must restart to run it. */
  async rollback(): Promise<SimpleResult> {
    const s = this.load();
    if (s.active === null || s.previous === null || !s.slots[s.previous]) {
      return { ok: false, reason: 'no-previous-slot', detail: 'there is no previous slot to go back to' };
    }
    const to = s.previous;
    const v = await verifySlot(this.slotDir(to));
    if (!v.ok) {
      this.record(s, { op: 'rollback', ok: false, at: this.nowIso(), reason: 'slot-corrupt', detail: v.detail });
      return { ok: false, reason: 'slot-corrupt', detail: `slot ${to}: ${v.detail}` };
    }
    const from = s.active;
    s.active = to;
    s.previous = from;
    s.pending = false;
    s.bootCount = 0;
    s.staged = null;
    await switchSymlink(this.underRoot('current'), `slots/${to}`); // link first: see bootCheck
    this.clearTrialMarker();
    this.record(s, {
      op: 'rollback',
      ok: true,
      at: this.nowIso(),
      version: s.slots[to]?.version,
      detail: `operator rolled back from slot ${from}`,
    });
    this.log('warn', { from, to, version: s.slots[to]?.version }, 'rolled back by operator');
    return {
      ok: true,
      slot: to,
      version: s.slots[to]?.version ?? null,
      detail: `now slot ${to}`,
      restartRequired: true,
    };
  }

  // ---------------------------------------------------------------- apply

  /** Install a bundle from a path, file:// or http(s):// URL into the inactive slot and switch to it on trial. */
  async apply(
    source: string,
    onProgress?: (p: ApplyProgress) => void,
    opts: { sha256?: string } = {},
  ): Promise<ApplyResult> {
    if (APPLYING.has(this.root)) return { ok: false, reason: 'busy', detail: 'another update is running' };
    APPLYING.add(this.root);
    try {
      return await this.applyLocked(source, onProgress, opts);
    } finally {
      APPLYING.delete(this.root);
    }
  }

  private async applyLocked(
    source: string,
    onProgress: ((p: ApplyProgress) => void) | undefined,
    opts: { sha256?: string },
  ): Promise<ApplyResult> {
    await fsp.mkdir(this.underRoot('slots'), { recursive: true });
    const lock = await this.lock();
    if (!lock.ok) return lock;
    // Set once a download completed: any later failure (a bad signature, a digest) removes it, or
    // a bad first download would be "resumed" from its complete, bad bytes forever.
    let downloaded = false;
    let succeeded = false;
    const progress = new Progress(onProgress);
    let s = this.load();
    const fail = (reason: OtaReason, detail: string): ApplyResult => {
      try {
        this.record(this.load(), { op: 'apply', ok: false, at: this.nowIso(), reason, detail });
      } catch {
        /* best effort */
      }
      this.log('error', { reason, detail, source }, 'update refused');
      return { ok: false, reason, detail };
    };
    try {
      if (this.keys.length === 0)
        return fail(
          'untrusted-signature',
          `no trusted keys loaded${this.keyErrors.length ? ` (${this.keyErrors.join('; ')})` : ''}`,
        );
      if (s.pending)
        return fail(
          'trial-pending',
          `slot ${s.active} (${s.slots[s.active!]?.version}) is on trial: confirm or roll back first`,
        );

      // 1. Obtain the bundle.
      let file: string;
      let bundleSha256: string;
      const isUrl = /^https?:\/\//i.test(source);
      if (isUrl) {
        progress.step('download');
        try {
          const r = await download(source, {
            dir: this.underRoot('download'),
            idleTimeoutMs: this.opts.netIdleTimeoutMs,
            totalTimeoutMs: this.opts.netTotalTimeoutMs,
            reserveBytes: this.opts.reserveBytes ?? RESERVE_BYTES,
            maxBytes: this.opts.maxBundleBytes ?? MAX_BUNDLE_BYTES,
            onBytes: (done, total) => progress.download(done, total),
          });
          downloaded = true;
          file = r.file;
          bundleSha256 = r.sha256;
          if (r.resumedFrom > 0) this.log('info', { from: r.resumedFrom, bytes: r.bytes }, 'download resumed');
        } catch (e) {
          // A bundle that is too large is not resumed later either.
          if (e instanceof DownloadError && e.reason === 'too-large') await clearPartial(this.underRoot('download'));
          if (e instanceof DownloadError) return fail(e.reason, e.message.replace(/^[a-z-]+: /, ''));
          return fail('network', (e as Error).message);
        }
      } else {
        file = source.startsWith('file://') ? new URL(source).pathname : resolve(source);
        if (!existsSync(file)) return fail('not-found', `${file} does not exist`);
        // A device or a FIFO (/dev/zero) would be hashed forever.
        const st = statSync(file);
        if (!st.isFile()) return fail('not-found', `${file} is not a regular file`);
        const max = this.opts.maxBundleBytes ?? MAX_BUNDLE_BYTES;
        if (st.size > max) return fail('too-large', `the bundle is ${st.size} bytes, limit ${max}`);
        bundleSha256 = (await hashFile(file)).sha256;
      }
      if (opts.sha256 && opts.sha256.toLowerCase() !== bundleSha256) {
        if (isUrl) await clearPartial(this.underRoot('download'));
        return fail('digest-mismatch', `bundle sha256 ${bundleSha256}, expected ${opts.sha256}`);
      }
      const bundleBytes = (await fsp.stat(file)).size;
      progress.setBundle(bundleBytes);
      await this.opts.onStep?.('downloaded');

      // 2. Signature, target, ABI, rollback index: before a byte is unpacked.
      progress.step('verify');
      const head = await readHead(file);
      if (!head.ok) return fail(head.reason, head.detail);
      const sig = checkSignature(head.manifestBytes, head.sigBytes, this.keys);
      if (!sig.ok) return fail(sig.reason, sig.detail);
      const parsed = parseManifest(head.manifestBytes);
      if (!parsed.ok) return fail(parsed.reason, parsed.detail);
      const m = parsed.manifest;
      for (const f of m.files)
        if (RESERVED.has(f.path)) return fail('unexpected-file', `payload may not contain ${f.path}`);
      const compat = checkCompatible(m, {
        target: this.target,
        nodeAbi: this.opts.nodeAbi ?? process.versions.modules,
        installedIndex: s.rollbackIndex,
        allowDowngrade: !!this.opts.allowDowngrade,
      });
      if (!compat.ok) return fail(compat.reason, compat.detail);
      const downgrade = m.rollbackIndex < s.rollbackIndex;
      if (downgrade)
        this.log(
          'warn',
          { index: m.rollbackIndex, installed: s.rollbackIndex, version: m.version },
          'downgrade allowed by override',
        );
      await this.opts.onStep?.('checked');

      // 3. Make room: the inactive slot goes (it is not the fallback: the active slot is).
      const slot: Slot = s.active === null ? 'a' : other(s.active);
      if (s.slots[slot] || existsSync(this.slotDir(slot))) {
        if (s.previous === slot) s.previous = null;
        s.slots[slot] = null;
        this.save(s);
        await fsp.rm(this.slotDir(slot), { recursive: true, force: true });
      }
      const payloadBytes = m.files.reduce((n, f) => n + f.size, 0);
      const srcNode = s.active ? join(this.slotDir(s.active), 'node') : null;
      const nodeBytes = srcNode && existsSync(srcNode) ? statSync(srcNode).size : 0;
      const need = payloadBytes + nodeBytes + 1024 * 1024; // + room for slot.json and directories
      const free = await freeBytes(this.root);
      if (free < need) return fail('no-space', `need ${need} bytes in ${this.root}, have ${free}`);
      progress.setPayload(payloadBytes + nodeBytes);

      // 4. Unpack into staging/, hashing every file against the manifest.
      const staging = this.underRoot('staging');
      await fsp.rm(staging, { recursive: true, force: true });
      await fsp.mkdir(staging, { recursive: true });
      const ex = await extractVerified(file, staging, m, (n) => progress.verify(n));
      if (!ex.ok) {
        await fsp.rm(staging, { recursive: true, force: true });
        return fail(ex.reason, ex.detail);
      }
      await fsp.writeFile(join(staging, MANIFEST_NAME), head.manifestBytes);
      await fsp.writeFile(join(staging, SIGNATURE_NAME), head.sigBytes);
      if (srcNode && nodeBytes > 0) {
        await fsp.copyFile(srcNode, join(staging, 'node'));
        await fsp.chmod(join(staging, 'node'), 0o755);
      }
      const info: SlotInfo = {
        version: m.version,
        rollbackIndex: m.rollbackIndex,
        bundleSha256,
        installedAt: this.nowIso(),
        target: m.target,
      };
      await fsp.writeFile(
        join(staging, 'slot.json'),
        `${JSON.stringify(
          { ...info, runtime: nodeBytes > 0 ? `node copied from slot ${s.active}` : 'system node' },
          null,
          1,
        )}\n`,
      );
      await this.opts.onStep?.('unpacked');

      // 5. Durable, then renamed into the slot (one rename: a slot is whole or absent).
      progress.step('write');
      await fsyncTree(staging, (n) => progress.write(n));
      // Read back what is on disk: a write error or a bad disk shows here, not at the next boot.
      const back = await verifySlot(staging);
      if (!back.ok) {
        await fsp.rm(staging, { recursive: true, force: true });
        return fail('digest-mismatch', `after writing: ${back.detail}`);
      }
      await fsp.rename(staging, this.slotDir(slot));
      await fsyncDir(this.underRoot('slots'));
      await this.opts.onStep?.('slot-written');

      // 6. Intent, then the commit point (the link), then the state that matches it.
      progress.step('switch');
      s = this.load();
      s.slots[slot] = info;
      s.staged = slot;
      this.save(s);
      if (s.active !== null) await writeFileAtomic(this.underRoot('trial'), `${s.active}\n`);
      await this.opts.onStep?.('staged');
      await switchSymlink(this.underRoot('current'), `slots/${slot}`);
      await this.opts.onStep?.('switched');
      const prevVersion = s.active ? (s.slots[s.active]?.version ?? null) : null;
      s.previous = s.active;
      s.active = slot;
      s.pending = s.previous !== null; // a first install has nothing to fall back to
      if (!s.pending) s.rollbackIndex = Math.max(s.rollbackIndex, m.rollbackIndex);
      s.bootCount = 0;
      s.staged = null;
      s.lastBootId = null;
      s.lastDecision = null;
      this.record(s, {
        op: 'apply',
        ok: true,
        at: this.nowIso(),
        version: m.version,
        detail:
          `installed in slot ${slot}` +
          (s.pending ? ', on trial until confirmed' : '') +
          (downgrade ? ', downgrade by override' : ''),
      });
      if (isUrl) await clearPartial(this.underRoot('download'));
      succeeded = true;
      await this.opts.onStep?.('done');
      progress.finish();
      this.log(
        'info',
        { version: m.version, slot, previous: prevVersion, pending: s.pending },
        'update installed: restart to run it',
      );
      return {
        ok: true,
        slot,
        version: m.version,
        previousVersion: prevVersion,
        pending: s.pending,
        restartRequired: true,
        bundleSha256,
        downgrade,
      };
    } catch (e) {
      return fail('io-error', (e as Error).message);
    } finally {
      if (downloaded && !succeeded) await clearPartial(this.underRoot('download')).catch(() => {});
      await fsp.rm(this.underRoot('ota.lock'), { force: true });
    }
  }

  /** One apply at a time; a lock left by a killed process (dead pid) is taken over. */
  private async lock(): Promise<{ ok: true } | { ok: false; reason: 'busy'; detail: string }> {
    const file = this.underRoot('ota.lock');
    for (let i = 0; i < 2; i++) {
      try {
        await fsp.writeFile(file, String(process.pid), { flag: 'wx' });
        return { ok: true };
      } catch {
        const pid = Number(await fsp.readFile(file, 'utf8').catch(() => '0'));
        if (pid > 0 && pid !== process.pid && alive(pid))
          return { ok: false, reason: 'busy', detail: `another update is running (pid ${pid})` };
        await fsp.rm(file, { force: true });
      }
    }
    return { ok: false, reason: 'busy', detail: 'could not take the update lock' };
  }
}

// ------------------------------------------------------------------ helpers

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, n: number): string[] {
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n);
  } catch {
    return [];
  }
}

/** Byte-weighted progress over download, verify (bundle bytes read), write (payload fsynced), switch. */
class Progress {
  private dl = { done: 0, total: 0 };
  private bundle = 0;
  private verified = 0;
  private payload = 0;
  private written = 0;
  private switched = false;
  private cur: ApplyStep = 'download';
  private last = -1;
  constructor(private readonly cb?: (p: ApplyProgress) => void) {}
  step(s: ApplyStep) {
    this.cur = s;
    this.emit();
  }
  download(done: number, total: number) {
    this.dl = { done, total };
    this.emit();
  }
  setBundle(n: number) {
    this.bundle = n;
    if (this.dl.total) this.dl.done = this.dl.total;
  }
  setPayload(n: number) {
    this.payload = n;
  }
  verify(n: number) {
    this.verified = Math.min(this.bundle, this.verified + n);
    this.emit();
  }
  write(n: number) {
    this.written = Math.min(this.payload, this.written + n);
    this.emit();
  }
  finish() {
    this.switched = true;
    this.verified = this.bundle;
    this.written = this.payload;
    this.cur = 'done';
    this.emit();
  }
  private emit() {
    if (!this.cb) return;
    // Until the manifest is read the payload size is a guess: three times the compressed bundle.
    const bundle = this.bundle || this.dl.total;
    const payload = this.payload || bundle * 3;
    const sw = Math.max(1, Math.round((this.dl.total + bundle + payload) / 100));
    const total = this.dl.total + bundle + payload + sw;
    const done = this.dl.done + this.verified + this.written + (this.switched ? sw : 0);
    let percent = total > 0 ? Math.floor((100 * done) / total) : 0;
    if (!this.switched) percent = Math.min(99, percent);
    percent = Math.max(percent, this.last); // never goes backwards when an estimate is corrected
    this.last = percent;
    this.cb({ step: this.cur, bytesDone: done, bytesTotal: total, percent });
  }
}

type HeadResult =
  | { ok: true; manifestBytes: Buffer; sigBytes: Buffer }
  | { ok: false; reason: VerifyReason | 'io-error'; detail: string };

/** Read manifest.json and manifest.sig, which must be the bundle's first two entries, and stop. */
export function readHead(file: string): Promise<HeadResult> {
  return new Promise((resolvePromise) => {
    const got: Record<string, Buffer> = {};
    let n = 0;
    let settled = false;
    const src: ReadStream = createReadStream(file);
    const settle = (r: HeadResult) => {
      if (settled) return;
      settled = true;
      src.destroy();
      resolvePromise(r);
    };
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (e) => {
        n++;
        if (n > 2 || (e.path !== MANIFEST_NAME && e.path !== SIGNATURE_NAME) || e.size > 16 * 1024 * 1024) {
          e.resume();
          if (n <= 2)
            settle({
              ok: false,
              reason: 'bad-manifest',
              detail: `bundle must start with ${MANIFEST_NAME} and ${SIGNATURE_NAME}, found ${e.path}`,
            });
          return;
        }
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => {
          got[e.path] = Buffer.concat(chunks);
          if (got[MANIFEST_NAME] && got[SIGNATURE_NAME])
            settle({ ok: true, manifestBytes: got[MANIFEST_NAME], sigBytes: got[SIGNATURE_NAME] });
        });
      },
    });
    parser.on('error', (e: Error) =>
      settle({ ok: false, reason: 'bad-manifest', detail: `not a bundle: ${e.message}` }),
    );
    parser.on('end', () =>
      settle({
        ok: false,
        reason: 'bad-manifest',
        detail: `bundle lacks ${got[MANIFEST_NAME] ? SIGNATURE_NAME : MANIFEST_NAME}`,
      }),
    );
    src.on('error', (e) => settle({ ok: false, reason: 'io-error', detail: e.message }));
    src.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

type ExtractResult = { ok: true } | { ok: false; reason: VerifyReason | 'io-error'; detail: string };

/** Unpack payload/ into `dir`, checking each file's size and sha256 against the manifest as it streams. */
export function extractVerified(
  file: string,
  dir: string,
  m: Manifest,
  onBytes: (n: number) => void,
): Promise<ExtractResult> {
  const want = new Map(m.files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  return new Promise((resolvePromise) => {
    let settled = false;
    const pending: Promise<void>[] = [];
    const open = new Set<ReturnType<typeof createWriteStream>>();
    const src = createReadStream(file);
    // On failure, close every file still being written before answering: the caller removes the
    // staging directory next, and a write landing in it meanwhile made that removal fail
    // (ENOTEMPTY), turning 'digest-mismatch' into 'io-error'.
    const settle = (r: ExtractResult) => {
      if (settled) return;
      settled = true;
      src.destroy();
      if (r.ok) {
        resolvePromise(r);
        return;
      }
      for (const ws of open) ws.destroy();
      void Promise.all(pending).then(() => resolvePromise(r));
    };
    src.on('data', (c) => onBytes((c as Buffer).length));
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (e) => {
        if (settled) {
          e.resume();
          return;
        }
        if (e.path === MANIFEST_NAME || e.path === SIGNATURE_NAME) {
          e.resume();
          return;
        }
        if (e.type === 'Directory') {
          e.resume();
          return;
        }
        const rel = e.path.startsWith(`${PAYLOAD_DIR}/`) ? e.path.slice(PAYLOAD_DIR.length + 1) : null;
        const f = rel !== null ? want.get(rel) : undefined;
        if (e.type !== 'File' || !f || seen.has(f.path)) {
          e.resume();
          settle({
            ok: false,
            reason: 'unexpected-file',
            detail: `${e.path} (${e.type}) is not in the signed manifest`,
          });
          return;
        }
        seen.add(f.path);
        const out = join(dir, f.path);
        const h = createHash('sha256');
        let size = 0;
        // Directories synchronously, so the entry is piped before the parser hands out the next one.
        try {
          mkdirSync(dirname(out), { recursive: true });
        } catch (err) {
          e.resume();
          settle({ ok: false, reason: 'io-error', detail: `${f.path}: ${(err as Error).message}` });
          return;
        }
        const ws = createWriteStream(out, { mode: f.mode & 0o777 });
        open.add(ws);
        // Copy each chunk: the parser may reuse the memory behind it before an async write lands.
        e.on('data', (c: Buffer) => {
          if (settled) return;
          // Tar headers are not signed: stop at the manifest's size, not when the entry ends.
          if (size + c.length > f.size) {
            settle({
              ok: false,
              reason: 'digest-mismatch',
              detail: `${f.path}: exceeds its manifest size of ${f.size} bytes`,
            });
            return;
          }
          h.update(c);
          size += c.length;
          if (!ws.write(Buffer.from(c))) {
            e.pause();
            ws.once('drain', () => e.resume());
          }
        });
        e.on('end', () => ws.end());
        pending.push(
          new Promise<void>((res) => {
            ws.on('error', (err) => {
              open.delete(ws);
              settle({ ok: false, reason: 'io-error', detail: `${f.path}: ${err.message}` });
              res();
            });
            ws.on('close', () => {
              open.delete(ws);
              const sha = h.digest('hex');
              if (size !== f.size || sha !== f.sha256) {
                settle({
                  ok: false,
                  reason: 'digest-mismatch',
                  detail: `${f.path}: sha256 ${sha} (${size} bytes), manifest says ${f.sha256} (${f.size} bytes)`,
                });
              }
              res();
            });
          }),
        );
      },
    });
    parser.on('error', (e: Error) =>
      settle({ ok: false, reason: 'bad-manifest', detail: `bundle unreadable: ${e.message}` }),
    );
    parser.on('end', () => {
      Promise.all(pending).then(() => {
        const missing = m.files.filter((f) => !seen.has(f.path));
        if (missing.length)
          settle({
            ok: false,
            reason: 'missing-file',
            detail: `bundle lacks ${missing
              .slice(0, 5)
              .map((f) => f.path)
              .join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
          });
        else settle({ ok: true });
      });
    });
    src.on('error', (e) => settle({ ok: false, reason: 'io-error', detail: e.message }));
    src.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

export type SlotCheck = { ok: true; manifest: Manifest } | { ok: false; detail: string };

/** Re-hash an installed slot against the manifest it was installed from. */
export async function verifySlot(dir: string): Promise<SlotCheck> {
  let m: Manifest;
  try {
    const p = parseManifest(await fsp.readFile(join(dir, MANIFEST_NAME)));
    if (!p.ok) return { ok: false, detail: p.detail };
    m = p.manifest;
  } catch (e) {
    return { ok: false, detail: `no manifest: ${(e as Error).message}` };
  }
  for (const f of m.files) {
    if (!(await exists(join(dir, f.path)))) return { ok: false, detail: `${f.path} is missing` };
    const h = await hashFile(join(dir, f.path));
    if (h.sha256 !== f.sha256 || h.size !== f.size) return { ok: false, detail: `${f.path} does not match its digest` };
  }
  return { ok: true, manifest: m };
}

export { readPartRecord };
