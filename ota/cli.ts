// `tandem ota apply FILE|URL | status [--json] | confirm | rollback | boot-check`
// Options: --root DIR, --config FILE (reads its `ota:` section), --trusted-key PEM (repeatable),
// --allow-downgrade (logged override), --sha256 HEX (apply: expected bundle digest).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { OtaAgent, type ApplyProgress, type OtaLogger } from './agent.ts';

export const DEFAULT_ROOT = '/var/lib/tandem';

const USAGE = `usage: tandem ota <apply FILE|URL | status [--json] | confirm | rollback | boot-check>
  --root DIR          OTA root (default: config ota.root, else ${DEFAULT_ROOT})
  --config FILE       tandem config whose ota: section gives root, trusted_keys, health_deadline, allow_downgrade
  --trusted-key PEM   trusted Ed25519 public key (file), repeatable
  --allow-downgrade   accept a bundle with a lower rollback index (logged)
  --sha256 HEX        apply: refuse a bundle whose sha256 differs
  --json              status: machine-readable
`;

export interface OtaConfigSection {
  root?: string;
  trustedKeys: string[];
  healthDeadlineS?: number;
  allowDowngrade?: boolean;
}

/** Seconds from `120`, `120s`, `2m`, `1h`, `500ms`. */
export function parseSeconds(v: unknown): number | undefined {
  if (typeof v === 'number' && v >= 0) return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

/** The `ota:` section of a tandem config file. */
export function readOtaConfig(file: string): OtaConfigSection {
  const doc = parseYaml(readFileSync(file, 'utf8')) ?? {};
  const o = ((doc as Record<string, unknown>).ota ?? {}) as Record<string, unknown>;
  return {
    root: typeof o.root === 'string' ? o.root : undefined,
    trustedKeys: Array.isArray(o.trusted_keys) ? o.trusted_keys.filter((k: unknown) => typeof k === 'string') : [],
    healthDeadlineS: parseSeconds(o.health_deadline),
    allowDowngrade: o.allow_downgrade === true,
  };
}

const stderrLog: OtaLogger = {
  info: (o, m) => process.stderr.write(`ota: ${m}${fmt(o)}\n`),
  warn: (o, m) => process.stderr.write(`ota: warning: ${m}${fmt(o)}\n`),
  error: (o, m) => process.stderr.write(`ota: error: ${m}${fmt(o)}\n`),
};
function fmt(o: Record<string, unknown>): string {
  const parts = Object.entries(o)
    .filter(([k]) => k !== 'component')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}

export async function main(argv: string[]): Promise<number> {
  let cmd: string | undefined;
  const args: string[] = [];
  let root: string | undefined, config: string | undefined, sha256: string | undefined;
  const keys: string[] = [];
  let allowDowngrade = false,
    json = false,
    quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--root') root = val();
      else if (a === '--config') config = val();
      else if (a === '--trusted-key') keys.push(val());
      else if (a === '--sha256') sha256 = val();
      else if (a === '--allow-downgrade') allowDowngrade = true;
      else if (a === '--json') json = true;
      else if (a === '--quiet') quiet = true;
      else if (a === '-h' || a === '--help') {
        process.stdout.write(USAGE);
        return 0;
      } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
      else if (cmd === undefined) cmd = a;
      else args.push(a);
    } catch (e) {
      process.stderr.write(`tandem ota: ${(e as Error).message}\n${USAGE}`);
      return 2;
    }
  }
  if (!cmd) {
    process.stderr.write(USAGE);
    return 2;
  }

  let section: OtaConfigSection = { trustedKeys: [] };
  if (config) {
    try {
      section = readOtaConfig(config);
    } catch (e) {
      process.stderr.write(`tandem ota: cannot read ${config}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  if (allowDowngrade) process.stderr.write('tandem ota: --allow-downgrade: a lower rollback index will be accepted\n');
  const agent = new OtaAgent({
    root: root ?? section.root ?? DEFAULT_ROOT,
    trustedKeys: keys.length ? keys : section.trustedKeys,
    allowDowngrade: allowDowngrade || !!section.allowDowngrade,
    healthDeadlineS: section.healthDeadlineS,
    log: quiet ? undefined : stderrLog,
  });

  switch (cmd) {
    case 'apply': {
      if (args.length !== 1) {
        process.stderr.write(`tandem ota apply: give one FILE or URL\n`);
        return 2;
      }
      let lastPct = -1;
      const tty = process.stderr.isTTY;
      const onProgress = (p: ApplyProgress) => {
        if (p.percent === lastPct || quiet) return;
        lastPct = p.percent;
        if (tty) process.stderr.write(`\r${p.step.padEnd(8)} ${String(p.percent).padStart(3)}%`);
        else if (p.percent % 10 === 0) process.stderr.write(`${p.step} ${p.percent}%\n`);
      };
      const r = await agent.apply(args[0], onProgress, { sha256 });
      if (tty && !quiet) process.stderr.write('\n');
      if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
      if (!r.ok) {
        if (!json) process.stderr.write(`tandem ota: apply failed: ${r.reason}: ${r.detail}\n`);
        return 1;
      }
      if (!json)
        process.stdout.write(
          `installed ${r.version} in slot ${r.slot}${r.pending ? ' (on trial: restart tandem, it confirms itself when healthy)' : ''}\n`,
        );
      return 0;
    }
    case 'status': {
      const s = agent.status();
      if (json) {
        process.stdout.write(`${JSON.stringify(s, null, 1)}\n`);
        return 0;
      }
      const v = (slot: 'a' | 'b' | null) => (slot ? `${slot} (${s.slots[slot]?.version ?? 'empty'})` : '-');
      process.stdout.write(
        `${[
          `root       ${s.root}`,
          `active     ${v(s.active)}${s.pending ? `  ON TRIAL, boot ${s.bootCount} of ${s.maxTrialBoots}` : ''}`,
          `previous   ${v(s.previous)}`,
          `index      ${s.rollbackIndex} (lowest rollback index accepted)`,
          `last       ${s.lastResult ? `${s.lastResult.op} ${s.lastResult.ok ? 'ok' : `failed: ${s.lastResult.reason}`} ${s.lastResult.detail ?? ''} at ${s.lastResult.at}` : '-'}`,
          ...(s.lastRollback
            ? [
                `rollback   ${s.lastRollback.failedVersion} -> slot ${s.lastRollback.to} at ${s.lastRollback.at}: ${s.lastRollback.reason}`,
              ]
            : []),
          ...(s.download
            ? [`download   ${s.download.offset}/${s.download.total ?? '?'} bytes of ${s.download.url}`]
            : []),
        ].join('\n')}\n`,
      );
      return 0;
    }
    case 'confirm': {
      const r = agent.confirm('operator');
      if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(r.ok ? `slot ${r.slot} (${r.version}): ${r.detail}\n` : '');
      if (!r.ok) {
        process.stderr.write(`tandem ota: confirm: ${r.reason}: ${r.detail}\n`);
        return 1;
      }
      return 0;
    }
    case 'rollback': {
      const r = await agent.rollback();
      if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.ok) process.stdout.write(`rolled back to slot ${r.slot} (${r.version}): restart tandem to run it\n`);
      if (!r.ok) {
        process.stderr.write(`tandem ota: rollback: ${r.reason}: ${r.detail}\n`);
        return 1;
      }
      return 0;
    }
    case 'boot-check': {
      const d = agent.bootCheck();
      process.stdout.write(`${JSON.stringify(d)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`tandem ota: unknown subcommand '${cmd}'\n${USAGE}`);
      return 2;
  }
}

class UsageError extends Error {}
