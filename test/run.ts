// Runs every uvu test file in its own Node process and sums the results.
//
// test/unit/**  pure tests: run two at a time.
// test/net/**   real-kernel tests (namespaces, daemons, peers): need root, run one at a time so
//               timing checks are not disturbed by another network test.
// Usage: node --import tsx test/run.ts [FILTER...]   (a FILTER is a substring of the file path)
// Ends with the line "N passed, N failed" that CI reads.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const FILE_TIMEOUT_MS = Number(process.env.TANDEM_TEST_TIMEOUT_MS ?? 300_000);

function findTests(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  output: string;
  code: number | null;
}

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[run] ${relative(ROOT, file)}: killed after ${FILE_TIMEOUT_MS} ms\n`;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000).unref();
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      // uvu's summary: "Total: N", "Passed: N", "Skipped: N" (ANSI codes stripped).
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes stripped here
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      const num = (label: string) => {
        const all = [...plain.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))];
        return all.length ? Number(all[all.length - 1][1]) : NaN;
      };
      const total = num('Total'),
        passed = num('Passed'),
        skipped = num('Skipped') || 0;
      let p = 0,
        f = 0;
      if (Number.isFinite(total) && Number.isFinite(passed)) {
        p = passed;
        f = total - passed - skipped;
        if (f === 0 && code !== 0) f = 1; // crashed after its summary
      } else {
        f = 1; // no summary at all: the file crashed or hung
      }
      resolve({ file, passed: p, failed: f, skipped, ms: Date.now() - started, output, code });
    });
  });
}

async function pool(files: string[], width: number, each: (r: FileResult) => void) {
  const queue = [...files];
  const workers = Array.from({ length: Math.min(width, queue.length) }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) each(await runFile(f));
  });
  await Promise.all(workers);
}

const filters = process.argv.slice(2);
const all = findTests(join(ROOT, 'test')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const isRoot = process.getuid?.() === 0;
const unit = all.filter((f) => !f.includes('/test/net/'));
const net = all.filter((f) => f.includes('/test/net/'));

let passed = 0,
  failed = 0,
  skipped = 0;
const failedFiles: string[] = [];
const report = (r: FileResult) => {
  const rel = relative(ROOT, r.file);
  const mark = r.failed ? 'FAIL' : 'ok  ';
  process.stdout.write(`${mark} ${rel}  (${r.passed} passed, ${r.failed} failed, ${(r.ms / 1000).toFixed(1)} s)\n`);
  if (r.failed || process.env.TANDEM_TEST_VERBOSE) process.stdout.write(`${r.output.replace(/^/gm, '    | ')}\n`);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  if (r.failed) failedFiles.push(rel);
};

const t0 = Date.now();
await pool(unit, 2, report);
let notRun = '';
if (net.length && !isRoot) {
  // Counted in tests (each test(...) call; a loop that makes several counts once, so "at least").
  const tests = net.reduce((n, f) => n + (readFileSync(f, 'utf8').match(/^\s*test\(/gm)?.length ?? 0), 0);
  notRun = `NOT RUN: at least ${tests} network tests in ${net.length} files: they need root (namespaces, raw sockets)`;
  process.stdout.write(`${notRun}\n`);
  // Under CI a network test that did not run is a failure: a green run must mean they passed.
  if (process.env.CI === 'true') failed += tests;
  else skipped += tests;
} else {
  await pool(net, 1, report);
}
process.stdout.write(`\n${all.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
if (failedFiles.length) process.stdout.write(`failed files:\n  ${failedFiles.join('\n  ')}\n`);
if (notRun) process.stdout.write(`${notRun}${process.env.CI === 'true' ? ' (CI=true: counted as failed)' : ''}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 || all.length === 0 ? 1 : 0);
