// tandem's configuration: YAML file -> validated, defaulted TandemConfig, or every problem found,
// each with its file and line. Nothing here throws.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { loadBoard } from './board.ts';
import { mergeTree, parseYamlTree } from './tree.ts';
import { validateTree } from './validate.ts';
import type { ConfigEnv, FileProbe } from './validate.ts';
import type { BoardInfo, ConfigIssue, ConfigResult } from './types.ts';

export type * from './types.ts';
export type { ConfigEnv, FileProbe } from './validate.ts';
export { checkDuration, parseDuration, formatDuration } from './duration.ts';
export type { DurationResult } from './duration.ts';
export { DEFAULTS, platformDefaults } from './validate.ts';

/** Everything optional: defaults are the running system (os.hostname(), process.platform, fs). */
export interface ConfigOptions {
  hostname?: string;
  platform?: string;
  readFile?: (path: string) => string;
  probe?: (path: string, want: 'exec' | 'read') => FileProbe;
}

/** `FILE:LINE: path: reason`, the form editors and CI logs understand. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}: ${i.path}: ${i.reason}`;
}

export function probeFile(path: string, want: 'exec' | 'read'): FileProbe {
  try {
    if (!statSync(path).isFile()) return 'not-a-file';
  } catch {
    return 'missing';
  }
  try {
    accessSync(path, want === 'exec' ? constants.X_OK : constants.R_OK);
    return 'ok';
  } catch {
    return want === 'exec' ? 'not-executable' : 'unreadable';
  }
}

function envFrom(opts: ConfigOptions): ConfigEnv {
  return {
    hostname: opts.hostname ?? safeHostname(),
    platform: opts.platform ?? process.platform,
    readFile: opts.readFile ?? ((p) => readFileSync(p, 'utf8')),
    probe: opts.probe ?? probeFile,
  };
}

function safeHostname(): string {
  try {
    return osHostname();
  } catch {
    return '';
  }
}

export function parseConfig(text: string, file: string, opts: ConfigOptions = {}): ConfigResult {
  try {
    const env = envFrom(opts);
    const site = parseYamlTree(text, file);
    if (!site.root) return { ok: false, errors: site.errors, warnings: site.warnings };
    if (site.root.kind === 'scalar' && site.root.value === null) {
      return {
        ok: false,
        errors: [{ file, line: 1, path: '(top)', reason: 'the file is empty: it needs at least instances' }],
        warnings: site.warnings,
      };
    }
    const errors: ConfigIssue[] = [];
    const warnings: ConfigIssue[] = [...site.warnings];
    let root = site.root;
    let board: BoardInfo | undefined;
    const boardRef = root.kind === 'map' ? root.entries.get('board')?.value : undefined;
    if (boardRef && !(boardRef.kind === 'scalar' && boardRef.value === null)) {
      const b = loadBoard(boardRef, file, env);
      errors.push(...b.errors);
      warnings.push(...b.warnings);
      board = b.board;
      if (b.defaults) root = mergeTree(b.defaults, root)!;
    }
    const v = validateTree({ root, file, board }, env);
    errors.push(...v.errors);
    warnings.push(...v.warnings);
    // Stable sort: the site file's issues in line order, then the board's, each in line order.
    const byPlace = (a: ConfigIssue, b: ConfigIssue) =>
      Number(a.file !== file) - Number(b.file !== file) || a.line - b.line;
    errors.sort(byPlace);
    warnings.sort(byPlace);
    if (errors.length || !v.config) return { ok: false, errors, warnings };
    return { ok: true, config: v.config, warnings };
  } catch (e) {
    // Only a bug gets here; still a result, never a throw.
    return {
      ok: false,
      errors: [{ file, line: 1, path: '(internal)', reason: e instanceof Error ? e.message : String(e) }],
      warnings: [],
    };
  }
}

export function loadConfig(file: string, opts: ConfigOptions = {}): ConfigResult {
  let text: string;
  try {
    text = (opts.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    return { ok: false, errors: [{ file, line: 1, path: '(file)', reason: `cannot read: ${why}` }], warnings: [] };
  }
  return parseConfig(text, file, opts);
}
