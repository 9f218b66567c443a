// nftables through libnftables (nftables' own library, the one the `nft` command is built on),
// bound once through koffi. One context per process, opened on first use and kept: a fresh
// context's first command costs 16-27 ms, later ones 0.4-2 ms (../shared/facts/cluster.md), and a
// fresh `nft` process per change 25-40 ms. The context talks netlink in the network namespace of
// the process that first uses it (the daemon runs whole inside one).
//
// Each call is one buffer of nft commands, which the kernel commits as ONE transaction: either
// every command applies or none (libnftables batches a buffer into one NFNL_MSG_BATCH).
import koffi from 'koffi';
import { DriverError } from '../types.ts';

type Ptr = unknown;
interface Lib {
  ctxNew(flags: number): Ptr;
  bufferOutput(ctx: Ptr): number;
  bufferError(ctx: Ptr): number;
  run(ctx: Ptr, buf: string): number;
  outputBuffer(ctx: Ptr): string | null;
  errorBuffer(ctx: Ptr): string | null;
  ctxFree(ctx: Ptr): void;
}

const NFT_CTX_DEFAULT = 0;

let lib: Lib | null = null;
let ctx: Ptr | null = null;

function load(op: string): Lib {
  if (lib) return lib;
  let so: ReturnType<typeof koffi.load>;
  try {
    so = koffi.load('libnftables.so.1');
  } catch (e) {
    throw new DriverError(
      op,
      '',
      0,
      'ENOTSUP',
      `libnftables.so.1 not found (install libnftables1): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  // include/nftables/libnftables.h (nftables 1.0.x). The output/error getters return buffers the
  // context owns (valid until the next command): koffi copies them into JS strings.
  koffi.opaque('nft_ctx');
  lib = {
    ctxNew: so.func('nft_ctx *nft_ctx_new(uint32_t flags)'),
    bufferOutput: so.func('int nft_ctx_buffer_output(nft_ctx *ctx)'),
    bufferError: so.func('int nft_ctx_buffer_error(nft_ctx *ctx)'),
    run: so.func('int nft_run_cmd_from_buffer(nft_ctx *ctx, const char *buf)'),
    outputBuffer: so.func('const char *nft_ctx_get_output_buffer(nft_ctx *ctx)'),
    errorBuffer: so.func('const char *nft_ctx_get_error_buffer(nft_ctx *ctx)'),
    ctxFree: so.func('void nft_ctx_free(nft_ctx *ctx)'),
  };
  return lib;
}

function context(op: string): { l: Lib; c: Ptr } {
  const l = load(op);
  if (!ctx) {
    const c = l.ctxNew(NFT_CTX_DEFAULT);
    if (!c) throw new DriverError(op, '', 0, 'ENOMEM', 'nft_ctx_new failed');
    // Buffered: nft writes its output and errors into memory we read, never to our stdout/stderr.
    if (l.bufferOutput(c) !== 0 || l.bufferError(c) !== 0) {
      l.ctxFree(c);
      throw new DriverError(op, '', 0, 'ENOMEM', 'nft_ctx_buffer_output/error failed');
    }
    ctx = c;
  }
  return { l, c: ctx };
}

/** nft's first error line, without the echo of the command and the caret lines under it. */
export function nftErrorSummary(text: string): string {
  const lines = text
    .split('\n')
    .map((s) => s.trimEnd())
    .filter((s) => s.length > 0);
  const err = lines.find((s) => /error:/i.test(s)) ?? lines[0] ?? 'nft failed without a message';
  return err.replace(/^\/dev\/stdin:\d+:\d+-\d+:\s*|^<cmdline>:\d+:\d+-\d+:\s*/, '').slice(0, 300);
}

/** The errno name nft's message implies, for callers that branch on it ('' when none does). */
function codeOf(message: string): string {
  if (/No such file or directory|does not exist/i.test(message)) return 'ENOENT';
  if (/Operation not permitted/i.test(message)) return 'EPERM';
  if (/File exists/i.test(message)) return 'EEXIST';
  if (/Device or resource busy/i.test(message)) return 'EBUSY';
  if (/No such device/i.test(message)) return 'ENODEV';
  if (/Operation not supported|not supported/i.test(message)) return 'EOPNOTSUPP';
  return 'EINVAL';
}

/**
 * Runs `commands` (nft syntax, one command per line) as one transaction and returns nft's output
 * (for `list` commands). Throws DriverError(op, ifname, ...) carrying nft's own message.
 */
export function nftRun(op: string, ifname: string, commands: string): string {
  const { l, c } = context(op);
  const rc = l.run(c, commands);
  const out = l.outputBuffer(c) ?? '';
  if (rc !== 0) {
    const msg = nftErrorSummary(l.errorBuffer(c) ?? '');
    throw new DriverError(op, ifname, 0, codeOf(msg), `nft: ${msg}`);
  }
  return out;
}

/** Frees the context (the daemon's exit; tests). The next nftRun opens a new one. */
export function nftClose(): void {
  if (ctx && lib) lib.ctxFree(ctx);
  ctx = null;
}
