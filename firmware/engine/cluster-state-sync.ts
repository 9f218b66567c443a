// A forward cluster's state sync (docs/cluster.md, "State sync"): conntrackd runs on every node,
// NOTRACK over multicast on the sync link, so each node holds every other node's flows in its
// external cache. When buckets come to this node because a member died, the external cache is
// committed into the kernel (`conntrackd -c`), and the dead node's established flows match an
// entry on their new owner instead of being dropped as INVALID. Planned moves need no commit:
// the old owner drains its flows itself (cluster.ts).
import { join } from 'node:path';
import { type ConntrackdDriver, conntrackdDriver } from '../../drivers/conntrackd.ts';
import type { ClusterStateSyncConfig } from '../config/types.ts';
import type { ClusterSyncStatus, EngineEvent } from '../core/status.ts';
import { renderClusterConntrackdConf } from '../core/sync/index.ts';
import type { Logger } from '../runtime/log.ts';
import { SupervisedConntrackd } from './conntrackd-child.ts';
import { STATS_POLL_MS } from './state-sync.ts';

export interface ClusterStateSyncDeps {
  cluster: string;
  stateDir: string;
  log: Logger;
  now: () => number;
  emit(e: EngineEvent): void;
  driver?: ConntrackdDriver;
}

const active = (text: string, cache: string): number | null => {
  const at = text.indexOf(`cache ${cache}:`);
  const m = at < 0 ? null : /current active connections:\s*(\d+)/.exec(text.slice(at));
  return m ? Number(m[1]) : null;
};

export class ClusterStateSync {
  private readonly driver: ConntrackdDriver;
  private readonly confFile: string;
  private readonly lockFile: string;
  private child: SupervisedConntrackd | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private committing: Promise<void> | undefined;
  private commitAgain = false;
  private readonly st: ClusterSyncStatus = {
    conntrackdPid: null,
    reachable: false,
    internalCache: null,
    externalCache: null,
    commits: 0,
    commitFailures: 0,
    lastCommit: null,
    restarts: 0,
    lastError: null,
  };

  constructor(
    readonly cfg: ClusterStateSyncConfig,
    private readonly deps: ClusterStateSyncDeps,
  ) {
    this.driver = deps.driver ?? conntrackdDriver;
    this.confFile = join(deps.stateDir, `conntrackd-${deps.cluster}.conf`);
    this.lockFile = join(deps.stateDir, `conntrackd-${deps.cluster}.lock`);
  }

  start(): void {
    const d = this.deps;
    this.driver.writeConf(
      this.confFile,
      renderClusterConntrackdConf({
        interface: this.cfg.interface,
        local: this.cfg.local,
        group: this.cfg.group,
        port: this.cfg.port,
        lockFile: this.lockFile,
        socketPath: join(d.stateDir, `conntrackd-${d.cluster}.ctl`),
        logFile: join(d.stateDir, `conntrackd-${d.cluster}.log`),
      }),
    );
    this.spawn();
    this.pollTimer = setInterval(() => void this.poll(), STATS_POLL_MS);
    this.pollTimer.unref?.();
    d.log.info({ cluster: d.cluster, conf: this.confFile, group: this.cfg.group }, 'cluster state sync started');
  }

  private spawn(): void {
    const d = this.deps;
    this.child = new SupervisedConntrackd(this.driver, this.cfg.conntrackd, this.confFile, this.lockFile, {
      now: d.now,
      exited: (e, _ranMs, inMs) => {
        this.st.conntrackdPid = null;
        this.st.reachable = false;
        this.st.lastError = `conntrackd exited (code ${e.code}, signal ${e.signal}): ${e.stderr}`;
        d.log.error({ cluster: d.cluster, ...e, restartInMs: inMs }, 'conntrackd exited; restarting it');
        d.emit({ cluster: d.cluster, reason: 'cluster-sync-conntrackd-exited', restartInMs: inMs });
      },
      restarted: (pid, restarts) => {
        this.st.restarts = restarts;
        this.st.conntrackdPid = pid ?? null;
        d.log.warn({ cluster: d.cluster, pid }, 'conntrackd restarted');
      },
    });
    this.child.start();
    this.st.conntrackdPid = this.child.pid ?? null;
  }

  private async poll(): Promise<void> {
    if (!this.child?.running) return;
    const r = await this.driver.control(this.cfg.conntrackd, this.confFile, ['-s'], this.cfg.controlTimeoutMs);
    this.st.reachable = r.ok;
    if (!r.ok) return;
    this.st.internalCache = active(r.stdout, 'internal');
    this.st.externalCache = active(r.stdout, 'external');
  }

  /** A member died and its buckets (or the ones it drained) are being served here: put the flows
   *  the others replicated into the kernel. Calls that come while one runs make one more run. */
  commit(why: string): Promise<void> {
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        const r = await this.driver.control(this.cfg.conntrackd, this.confFile, ['-c'], this.cfg.controlTimeoutMs);
        const at = Date.now();
        this.st.commits++;
        this.st.lastCommit = { ok: r.ok, ms: r.ms, atUnixMs: at, ...(r.error ? { error: r.error } : {}) };
        if (r.ok) this.deps.log.info({ cluster: this.deps.cluster, why, ms: r.ms }, 'external cache committed');
        else {
          this.st.commitFailures++;
          this.st.lastError = `conntrackd -c: ${r.error}`;
          this.deps.log.error({ cluster: this.deps.cluster, why, err: r.error }, 'external cache commit failed');
          this.deps.emit({ cluster: this.deps.cluster, reason: 'cluster-sync-commit-failed', error: r.error ?? '' });
        }
      } while (this.commitAgain && !this.stopping);
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  status(): ClusterSyncStatus {
    return { ...this.st, lastCommit: this.st.lastCommit && { ...this.st.lastCommit } };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.pollTimer);
    await this.committing?.catch(() => {});
    await this.child?.stop();
    this.st.conntrackdPid = null;
    this.st.reachable = false;
  }
}
