// The part of a board file tandem's configuration reads: `interfaces:` (alias -> OS interface
// name) and `defaults:` (a configuration fragment the site file overrides). Every other board key
// belongs to the board schema in ota/board.ts and is ignored here.
import { dirname, resolve } from 'node:path';
import { parseYamlTree } from './tree.ts';
import type { LNode, MapNode } from './tree.ts';
import type { BoardInfo, ConfigIssue } from './types.ts';
import type { ConfigEnv } from './validate.ts';

export interface BoardResult {
  board?: BoardInfo;
  defaults?: MapNode;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const IFNAME_RE = /^[^\s/:]{1,15}$/;
const NOT_IN_DEFAULTS: Record<string, string> = {
  instances: "instances belong in the site file, not in a board's defaults (use instance_defaults)",
  board: 'a board file cannot name another board file',
};

export function loadBoard(ref: LNode, siteFile: string, env: ConfigEnv): BoardResult {
  const errors: ConfigIssue[] = [];
  const at = (n: { file: string; line: number; docPath: string }, reason: string) =>
    errors.push({ file: n.file, line: n.line, path: n.docPath, reason });
  if (ref.kind !== 'scalar' || typeof ref.value !== 'string' || ref.value === '') {
    at(ref, 'expected the path of a board file');
    return { errors, warnings: [] };
  }
  // A relative board path is relative to the site file, not to tandem's working directory.
  const file = resolve(dirname(siteFile), ref.value);
  let text: string;
  try {
    text = env.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    at(ref, `cannot read board file ${file}${code ? ` (${code})` : ''}`);
    return { errors, warnings: [] };
  }
  const tree = parseYamlTree(text, file);
  if (!tree.root) return { errors: tree.errors, warnings: tree.warnings };
  const root = tree.root;
  if (root.kind !== 'map') {
    at(root, 'a board file must be a mapping');
    return { errors, warnings: tree.warnings };
  }
  const interfaces: Record<string, string> = {};
  const ifs = root.entries.get('interfaces')?.value;
  if (ifs && !(ifs.kind === 'scalar' && ifs.value === null)) {
    if (ifs.kind !== 'map') at(ifs, 'expected a mapping of alias: interface');
    else {
      for (const [alias, { value }] of ifs.entries) {
        if (value.kind !== 'scalar' || typeof value.value !== 'string' || !IFNAME_RE.test(value.value)) {
          at(value, `expected an interface name (1..15 characters, no space, / or :)`);
        } else {
          interfaces[alias] = value.value;
        }
      }
    }
  }
  let defaults: MapNode | undefined;
  const d = root.entries.get('defaults')?.value;
  if (d && !(d.kind === 'scalar' && d.value === null)) {
    if (d.kind !== 'map') at(d, 'expected a mapping (a configuration fragment)');
    else {
      const entries = new Map(d.entries);
      for (const [k, { key }] of d.entries) {
        if (NOT_IN_DEFAULTS[k]) {
          at(key, NOT_IN_DEFAULTS[k]);
          entries.delete(k);
        }
      }
      defaults = { ...d, entries };
    }
  }
  return { board: { file, interfaces }, defaults, errors, warnings: tree.warnings };
}
