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
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { INTERFACE_SETTING_NAMES, type InterfaceSettingName } from '../../drivers/types.ts';

export interface Changes {
  pid: number;
  bootId?: string; // the kernel's boot id when written: after a reboot there is nothing to undo
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

/** Linux's per-boot random id; undefined where there is none (the BSDs). */
function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
const BOOT_ID = readBootId();

const empty = (): Changes => ({
  pid: process.pid,
  ...(BOOT_ID ? { bootId: BOOT_ID } : {}),
  macs: {},
  addresses: [],
  links: [],
  settings: [],
  filters: [],
  clusters: [],
});

// What a journal may name, checked before anything in it is undone as root (issue #12): a
// tampered or corrupt file must not make the start remove arbitrary links or addresses.
const IFNAME_RE = /^[^\s/:]{1,15}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const CIDR_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:.]{2,45})\/\d{1,3}$/i;
/** Only links tandem makes: the macvlans of instance.ts macvlanName(). */
const OWN_LINK_RE = /^(?:vr|cp)[46]\.\d{1,10}\.\d{1,3}$/;
/** Accept_Mode chains (drivers/linux/nft.ts) and cluster names (config: `A-Za-z0-9_.-`, 1..32). */
const FILTER_RE = /^[a-z][a-z0-9_]{0,63}$/;
const CLUSTER_NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/** The well-formed records of a journal; anything else is dropped and named in `rejected`. */
export function validChanges(prev: unknown): { changes: Changes; rejected: string[] } {
  const rejected: string[] = [];
  const c = empty();
  if (!prev || typeof prev !== 'object' || Array.isArray(prev)) return { changes: c, rejected: ['not an object'] };
  const p = prev as Record<string, unknown>;
  if (typeof p.pid === 'number') c.pid = p.pid;
  if (p.macs && typeof p.macs === 'object' && !Array.isArray(p.macs)) {
    for (const [ifname, mac] of Object.entries(p.macs as Record<string, unknown>)) {
      if (IFNAME_RE.test(ifname) && typeof mac === 'string' && MAC_RE.test(mac)) c.macs[ifname] = mac;
      else rejected.push(`mac ${ifname.slice(0, 32)}`);
    }
  }
  for (const a of Array.isArray(p.addresses) ? p.addresses : []) {
    if (
      a &&
      typeof a.ifname === 'string' &&
      IFNAME_RE.test(a.ifname) &&
      typeof a.cidr === 'string' &&
      CIDR_RE.test(a.cidr)
    )
      c.addresses.push({ ifname: a.ifname, cidr: a.cidr });
    else rejected.push(`address ${JSON.stringify(a).slice(0, 64)}`);
  }
  for (const l of Array.isArray(p.links) ? p.links : []) {
    if (typeof l === 'string' && OWN_LINK_RE.test(l)) c.links.push(l);
    else rejected.push(`link ${String(l).slice(0, 32)}`);
  }
  c.settings = settingsOf(p as Partial<Changes>).filter((x) => IFNAME_RE.test(x.ifname));
  for (const f of Array.isArray(p.filters) ? p.filters : []) {
    if (typeof f === 'string' && FILTER_RE.test(f)) c.filters.push(f);
    else rejected.push(`filter ${String(f).slice(0, 32)}`);
  }
  for (const k of clustersOf(p as Partial<Changes>)) {
    if (CLUSTER_NAME_RE.test(k.name) && IFNAME_RE.test(k.ifname)) c.clusters.push({ name: k.name, ifname: k.ifname });
    else rejected.push(`cluster ${k.name.slice(0, 32)}`);
  }
  return { changes: c, rejected };
}

/** The state directory holds what is undone as root at the next start: it must be ours and
 *  writable by nobody else (sshd's StrictModes). */
export function checkStateDir(dir: string, uid = process.getuid?.()): string | undefined {
  const st = statSync(dir);
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    return `${dir} is owned by uid ${st.uid}, not by us (uid ${uid}) or root`;
  if (st.mode & 0o022) return `${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

export class Journal {
  readonly file: string;
  private data: Changes = empty();

  /** Records a journal could not use (malformed, or from another boot), for the start-up log. */
  readonly ignored: string[] = [];
  /** The last failed background write, if any (the next write retries). */
  writeError: string | undefined;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    const bad = checkStateDir(stateDir);
    if (bad) throw new Error(`state_dir: ${bad}: fix its owner and mode (chmod go-w)`);
    this.file = join(stateDir, 'changes.json');
  }

  /** What a previous run left behind. The daemon holds the state directory's lock
   *  (drivers/state-lock.ts) before it gets here, so any record found is a dead run's. */
  leftovers(): Changes | undefined {
    let prev: unknown;
    try {
      prev = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      return undefined;
    }
    if (!prev || typeof prev !== 'object' || Array.isArray(prev)) {
      this.ignored.push('the journal is not an object');
      return undefined;
    }
    const bootId = (prev as Changes).bootId;
    if (BOOT_ID && typeof bootId === 'string' && bootId !== BOOT_ID) {
      // Written before a reboot: the kernel state it names is gone, and what has that name now
      // (an address, a link) is someone else's.
      this.ignored.push('the journal is from an earlier boot');
      return undefined;
    }
    const { changes, rejected } = validChanges(prev);
    this.ignored.push(...rejected);
    return changes;
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
      if (!this.pending) return;
      // Thrown here it would end the engine thread: keep the record in memory, retry next time.
      try {
        this.flush();
        this.writeError = undefined;
      } catch (e) {
        this.writeError = (e as Error).message;
      }
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
