// YAML text -> a small tree whose every node remembers its file, line and path in that file, so
// a message can point at the line even after a board file's defaults were merged under the site
// file. Anchors and aliases are resolved, and `<<` merge keys are honoured.
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type { ConfigIssue } from './types.ts';

export interface Loc {
  file: string;
  line: number;
  docPath: string; // where the node sits in its own file: `instances[0].vrid`, `defaults.log`
}
export interface MapNode extends Loc {
  kind: 'map';
  entries: Map<string, { key: Loc; value: LNode }>;
}
export interface SeqNode extends Loc {
  kind: 'seq';
  items: LNode[];
}
export interface ScalarNode extends Loc {
  kind: 'scalar';
  value: unknown;
}
export type LNode = MapNode | SeqNode | ScalarNode;

export interface TreeResult {
  root?: LNode;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/** Paths name the node in the file: `a.b[2].c`; the document itself is `(top)`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent === '(top)' ? '' : parent}[${key}]`;
  return parent === '(top)' || parent === '' ? key : `${parent}.${key}`;
}

const MAX_DEPTH = 64;

export function parseYamlTree(text: string, file: string): TreeResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const lc = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, merge: false, uniqueKeys: true });
  } catch (e) {
    // The parser reports problems as values; this is only for a bug inside it.
    errors.push({ file, line: 1, path: '(yaml)', reason: e instanceof Error ? e.message : String(e) });
    return { errors, warnings };
  }
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lc.linePos(offset).line);
  for (const e of doc.errors)
    errors.push({ file, line: lineOf(e.pos[0]), path: '(yaml)', reason: firstLine(e.message) });
  for (const w of doc.warnings)
    warnings.push({ file, line: lineOf(w.pos[0]), path: '(yaml)', reason: firstLine(w.message) });
  if (errors.length) return { errors, warnings };

  const active = new Set<unknown>(); // collections being converted: an alias to one is a loop
  const convert = (n: unknown, docPath: string, depth: number): LNode => {
    const line = lineOf((n as YamlNode | null)?.range?.[0]);
    if (depth > MAX_DEPTH) {
      errors.push({ file, line, path: docPath, reason: `nested deeper than ${MAX_DEPTH} levels (an alias loop?)` });
      return { kind: 'scalar', value: null, file, line, docPath };
    }
    if (isAlias(n)) {
      const target = n.resolve(doc);
      if (!target) {
        errors.push({ file, line, path: docPath, reason: `alias *${n.source} names no anchor` });
        return { kind: 'scalar', value: null, file, line, docPath };
      }
      if (active.has(target)) {
        errors.push({ file, line, path: docPath, reason: `alias *${n.source} refers to a node that contains it` });
        return { kind: 'scalar', value: null, file, line, docPath };
      }
      return convert(target, docPath, depth + 1);
    }
    if (isMap(n) || isSeq(n)) {
      active.add(n);
      try {
        return convertCollection(n, docPath, depth);
      } finally {
        active.delete(n);
      }
    }
    if (isScalar(n)) return { kind: 'scalar', value: n.value, file, line, docPath };
    return { kind: 'scalar', value: null, file, line, docPath };
  };
  const convertCollection = (n: unknown, docPath: string, depth: number): LNode => {
    const line = lineOf((n as YamlNode | null)?.range?.[0]);
    if (isMap(n)) {
      const node: MapNode = { kind: 'map', entries: new Map(), file, line, docPath };
      const merges: LNode[] = [];
      for (const pair of n.items) {
        const keyLine = lineOf((pair.key as YamlNode | null)?.range?.[0]) ?? line;
        if (!isScalar(pair.key) || (pair.key.value !== null && typeof pair.key.value === 'object')) {
          errors.push({ file, line: keyLine, path: docPath, reason: 'keys must be plain strings' });
          continue;
        }
        const key = String(pair.key.value);
        if (key === '<<' && pair.key.type === 'PLAIN') {
          merges.push(convert(pair.value, docPath, depth + 1));
          continue;
        }
        const p = childPath(docPath, key);
        node.entries.set(key, { key: { file, line: keyLine, docPath: p }, value: convert(pair.value, p, depth + 1) });
      }
      // YAML merge keys: explicit keys win, then earlier merged maps over later ones.
      for (const m of merges.flatMap((x) => (x.kind === 'seq' ? x.items : [x]))) {
        if (m.kind !== 'map') {
          errors.push({
            file: m.file,
            line: m.line,
            path: docPath,
            reason: '<< must merge a mapping or a list of mappings',
          });
          continue;
        }
        for (const [k, v] of m.entries) if (!node.entries.has(k)) node.entries.set(k, v);
      }
      return node;
    }
    if (isSeq(n)) {
      return {
        kind: 'seq',
        items: n.items.map((it, i) => convert(it, childPath(docPath, i), depth + 1)),
        file,
        line,
        docPath,
      };
    }
    return { kind: 'scalar', value: null, file, line, docPath };
  };
  const root = convert(doc.contents, '(top)', 0);
  return errors.length ? { errors, warnings } : { root, errors, warnings };
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/\s+$/, '');
}

/** `over` on top of `base`: mappings merge key by key (recursively), anything else replaces. */
export function mergeTree(base: LNode | undefined, over: LNode | undefined): LNode | undefined {
  if (!base) return over;
  if (!over) return base;
  if (base.kind !== 'map' || over.kind !== 'map') return over;
  const entries = new Map(base.entries);
  for (const [k, v] of over.entries) {
    const b = entries.get(k);
    entries.set(k, b ? { key: v.key, value: mergeTree(b.value, v.value)! } : v);
  }
  return { ...over, entries };
}
