// `tandem import [-o FILE] [--config-id ID] KEEPALIVED.CONF`: writes the equivalent tandem YAML to
// stdout (or FILE) and lists on stderr, as FILE:LINE: keyword: reason, everything it could not
// carry over. The conversion itself is firmware/config/keepalived.ts; this module reads files.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatNote, importKeepalived } from '../config/keepalived.ts';
import type { IncludedFile } from '../config/keepalived.ts';

const HELP = `Usage: tandem import [-o FILE] [--config-id ID] KEEPALIVED.CONF

Converts a keepalived configuration (vrrp_instance, vrrp_sync_group, vrrp_script, track_*,
notify, garp_*, include) into tandem YAML. Whatever has no tandem equivalent is listed on stderr
as FILE:LINE: keyword: reason, and as comments at the top of the output.

Options:
  -o, --output FILE  write the YAML to FILE instead of stdout
  -i, --config-id ID keepalived's -i: keep the lines marked @ID (others marked @... are left out)
  -h, --help         this text

Check the result with: tandem check --config FILE
Exit status: 0 converted (notes are not failures), 1 nothing to convert or unreadable, 2 bad usage.
`;

export interface ImportIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const processIo: ImportIo = {
  stdout: (s) => {
    process.stdout.write(s);
  },
  stderr: (s) => {
    process.stderr.write(s);
  },
};

/** glob(3) as keepalived uses it for `include`: `*` and `?` in the last component, sorted. */
export function readInclude(pattern: string, fromFile: string): IncludedFile[] | { error: string } {
  const full = isAbsolute(pattern) ? pattern : resolve(dirname(fromFile), pattern);
  const dir = dirname(full);
  const base = basename(full);
  try {
    let names: string[];
    if (/[*?[]/.test(base)) {
      const re = new RegExp(
        `^${base
          .replace(/[.+^${}()|\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')}$`,
      );
      names = readdirSync(dir)
        .filter((n) => re.test(n) && !n.startsWith('.'))
        .sort();
      if (names.length === 0) return { error: 'no file matches' };
    } else names = [base];
    return names.map((n) => ({ file: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
}

export async function main(argv: string[], io: ImportIo = processIo): Promise<number> {
  let values: { output?: string; 'config-id'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        output: { type: 'string', short: 'o' },
        'config-id': { type: 'string', short: 'i' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.stderr(`tandem import: ${e instanceof Error ? e.message : String(e)} (see tandem import --help)\n`);
    return 2;
  }
  if (values.help) {
    io.stdout(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.stderr('tandem import: name one keepalived configuration file (see tandem import --help)\n');
    return 2;
  }
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr(`tandem import: ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  const r = importKeepalived(text, file, {
    readInclude,
    ...(values['config-id'] !== undefined ? { configId: values['config-id'] } : {}),
  });
  if (r.notes.length) io.stderr(`${r.notes.map(formatNote).join('\n')}\n`);
  if (r.instances === 0) return 1;
  if (values.output !== undefined) {
    try {
      writeFileSync(values.output, r.yaml);
    } catch (e) {
      io.stderr(`tandem import: ${values.output}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return 1;
    }
  } else io.stdout(r.yaml);
  return 0;
}
