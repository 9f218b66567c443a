// Thin re-export of the lab for tests, plus withLab(): build, run, always tear down.
export * from '../../lab/netns.ts';
export * from '../../lab/peers.ts';
export * from '../../lab/wire.ts';
export * from '../../lab/prober.ts';
import { createLab } from '../../lab/netns.ts';
import type { Lab, CreateLabOptions } from '../../lab/netns.ts';

/** Build a lab, run `fn`, destroy the lab even when `fn` throws. */
export async function withLab<T>(opts: CreateLabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = await createLab(opts);
  try {
    return await fn(lab);
  } finally {
    await lab.destroy();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
