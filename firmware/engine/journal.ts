// One owner for every change tandem makes to the system, so that it can be undone: on a clean exit
// by the daemon itself, after a crash by the next start. Changes are written to
// `<stateDir>/changes.json` (temp file + rename, atomic); undoing is idempotent, so an intent
// recorded for a change that never happened costs nothing.
//
// The file must survive a crash of the process, not of the machine: everything it records (MACs,
// addresses, macvlans, sysctls, Accept_Mode filters) is kernel state that a reboot resets anyway. So there is no fsync,
// and address records, which a failover of many instances makes by the hundred, are coalesced into
// one write per event-loop turn (a write per address stalled the loop for ~1 s with 251 instances
// and made every backup take over). The start-up sweep in the daemon removes configured virtual
// addresses that a crash inside that window left unrecorded. MAC, link and sysctl records, rare
// and not recoverable otherwise (the original MAC), are written before the change.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { INTERFACE_SETTING_NAMES, type InterfaceSettingName } from '../../drivers/types.ts';

export interface Changes {
  pid: number;
  macs: Record<string, string>; // ifname -> original MAC
  addresses: { ifname: string; cidr: string }[];
  links: string[]; // interfaces we created (macvlans)
  settings: InterfaceSettingRecord[]; // per-interface kernel settings changed, with their original value
  filters: string[]; // Accept_Mode filters installed (Driver.setVipFilter names)
  clusters: { name: string; ifname: string }[]; // cluster data paths installed (issue #13)
}

export interface InterfaceSettingRecord {
  ifname: string;
  name: InterfaceSettingName;
  original: string;
}

export interface Undoer {
  setMac(ifname: string, mac: string): void;
  removeAddress(ifname: string, cidr: string): void;
  deleteLink(name: string): void;
  setInterfaceSetting(ifname: string, name: InterfaceSettingName, value: string): void;
  removeVipFilter(name: string): void;
  removeClusterDataPath(name: string, ifname: string): void;
}

const empty = (): Changes => ({
  pid: process.pid,
  macs: {},
  addresses: [],
  links: [],
  settings: [],
  filters: [],
  clusters: [],
});

export class Journal {
  readonly file: string;
  private data: Changes = empty();

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    this.file = join(stateDir, 'changes.json');
  }

  /** What a previous run left behind. The daemon holds the state directory's lock
   *  (drivers/state-lock.ts) before it gets here, so any record found is a dead run's. */
  leftovers(): Changes | undefined {
    let prev: Changes;
    try {
      prev = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return undefined;
    }
    if (!prev || typeof prev !== 'object') return undefined;
    const filters = Array.isArray(prev.filters) ? prev.filters.filter((f) => typeof f === 'string') : [];
    return { ...empty(), ...prev, settings: settingsOf(prev), filters, clusters: clustersOf(prev) };
  }

  recordMac(ifname: string, original: string): void {
    if (this.data.macs[ifname] !== undefined) return; // keep the first: the true original
    this.data.macs[ifname] = original;
    this.flush();
  }
  forgetMac(ifname: string): void {
    delete this.data.macs[ifname];
    this.flushSoon();
  }

  recordAddress(ifname: string, cidr: string): void {
    if (this.data.addresses.some((a) => a.ifname === ifname && a.cidr === cidr)) return;
    this.data.addresses.push({ ifname, cidr });
    this.flushSoon();
  }
  forgetAddress(ifname: string, cidr: string): void {
    const before = this.data.addresses.length;
    this.data.addresses = this.data.addresses.filter((a) => !(a.ifname === ifname && a.cidr === cidr));
    if (this.data.addresses.length !== before) this.flushSoon();
  }

  recordLink(name: string): void {
    if (!this.data.links.includes(name)) {
      this.data.links.push(name);
      this.flush();
    }
  }
  forgetLink(name: string): void {
    this.data.links = this.data.links.filter((l) => l !== name);
    this.flush();
  }

  /** Written before the filter is installed: a crash right after leaves nothing unrecorded. */
  recordFilter(name: string): void {
    if (this.data.filters.includes(name)) return;
    this.data.filters.push(name);
    this.flush();
  }
  forgetFilter(name: string): void {
    if (!this.data.filters.includes(name)) return;
    this.data.filters = this.data.filters.filter((f) => f !== name);
    this.flushSoon();
  }

  recordSetting(ifname: string, name: InterfaceSettingName, original: string): void {
    if (this.data.settings.some((x) => x.ifname === ifname && x.name === name)) return; // keep the first
    this.data.settings.push({ ifname, name, original });
    this.flush();
  }

  /** Written before the data path is installed, so a crash in between still cleans it up. */
  recordCluster(name: string, ifname: string): void {
    if (this.data.clusters.some((c) => c.name === name && c.ifname === ifname)) return;
    this.data.clusters.push({ name, ifname });
    this.flush();
  }
  forgetCluster(name: string, ifname: string): void {
    this.data.clusters = this.data.clusters.filter((c) => !(c.name === name && c.ifname === ifname));
    this.flush();
  }

  current(): Changes {
    return this.data;
  }

  /** Undo everything in `c` (best effort, each step on its own); returns the errors. */
  static undo(c: Changes, u: Undoer): string[] {
    const errors: string[] = [];
    const attempt = (what: string, f: () => void) => {
      try {
        f();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const x of c.clusters)
      attempt(`remove cluster ${x.name} from ${x.ifname}`, () => u.removeClusterDataPath(x.name, x.ifname));
    for (const a of c.addresses) attempt(`remove ${a.cidr} from ${a.ifname}`, () => u.removeAddress(a.ifname, a.cidr));
    for (const f of c.filters) attempt(`remove filter ${f}`, () => u.removeVipFilter(f));
    for (const l of c.links) attempt(`delete ${l}`, () => u.deleteLink(l));
    for (const [ifname, mac] of Object.entries(c.macs))
      attempt(`restore MAC of ${ifname}`, () => u.setMac(ifname, mac));
    for (const x of c.settings)
      attempt(`restore ${x.name} of ${x.ifname}`, () => u.setInterfaceSetting(x.ifname, x.name, x.original));
    return errors;
  }

  /** Everything is undone: start a fresh record. */
  clear(): void {
    this.data = empty();
    this.pending = false;
    rmSync(this.file, { force: true });
  }

  private pending = false;

  /** One write at the end of this event-loop turn, however many records it made. */
  private flushSoon(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      if (this.pending) this.flush();
    });
  }

  /** Writes the record now (also what a pending flushSoon would have written). */
  flush(): void {
    this.pending = false;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o640);
    try {
      writeSync(fd, JSON.stringify(this.data));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}

/** The settings records of a journal, keeping only well-formed ones; a journal written before
 *  settings were typed held raw /proc/sys paths, which are read back only if they name one. */
function settingsOf(prev: Partial<Changes> & { sysctls?: Record<string, string> }): InterfaceSettingRecord[] {
  const known = (n: unknown): n is InterfaceSettingName => INTERFACE_SETTING_NAMES.includes(n as InterfaceSettingName);
  const out: InterfaceSettingRecord[] = [];
  for (const x of Array.isArray(prev.settings) ? prev.settings : []) {
    if (x && typeof x.ifname === 'string' && known(x.name) && typeof x.original === 'string') out.push(x);
  }
  for (const [path, original] of Object.entries(prev.sysctls ?? {})) {
    const m = /^\/proc\/sys\/net\/ipv[46]\/conf\/([^/]{1,15})\/([a-z_0-9]+)$/.exec(path);
    if (m && known(m[2]) && typeof original === 'string') out.push({ ifname: m[1], name: m[2], original });
  }
  return out;
}

function clustersOf(prev: Partial<Changes>): Changes['clusters'] {
  const list = Array.isArray(prev.clusters) ? prev.clusters : [];
  return list.filter((c) => c && typeof c.name === 'string' && typeof c.ifname === 'string');
}
