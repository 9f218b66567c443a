// Files tandem uses as root must not be changeable by anyone else (sshd's StrictModes, issue #12):
// the config and board files, the scripts it runs, the keys it trusts, the MQTT password and TLS
// key. Each file, and the directory holding it, must belong to root or to the daemon's user and
// not be writable by group or others (a sticky directory such as /tmp is allowed: others cannot
// replace a file in it). A missing file is not reported here: the config check warns about it.
import { statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { TandemConfig } from '../config/types.ts';

/** Every file of `c` that tandem reads or runs with its privileges, with what it is. */
export function trustedFiles(c: TandemConfig, configFile: string): { path: string; what: string }[] {
  const out: { path: string; what: string }[] = [{ path: configFile, what: 'the config file' }];
  if (c.board) out.push({ path: c.board.file, what: 'the board file' });
  for (const i of c.instances) {
    if (i.notify) out.push({ path: i.notify, what: `instance ${i.name}'s notify script` });
    for (const s of i.track.scripts) out.push({ path: s.run, what: `instance ${i.name}'s track script` });
  }
  for (const k of c.ota.trustedKeys) out.push({ path: k, what: 'an OTA trusted key' });
  const m = c.telemetry?.mqtt;
  for (const k of m?.commands?.trustedKeys ?? []) out.push({ path: k, what: 'an MQTT command key' });
  if (m?.passwordFile) out.push({ path: m.passwordFile, what: 'the MQTT password file' });
  if (m?.key) out.push({ path: m.key, what: 'the MQTT client key' });
  return out;
}

function problem(st: Stats, uid: number, isDir: boolean): string | undefined {
  if (st.uid !== 0 && st.uid !== uid) return `owned by uid ${st.uid} (want root or uid ${uid})`;
  if (st.mode & 0o022 && !(isDir && st.mode & 0o1000))
    return `writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/** One line per file whose owner or mode would let someone else change what tandem does. */
export function checkFileModes(files: { path: string; what: string }[], uid = process.getuid?.() ?? 0): string[] {
  const out: string[] = [];
  for (const f of files) {
    let st: Stats;
    try {
      st = statSync(f.path); // follows a symlink: the file that is read counts
    } catch {
      continue;
    }
    const p = problem(st, uid, false);
    if (p) out.push(`${f.path} (${f.what}) is ${p}`);
    try {
      const d = dirname(f.path);
      const pd = problem(statSync(d), uid, true);
      if (pd) out.push(`${d}, holding ${f.path} (${f.what}), is ${pd}`);
    } catch {
      /* the directory vanished: the file check above stands */
    }
  }
  return out;
}
