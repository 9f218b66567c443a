// The agent's persistent state (<root>/ota-state.json) and the pure boot decision.
//
// Commit protocol for a switch (A active, B written):
//   1. slot B fully written and fsynced (files, dirs, slot.json)
//   2. state.staged = 'b' and the <root>/trial marker (for the launcher), both atomic
//   3. <root>/current -> slots/b, renamed over the old link: the commit point
//   4. state: active b, previous a, pending, bootCount 0, staged null
// reconcile() repairs a kill between any two of these from what `current` really points at.

export type Slot = 'a' | 'b';
export const other = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

export interface SlotInfo {
  version: string;
  rollbackIndex: number;
  bundleSha256: string | null;
  installedAt: string;
  target: { os: string; arch: string };
}

export interface LastResult {
  op: 'apply' | 'confirm' | 'rollback' | 'boot' | 'image';
  ok: boolean;
  at: string;
  version?: string;
  reason?: string;
  detail?: string;
}

export interface RollbackRecord {
  at: string;
  from: Slot;
  to: Slot;
  failedVersion: string | null;
  bootCount: number;
  reason: string;
  /** The failed run's last log lines and exit reasons, kept for telemetry. */
  diagnostics: string[];
  reported: boolean;
}

export interface OtaState {
  schema: 1;
  active: Slot | null;
  previous: Slot | null;
  /** The active slot is on trial: not yet confirmed healthy. */
  pending: boolean;
  bootCount: number;
  /** A slot written and about to become active (step 2 of the commit protocol). */
  staged: Slot | null;
  slots: { a: SlotInfo | null; b: SlotInfo | null };
  /** Anti-rollback index of the last confirmed install. */
  rollbackIndex: number;
  lastBootId: string | null;
  lastDecision: BootDecision | null;
  lastResult: LastResult | null;
  lastRollback: RollbackRecord | null;
}

export function emptyState(): OtaState {
  return {
    schema: 1,
    active: null,
    previous: null,
    pending: false,
    bootCount: 0,
    staged: null,
    slots: { a: null, b: null },
    rollbackIndex: 0,
    lastBootId: null,
    lastDecision: null,
    lastResult: null,
    lastRollback: null,
  };
}

export type BootDecision =
  | { decision: 'none'; detail: string }
  | { decision: 'confirmed'; slot: Slot; version: string | null }
  | { decision: 'trial'; slot: Slot; version: string | null; bootCount: number; maxBoots: number }
  | {
      decision: 'rolled-back';
      slot: Slot;
      version: string | null;
      failedSlot: Slot;
      failedVersion: string | null;
      reason: string;
    };

/**
 * The boot decision, pure. A pending trial gets `maxBoots` starts; the start after that (the trial
 * crashed or was killed before confirming each time) switches back to the previous slot.
 * The same bootId asked twice (launcher, then daemon) gets the same answer and counts once.
 */
export function decideBoot(
  s: OtaState,
  bootId: string,
  maxBoots: number,
): { state: OtaState; decision: BootDecision; rollbackTo: Slot | null } {
  if (s.lastBootId === bootId && s.lastDecision) return { state: s, decision: s.lastDecision, rollbackTo: null };
  const next: OtaState = structuredClone(s);
  next.lastBootId = bootId;
  let decision: BootDecision;
  let rollbackTo: Slot | null = null;
  if (s.active === null) {
    decision = { decision: 'none', detail: 'no slot installed' };
  } else if (!s.pending) {
    decision = { decision: 'confirmed', slot: s.active, version: s.slots[s.active]?.version ?? null };
  } else if (s.bootCount >= maxBoots && s.previous !== null && s.slots[s.previous]) {
    const failed = s.active;
    rollbackTo = s.previous;
    next.active = s.previous;
    next.previous = failed;
    next.pending = false;
    next.bootCount = 0;
    const reason = `trial of ${s.slots[failed]?.version ?? '?'} not confirmed after ${s.bootCount} boots (limit ${maxBoots})`;
    decision = {
      decision: 'rolled-back',
      slot: s.previous,
      version: s.slots[s.previous]?.version ?? null,
      failedSlot: failed,
      failedVersion: s.slots[failed]?.version ?? null,
      reason,
    };
  } else {
    next.bootCount = s.bootCount + 1;
    decision = {
      decision: 'trial',
      slot: s.active,
      version: s.slots[s.active]?.version ?? null,
      bootCount: next.bootCount,
      maxBoots,
    };
  }
  next.lastDecision = decision;
  return { state: next, decision, rollbackTo };
}

/** Repair state after a kill mid-switch, given the slot `current` really points at. */
export function reconcile(s: OtaState, linked: Slot | null, nowIso: string): { state: OtaState; note: string | null } {
  if (linked === s.active && s.staged === null) return { state: s, note: null };
  const next: OtaState = structuredClone(s);
  if (s.staged !== null && linked === s.staged && linked !== s.active) {
    // Killed between the link switch (commit) and the state update: finish the switch.
    next.previous = s.active;
    next.active = s.staged;
    next.pending = s.active !== null;
    next.bootCount = 0;
    next.staged = null;
    return { state: next, note: `finished an interrupted switch to slot ${linked}` };
  }
  if (s.staged !== null && linked === s.active) {
    // Killed before the commit point: the staged slot is abandoned.
    next.staged = null;
    next.lastResult = {
      op: 'apply',
      ok: false,
      at: nowIso,
      reason: 'interrupted',
      detail: `install into slot ${s.staged} stopped before the switch`,
    };
    return { state: next, note: `abandoned an interrupted install into slot ${s.staged}` };
  }
  if (s.staged === null && linked !== null && linked === s.previous) {
    // Killed between moving the link back and saving the state: finish the rollback.
    next.previous = s.active;
    next.active = linked;
    next.pending = false;
    next.bootCount = 0;
    return { state: next, note: `finished an interrupted rollback to slot ${linked}` };
  }
  // `current` was changed behind our back (or state lost): believe the link.
  next.staged = null;
  next.active = linked;
  next.pending = false;
  next.bootCount = 0;
  return { state: next, note: `state said slot ${s.active}, current points at ${linked}: following current` };
}
