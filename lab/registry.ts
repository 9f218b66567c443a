// Labs started by `tandem lab` leave a record in REGISTRY_DIR (the lab process's pid and its temp
// dir) and name every namespace `lab` + 4 hex digits, a prefix the test helpers never generate
// (theirs is `t` + hex). `tandem lab down` finds labs by both, so it also removes a lab whose
// process was SIGKILLed, and never touches another tool's namespaces.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { destroyAllWithPrefix, listNamespaces } from './netns.ts';

export const REGISTRY_DIR = '/run/tandem-lab';
/** A demo lab's namespace: PREFIX-sw, PREFIX-rN or PREFIX-cN, PREFIX = lab + 4 hex digits. */
export const LAB_NS_RE = /^(lab[0-9a-f]{4})-(sw|r\d+|c\d+)$/;

export interface LabRecord {
  name: string;
  /** The `tandem lab` process that owns it. */
  pid: number;
  /** Its temp dir (configs, state, sockets). */
  dir: string;
  startedAt: string;
}

export function newLabName(): string {
  return `lab${randomBytes(2).toString('hex')}`;
}

export function writeRecord(r: LabRecord, registryDir = REGISTRY_DIR): void {
  mkdirSync(registryDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(registryDir, `${r.name}.json`), `${JSON.stringify(r)}\n`);
}

export function removeRecord(name: string, registryDir = REGISTRY_DIR): void {
  rmSync(join(registryDir, `${name}.json`), { force: true });
}

export function readRecords(registryDir = REGISTRY_DIR): LabRecord[] {
  if (!existsSync(registryDir)) return [];
  const out: LabRecord[] = [];
  for (const f of readdirSync(registryDir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(registryDir, f), 'utf8')) as LabRecord;
      if (typeof r.name === 'string' && /^lab[0-9a-f]{4}$/.test(r.name) && Number.isInteger(r.pid)) out.push(r);
    } catch {
      /* half-written or foreign: ignore */
    }
  }
  return out;
}

/** Prefixes of demo labs that have namespaces now. */
export function labPrefixesInUse(namespaces = listNamespaces()): string[] {
  const s = new Set<string>();
  for (const n of namespaces) {
    const m = LAB_NS_RE.exec(n);
    if (m) s.add(m[1]);
  }
  return [...s].sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True when `pid` is a node process running `tandem lab` (not a recycled pid). */
function isLabProcess(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // `tandem lab` (the bundle) or `node --import tsx lab/cli.ts` (./build.sh lab, from source).
    return argv.includes('lab') || argv.some((a) => a.endsWith('lab/cli.ts'));
  } catch {
    return false;
  }
}

export interface DownReport {
  /** Labs whose owning process was asked to stop (it tears its own lab down). */
  signalled: string[];
  /** Namespaces deleted here (left by a crashed or stubborn lab process). */
  deletedNamespaces: string[];
  /** Temp dirs removed. */
  removedDirs: string[];
}

/**
 * Remove every demo lab on this machine: SIGTERM each live owner and give it `graceMs` to clean up
 * after itself, then delete whatever namespaces and temp dirs are still left.
 */
export async function labDown(opts: { graceMs?: number; registryDir?: string } = {}): Promise<DownReport> {
  const graceMs = opts.graceMs ?? 8000;
  const registryDir = opts.registryDir ?? REGISTRY_DIR;
  const records = readRecords(registryDir);
  const report: DownReport = { signalled: [], deletedNamespaces: [], removedDirs: [] };
  const owners = records.filter((r) => r.pid !== process.pid && alive(r.pid) && isLabProcess(r.pid));
  for (const r of owners) {
    try {
      process.kill(r.pid, 'SIGTERM');
      report.signalled.push(r.name);
    } catch {
      /* gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (owners.some((r) => alive(r.pid)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  for (const r of owners)
    if (alive(r.pid)) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  for (const prefix of labPrefixesInUse()) report.deletedNamespaces.push(...destroyAllWithPrefix(prefix));
  for (const r of records) {
    if (r.dir && existsSync(r.dir) && r.dir.includes('tandem-lab-')) {
      rmSync(r.dir, { recursive: true, force: true });
      report.removedDirs.push(r.dir);
    }
    removeRecord(r.name, registryDir);
  }
  return report;
}
