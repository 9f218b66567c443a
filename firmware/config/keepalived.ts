// `tandem import`: turns a keepalived configuration (2.x syntax) into tandem YAML. Pure: files named
// by `include` come through an injected reader, so the whole conversion is unit-testable. Whatever
// has no tandem equivalent is returned as a note with its file and line, never dropped silently.
//
// keepalived's grammar (keepalived/core/parser.c, read for behaviour only): one statement per
// line, `#` or `!` starts a comment, `"..."` quotes one word, `{ ... }` opens a block (on the same
// line or the next), `include GLOB` splices files in wherever it stands, `@ID` / `@^ID` prefixes
// keep a line only when keepalived runs with (or without) `-i ID`, and `$NAME=value` defines a
// value that `$NAME` / `${NAME}` later expand to.
import { stringify } from 'yaml';
import { formatDuration } from './duration.ts';

export interface ImportNote {
  file: string;
  line: number;
  /** The keepalived keyword (or block path) the note is about, e.g. `vrrp_instance VI_1 smtp_alert`. */
  what: string;
  reason: string;
}

export interface IncludedFile {
  file: string;
  text: string;
}

export interface ImportOptions {
  /** keepalived's `-i CONFIG_ID`: which `@ID` lines apply. None: every `@` line is left out (noted). */
  configId?: string;
  /** Expands an `include` pattern (relative to `fromFile`'s directory) into files, or says why not. */
  readInclude?: (pattern: string, fromFile: string) => IncludedFile[] | { error: string };
}

export interface ImportResult {
  /** tandem YAML, starting with a comment block that lists the notes. */
  yaml: string;
  notes: ImportNote[];
  instances: number;
}

/** Prints a note as `FILE:LINE: what: reason`, the same shape as `tandem check`'s messages. */
export function formatNote(n: ImportNote): string {
  return `${n.file}:${n.line}: ${n.what}: ${n.reason}`;
}

// ---- lexer: lines (with include, @ID and $VAR applied) -> words -> statement tree ----------------

interface Word {
  text: string;
  file: string;
  line: number;
}

interface Stmt {
  words: Word[]; // never empty
  block?: Stmt[];
}

const MAX_INCLUDE_DEPTH = 8; // keepalived's own limit is deeper; a loop is what this guards against

interface SourceLine {
  text: string;
  file: string;
  line: number;
}

function splitWords(l: SourceLine): Word[] {
  const out: Word[] = [];
  const s = l.text;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#' || c === '!') {
      break; // comment to end of line
    } else if (c === '{' || c === '}') {
      out.push({ text: c, file: l.file, line: l.line });
      i++;
    } else if (c === '"') {
      const end = s.indexOf('"', i + 1);
      const stop = end < 0 ? s.length : end;
      out.push({ text: s.slice(i + 1, stop), file: l.file, line: l.line });
      i = stop + 1;
    } else {
      // `#` and `!` start a comment only at the start of a word (a password may hold them).
      let j = i;
      while (j < s.length && !' \t\r{}"'.includes(s[j])) j++;
      out.push({ text: s.slice(i, j), file: l.file, line: l.line });
      i = j;
    }
  }
  return out;
}

class Reader {
  readonly notes: ImportNote[] = [];
  private readonly vars = new Map<string, string>();

  constructor(private readonly opts: ImportOptions) {}

  note(w: { file: string; line: number }, what: string, reason: string): void {
    this.notes.push({ file: w.file, line: w.line, what, reason });
  }

  lines(text: string, file: string, depth: number): SourceLine[] {
    const out: SourceLine[] = [];
    const raw = text.split('\n');
    for (let n = 0; n < raw.length; n++) {
      let t = raw[n];
      const at = { file, line: n + 1 };
      const cond = /^\s*@(\^?)(\S+)\s+(.*)$/.exec(t);
      if (cond) {
        const [, neg, id, rest] = cond;
        if (this.opts.configId === undefined) {
          this.note(at, `@${neg}${id}`, 'conditional line left out: give --config-id to choose which apply');
          continue;
        }
        if ((id === this.opts.configId) === (neg === '^')) continue;
        t = rest;
      }
      const def = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(t);
      if (def) {
        this.vars.set(def[1], def[2].trim());
        continue;
      }
      t = t.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, a, b) => {
        const v = this.vars.get(a ?? b);
        return v ?? m;
      });
      const inc = /^\s*include\s+(\S+)/.exec(t);
      if (inc) {
        const pattern = inc[1].replace(/^"|"$/g, '');
        if (depth >= MAX_INCLUDE_DEPTH) {
          this.note(at, 'include', `${pattern}: includes nested deeper than ${MAX_INCLUDE_DEPTH} (a loop?)`);
          continue;
        }
        const got = this.opts.readInclude?.(pattern, file) ?? { error: 'includes are not read here' };
        if ('error' in got) {
          this.note(at, 'include', `${pattern}: ${got.error}`);
          continue;
        }
        for (const f of got) out.push(...this.lines(f.text, f.file, depth + 1));
        continue;
      }
      out.push({ text: t, file, line: n + 1 });
    }
    return out;
  }

  tree(lines: SourceLine[]): Stmt[] {
    const words = lines.flatMap((l) => {
      const ws = splitWords(l);
      return ws.length ? [...ws, { text: '\n', file: l.file, line: l.line }] : [];
    });
    let i = 0;
    const block = (depth: number): Stmt[] => {
      const stmts: Stmt[] = [];
      let cur: Word[] = [];
      const flush = () => {
        if (cur.length) stmts.push({ words: cur });
        cur = [];
      };
      while (i < words.length) {
        const w = words[i++];
        if (w.text === '\n') {
          // keepalived also takes the `{` on the following line
          if (cur.length && words[i]?.text === '{') continue;
          flush();
        } else if (w.text === '{') {
          const children = block(depth + 1);
          if (cur.length) stmts.push({ words: cur, block: children });
          else if (stmts.length && !stmts[stmts.length - 1].block) stmts[stmts.length - 1].block = children;
          cur = [];
        } else if (w.text === '}') {
          flush();
          if (depth === 0) this.note(w, '}', 'closes no block: ignored');
          else return stmts;
        } else cur.push(w);
      }
      flush();
      if (depth > 0 && words.length) this.note(words[words.length - 1], '{', 'a block is not closed at end of file');
      return stmts;
    };
    return block(0);
  }
}

// ---- values -----------------------------------------------------------------------------------------

function num(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** keepalived times are (fractional) seconds; tandem durations are whole milliseconds. */
function secondsToDuration(s: number): string {
  return formatDuration(Math.round(s * 1000));
}

/**
 * The one place where keepalived's track weights become tandem's. keepalived: a positive weight
 * is added while the tracked thing is up (or healthy), a negative one added while it is down,
 * weight 0 or none means fault while down; `reverse` swaps up and down. tandem applies the same
 * rule (firmware/core/policy/tracking.ts, trackingVerdict), so a weight is carried over 1:1.
 * Returns undefined for "fault while down".
 */
export function convertTrackWeight(weight: number | undefined): number | undefined {
  if (weight === undefined || weight === 0) return undefined;
  return weight;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;

function tandemName(r: Reader, w: Word, kind: string, used: Set<string>): string {
  let name = w.text;
  if (!NAME_RE.test(name)) {
    name = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32) || kind;
    r.note(w, `${kind} ${w.text}`, `renamed to ${name} (tandem names are 1..32 of A-Za-z0-9_.-)`);
  }
  let unique = name;
  for (let n = 2; used.has(unique); n++) unique = `${name.slice(0, 29)}_${n}`;
  used.add(unique);
  return unique;
}

const first = (s: Stmt) => s.words[0].text;
const arg = (s: Stmt, i = 1) => s.words[i]?.text;

// What keepalived does with keywords tandem deliberately has no key for, so the note can say why.
const WHY: Record<string, string> = {
  state: 'tandem starts every instance as backup and lets the election decide (RFC 5798 6.4.1)',
  smtp_alert: 'tandem has no mail alerts; use notify or MQTT telemetry',
  dont_track_primary: 'tandem always tracks its own interface (carrier loss is a fault)',
  virtual_routes: 'tandem does not manage routes',
  virtual_rules: 'tandem does not manage routing rules',
  static_routes: 'tandem does not manage routes',
  static_rules: 'tandem does not manage routing rules',
  static_ipaddress: 'tandem does not manage static addresses',
  virtual_server: 'tandem does no load balancing (IPVS)',
  virtual_server_group: 'tandem does no load balancing (IPVS)',
  lvs_sync_daemon_interface: 'tandem does no load balancing (IPVS)',
  virtual_ipaddress_excluded: 'tandem advertises every address it moves; list them in addresses if they should move',
  garp_master_delay: 'tandem sends its gratuitous ARPs at once (count and interval), not a second round later',
  garp_master_refresh_repeat: 'tandem sends one gratuitous ARP per address on each refresh',
  garp_lower_prio_delay: 'tandem re-announces at once when it hears a lower-priority master',
  garp_lower_prio_repeat: 'tandem re-announces at once when it hears a lower-priority master',
  track_file: 'tandem tracks interfaces and scripts only',
  track_process: 'tandem tracks interfaces and scripts only; a script can check a process',
  track_bfd: 'tandem tracks interfaces and scripts only',
  notify_master: 'tandem runs one notify program as PROGRAM INSTANCE STATE; dispatch on STATE there',
  notify_backup: 'tandem runs one notify program as PROGRAM INSTANCE STATE; dispatch on STATE there',
  notify_fault: 'tandem runs one notify program as PROGRAM INSTANCE STATE; dispatch on STATE there',
  notify_stop: 'tandem runs one notify program as PROGRAM INSTANCE STATE; dispatch on STATE there',
  notify_deleted: 'tandem runs one notify program as PROGRAM INSTANCE STATE; dispatch on STATE there',
  notify_master_rx_lower_pri: 'tandem re-announces by itself when it hears a lower-priority master',
  debug: 'use log.level',
  strict_mode: 'tandem always follows RFC 5798 on the wire',
  vmac_xmit_base: 'tandem sends adverts from the interface itself',
};

function unsupported(r: Reader, s: Stmt, where: string): void {
  const k = first(s);
  r.note(s.words[0], `${where}${k}`, `not carried over: ${WHY[k] ?? 'tandem has no equivalent'}`);
}

// ---- the conversion ---------------------------------------------------------------------------------

interface Script {
  run?: string;
  intervalS: number;
  timeoutS?: number;
  weight?: number;
  rise: number;
  fall: number;
  line: Word;
}

interface Globals {
  version: 2 | 3;
  /** vrrp_strict: keepalived then refuses packets to the VIPs (no_accept); tandem's default accepts. */
  strict?: boolean;
  garp: Record<string, number | string>;
}

type Yaml = Record<string, unknown>;

export function importKeepalived(text: string, file: string, opts: ImportOptions = {}): ImportResult {
  const r = new Reader(opts);
  const top = r.tree(r.lines(text, file, 0));

  // keepalived reads the whole file before it resolves names, so collect definitions first.
  const globals: Globals = { version: 2, garp: {} };
  let node: string | undefined;
  const scripts = new Map<string, Script>();
  for (const s of top) {
    if (first(s) === 'global_defs') node = convertGlobals(r, s, globals) ?? node;
    if (first(s) === 'vrrp_script' && arg(s)) scripts.set(arg(s)!, convertScript(r, s));
  }

  const instances: Yaml[] = [];
  const instanceNames = new Map<string, string>(); // keepalived name -> tandem name
  const usedNames = new Set<string>();
  const groups: Stmt[] = [];
  for (const s of top) {
    const k = first(s);
    if (k === 'global_defs' || k === 'vrrp_script') continue;
    if (k === 'vrrp_instance') {
      if (!arg(s) || !s.block) {
        r.note(s.words[0], 'vrrp_instance', 'needs a name and a { block }: skipped');
        continue;
      }
      const inst = convertInstance(r, s, globals, scripts, tandemName(r, s.words[1], 'vrrp_instance', usedNames));
      if (inst) {
        instances.push(inst);
        instanceNames.set(arg(s)!, inst.name as string);
      }
    } else if (k === 'vrrp_sync_group') groups.push(s);
    else unsupported(r, s, '');
  }

  const syncGroups: Yaml[] = [];
  const usedGroupNames = new Set<string>();
  for (const g of groups) {
    if (!arg(g) || !g.block) {
      r.note(g.words[0], 'vrrp_sync_group', 'needs a name and a { block }: skipped');
      continue;
    }
    const where = `vrrp_sync_group ${arg(g)} `;
    const members: Word[] = [];
    for (const s of g.block) {
      const k = first(s);
      if (k === 'group') for (const m of s.block ?? []) members.push(...m.words);
      else if (/^[A-Za-z0-9_.-]+$/.test(k) && !s.block && s.words.length === 1 && !k.startsWith('notify'))
        members.push(s.words[0]); // keepalived 1.x form: the names straight inside the block
      else unsupported(r, s, where);
    }
    const names: string[] = [];
    for (const m of members) {
      const n = instanceNames.get(m.text);
      if (n === undefined) r.note(m, `${where}group`, `no vrrp_instance ${m.text} was imported: left out of the group`);
      else if (syncGroups.some((sg) => (sg.instances as string[]).includes(n)) || names.includes(n))
        r.note(m, `${where}group`, `${m.text} is already in a sync group: tandem allows one group per instance`);
      else names.push(n);
    }
    if (names.length)
      syncGroups.push({ name: tandemName(r, g.words[1], 'vrrp_sync_group', usedGroupNames), instances: names });
  }

  if (instances.length === 0) r.note({ file, line: 1 }, 'vrrp_instance', 'none found: nothing to import');

  // In file order (files in the order they were first read), whatever pass found them.
  const fileOrder = [...new Set(r.notes.map((n) => n.file))];
  r.notes.sort((a, b) => fileOrder.indexOf(a.file) - fileOrder.indexOf(b.file) || a.line - b.line);

  const doc: Yaml = {};
  if (node !== undefined) doc.node = node;
  doc.instances = instances;
  if (syncGroups.length) doc.sync_groups = syncGroups;
  const header = [
    `# Imported from ${file} by tandem import.`,
    ...(r.notes.length
      ? ['# Not carried over (see each line in the original):', ...r.notes.map((n) => `#   ${formatNote(n)}`)]
      : ['# Everything was carried over.']),
  ];
  return {
    yaml: `${header.join('\n')}\n${instances.length ? stringify(doc, { lineWidth: 0 }) : ''}`,
    notes: r.notes,
    instances: instances.length,
  };
}

function convertGlobals(r: Reader, g: Stmt, globals: Globals): string | undefined {
  let node: string | undefined;
  for (const s of g.block ?? []) {
    const k = first(s);
    const v = arg(s);
    if (k === 'router_id' && v !== undefined) {
      if (/^[A-Za-z0-9_.-]{1,64}$/.test(v)) node = v;
      else r.note(s.words[0], 'global_defs router_id', `"${v}" is not a tandem node name: the hostname is used`);
    } else if (k === 'vrrp_version' && (v === '2' || v === '3')) globals.version = Number(v) as 2 | 3;
    else if (k === 'vrrp_strict' && v === undefined) globals.strict = true;
    else if (k === 'vrrp_garp_master_repeat' && num(v) !== undefined) globals.garp.count = num(v)!;
    else if (k === 'vrrp_garp_master_refresh' && num(v) !== undefined)
      globals.garp.refresh = secondsToDuration(num(v)!);
    else if (k === 'vrrp_garp_interval' && num(v) !== undefined) globals.garp.interval = secondsToDuration(num(v)!);
    else unsupported(r, s, 'global_defs ');
  }
  return node;
}

function convertScript(r: Reader, v: Stmt): Script {
  // keepalived's defaults (vrrp_track.c): interval 1 s, weight 0 (fault), rise 1, fall 1.
  const sc: Script = { intervalS: 1, rise: 1, fall: 1, line: v.words[0] };
  const where = `vrrp_script ${arg(v)} `;
  for (const s of v.block ?? []) {
    const k = first(s);
    const n = num(arg(s));
    if (k === 'script') {
      const cmd = s.words.slice(1).map((w) => w.text);
      const words = cmd.join(' ').trim().split(/\s+/);
      if (words.length !== 1 || !words[0].startsWith('/'))
        r.note(
          s.words[0],
          `${where}script`,
          `"${cmd.join(' ')}" is not carried over: tandem runs an absolute path without a shell or arguments; put the command in an executable script`,
        );
      else sc.run = words[0];
    } else if (k === 'interval' && n !== undefined) sc.intervalS = n;
    else if (k === 'timeout' && n !== undefined) sc.timeoutS = n;
    else if (k === 'weight' && n !== undefined) {
      if (arg(s, 2) === 'reverse')
        r.note(s.words[0], `${where}weight reverse`, 'not carried over: tandem has no reversed weights');
      sc.weight = n;
    } else if (k === 'rise' && n !== undefined) sc.rise = n;
    else if (k === 'fall' && n !== undefined) sc.fall = n;
    else if (k === 'user') r.note(s.words[0], `${where}user`, 'not carried over: tandem runs scripts as its own user');
    else unsupported(r, s, where);
  }
  return sc;
}

function convertInstance(
  r: Reader,
  v: Stmt,
  globals: Globals,
  scripts: Map<string, Script>,
  name: string,
): Yaml | undefined {
  const where = `vrrp_instance ${arg(v)} `;
  const out: Yaml = { name };
  const addresses: string[] = [];
  const peers: string[] = [];
  const trackIfs: Yaml[] = [];
  const trackScripts: Yaml[] = [];
  const garp: Record<string, number | string> = { ...globals.garp };
  let version: 2 | 3 | undefined;
  let versionWord: Word | undefined;
  let nopreempt = false;
  let preemptDelay: Stmt | undefined;
  let auth: { type: string; pass?: string; at: Word } | undefined;
  const deferredAddrs: Stmt[] = [];
  let iface: string | undefined;

  for (const s of v.block ?? []) {
    const k = first(s);
    const a = arg(s);
    const n = num(a);
    const bad = () =>
      r.note(
        s.words[0],
        `${where}${k}`,
        `"${s.words
          .slice(1)
          .map((w) => w.text)
          .join(' ')}" is not a valid value: skipped`,
      );
    switch (k) {
      case 'interface':
        if (a) iface = out.interface = a;
        else bad();
        break;
      case 'virtual_router_id':
        if (n !== undefined && Number.isInteger(n)) out.vrid = n;
        else bad();
        break;
      case 'priority':
        if (n !== undefined && Number.isInteger(n)) out.priority = n;
        else bad();
        break;
      case 'advert_int':
        if (n !== undefined && n > 0) out.advert_interval = secondsToDuration(n);
        else bad();
        break;
      case 'version':
        if (a === '2' || a === '3') {
          version = Number(a) as 2 | 3;
          versionWord = s.words[0];
        } else bad();
        break;
      case 'nopreempt':
        nopreempt = true;
        break;
      case 'preempt':
        break; // keepalived's default, as tandem's
      case 'preempt_delay':
        if (n !== undefined && n >= 0) preemptDelay = s;
        else bad();
        break;
      case 'accept':
        out.accept_mode = true;
        break;
      case 'no_accept':
        out.accept_mode = false;
        break;
      case 'virtual_ipaddress':
        deferredAddrs.push(s); // needs the interface, which may come later in the block
        break;
      case 'unicast_src_ip':
        if (a) out.source_address = a;
        else bad();
        break;
      case 'unicast_peer':
        for (const p of s.block ?? []) {
          peers.push(first(p));
          if (p.words.length > 1)
            r.note(
              p.words[1],
              `${where}unicast_peer ${first(p)}`,
              `"${p.words
                .slice(1)
                .map((w) => w.text)
                .join(' ')}" not carried over: tandem checks TTL 255 (RFC 5798 7.1)`,
            );
        }
        break;
      case 'use_vmac':
        out.mac_mode = 'virtual';
        if (a)
          r.note(s.words[1], `${where}use_vmac ${a}`, 'the macvlan name is not carried over: tandem names its own');
        break;
      case 'authentication': {
        let type = 'none';
        let pass: string | undefined;
        for (const x of s.block ?? []) {
          if (first(x) === 'auth_type') type = arg(x) ?? 'none';
          else if (first(x) === 'auth_pass') pass = arg(x);
          else unsupported(r, x, `${where}authentication `);
        }
        auth = { type, pass, at: s.words[0] };
        break;
      }
      case 'track_interface':
        for (const t of s.block ?? []) {
          const w = t.words;
          const weight = w[1]?.text === 'weight' ? num(w[2]?.text) : undefined;
          if (w[3]?.text === 'reverse')
            r.note(
              w[3],
              `${where}track_interface ${w[0].text}`,
              'weight reverse is not carried over: tandem has no reversed weights',
            );
          const tw = convertTrackWeight(weight);
          trackIfs.push(tw === undefined ? { name: w[0].text } : { name: w[0].text, weight: tw });
        }
        break;
      case 'track_script':
        for (const t of s.block ?? []) {
          const sname = first(t);
          const sc = scripts.get(sname);
          if (!sc) {
            r.note(t.words[0], `${where}track_script ${sname}`, 'no vrrp_script of that name: not tracked');
            continue;
          }
          if (!sc.run) {
            r.note(
              t.words[0],
              `${where}track_script ${sname}`,
              `not tracked: its script could not be carried over (line ${sc.line.line})`,
            );
            continue;
          }
          const override = t.words[1]?.text === 'weight' ? num(t.words[2]?.text) : undefined;
          if (t.words[3]?.text === 'reverse')
            r.note(
              t.words[3],
              `${where}track_script ${sname}`,
              'weight reverse is not carried over: tandem has no reversed weights',
            );
          const tw = convertTrackWeight(override ?? sc.weight);
          const intervalMs = Math.max(100, Math.round(sc.intervalS * 1000));
          let timeoutMs = Math.round((sc.timeoutS ?? sc.intervalS) * 1000);
          if (timeoutMs > intervalMs) {
            r.note(
              sc.line,
              `vrrp_script ${sname} timeout`,
              `${formatDuration(timeoutMs)} is longer than its interval: tandem caps it at ${formatDuration(intervalMs)}`,
            );
            timeoutMs = intervalMs;
          }
          trackScripts.push({
            run: sc.run,
            interval: formatDuration(intervalMs),
            timeout: formatDuration(Math.max(100, timeoutMs)),
            rise: sc.rise,
            fall: sc.fall,
            ...(tw !== undefined ? { weight: tw } : {}),
          });
        }
        break;
      case 'notify':
        if (s.words.length === 2 && a?.startsWith('/') && !/\s/.test(a)) {
          out.notify = a;
          r.note(
            s.words[0],
            `${where}notify`,
            'carried over, but tandem calls it as PROGRAM INSTANCE STATE (state in lower case), keepalived as PROGRAM TYPE NAME STATE PRIORITY: adapt the program',
          );
        } else
          r.note(
            s.words[0],
            `${where}notify`,
            `"${s.words
              .slice(1)
              .map((w) => w.text)
              .join(' ')}" not carried over: tandem runs an absolute path without a shell or arguments`,
          );
        break;
      case 'garp_master_repeat':
        if (n !== undefined && Number.isInteger(n)) garp.count = n;
        else bad();
        break;
      case 'garp_master_refresh':
        if (n !== undefined) garp.refresh = secondsToDuration(n);
        else bad();
        break;
      case 'garp_interval':
        if (n !== undefined) garp.interval = secondsToDuration(n);
        else bad();
        break;
      default:
        unsupported(r, s, where);
    }
  }

  if (!iface) {
    r.note(v.words[0], `${where}interface`, 'missing: instance skipped');
    return undefined;
  }
  for (const s of deferredAddrs) {
    for (const a of s.block ?? []) {
      const addr = first(a);
      let ok = true;
      for (let i = 1; i < a.words.length; i++) {
        const opt = a.words[i].text;
        const val = a.words[i + 1]?.text;
        if (opt === 'dev' && val !== undefined) {
          i++;
          if (val !== iface) {
            r.note(
              a.words[0],
              `${where}virtual_ipaddress ${addr}`,
              `on dev ${val}, not on the instance's interface ${iface}: not carried over (make a second instance on ${val})`,
            );
            ok = false;
          }
        } else if (
          ['label', 'brd', 'broadcast', 'scope', 'preferred_lft', 'metric'].includes(opt) &&
          val !== undefined
        ) {
          i++;
          r.note(
            a.words[i - 1],
            `${where}virtual_ipaddress ${addr} ${opt}`,
            'not carried over: tandem adds a plain address',
          );
        } else r.note(a.words[i], `${where}virtual_ipaddress ${addr} ${opt}`, 'not carried over');
      }
      if (!ok) continue;
      const bare = addr.split('/')[0].toLowerCase();
      if (addresses.some((x) => x.split('/')[0].toLowerCase() === bare)) {
        r.note(a.words[0], `${where}virtual_ipaddress ${addr}`, 'listed twice: kept once');
        continue;
      }
      addresses.push(addr);
    }
  }
  const v6 = addresses.some((a) => a.includes(':'));
  if (v6 && addresses.some((a) => !a.includes(':'))) {
    // keepalived sends the addresses of the other family in no advert; tandem wants one family.
    const keep = addresses[0].includes(':');
    for (let i = addresses.length - 1; i >= 0; i--)
      if (addresses[i].includes(':') !== keep) {
        r.note(
          v.words[0],
          `${where}virtual_ipaddress ${addresses[i]}`,
          `not carried over: an instance has one address family; make an IPv${keep ? 4 : 6} instance for it`,
        );
        addresses.splice(i, 1);
      }
  }
  const family6 = addresses[0]?.includes(':') ?? false;
  // keepalived's default is VRRPv2 (global_defs vrrp_version), and it always uses v3 for IPv6.
  const ver = family6 ? 3 : (version ?? globals.version);
  if (family6 && version === 2 && versionWord)
    r.note(versionWord, `${where}version`, 'IPv6 needs VRRPv3: version 3 is used, as keepalived does');
  out.version = ver;
  if (globals.strict && out.accept_mode === undefined) out.accept_mode = false; // no_accept, as strict implies
  if (nopreempt) out.preempt = false;
  if (preemptDelay) {
    if (nopreempt)
      r.note(preemptDelay.words[0], `${where}preempt_delay`, 'not carried over: it has no effect with nopreempt');
    else out.preempt_delay = secondsToDuration(num(arg(preemptDelay))!);
  }
  out.addresses = addresses;
  if (peers.length) out.unicast_peers = peers;
  if (auth && auth.type !== 'none') {
    if (ver === 3)
      r.note(
        auth.at,
        `${where}authentication`,
        'not carried over: VRRPv3 has no authentication (RFC 5798 removed it; keepalived ignores it too)',
      );
    else if (auth.type !== 'PASS')
      r.note(
        auth.at,
        `${where}authentication`,
        `auth_type ${auth.type} is not carried over: tandem has plain-text (PASS) only`,
      );
    else if (!auth.pass) r.note(auth.at, `${where}authentication`, 'auth_pass missing: not carried over');
    else {
      // keepalived sends the first 8 bytes of a longer password (RFC 3768 5.3.6: an 8-octet field)
      const pw = Buffer.from(auth.pass, 'utf8').subarray(0, 8).toString('utf8');
      if (pw !== auth.pass)
        r.note(auth.at, `${where}auth_pass`, `longer than 8 bytes: cut to "${pw}", as keepalived sends it`);
      out.auth = { type: 'simple', password: pw };
    }
  }
  if (Object.keys(garp).length) out.garp = garp;
  if (trackIfs.length || trackScripts.length)
    out.track = {
      ...(trackIfs.length ? { interfaces: trackIfs } : {}),
      ...(trackScripts.length ? { scripts: trackScripts } : {}),
    };
  // key order of the output follows docs/configuration.md
  const order = [
    'name',
    'interface',
    'vrid',
    'version',
    'priority',
    'advert_interval',
    'preempt',
    'preempt_delay',
    'accept_mode',
    'addresses',
    'mac_mode',
    'source_address',
    'unicast_peers',
    'auth',
    'garp',
    'track',
    'notify',
  ];
  return Object.fromEntries(order.filter((k) => out[k] !== undefined).map((k) => [k, out[k]]));
}
