import { WindowMax } from '../../src/emulator/rate-limit.js';

/** Most of these sorted times in any window of `windowMs`, by the rule the emulator enforces. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const w = new WindowMax(windowMs);
  for (const t of times) w.record(t);
  return w.max;
}
