import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers this process's CPU priority to `nice` (0..19; 0 leaves it as it is): a backfill yields the
 * CPU to a sync or a run on the same machine instead of slowing it. On Linux a nice value belongs to
 * each thread, and V8's helper threads and a sender thread started earlier already exist, so every
 * thread in /proc/self/task is lowered; threads started later inherit it from the thread that starts
 * them. Elsewhere the process's own value is set. Raising a nice value needs no privilege; a
 * platform that refuses is not worth failing a backfill over, so a refusal is returned, not thrown.
 */
export function lowerPriority(nice: number): { lowered: number; refused: number } {
  let lowered = 0;
  let refused = 0;
  if (nice <= 0) return { lowered, refused };
  let threads: number[];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    threads = [0];
  }
  for (const thread of threads) {
    try {
      if (getPriority(thread) >= nice) continue;
      setPriority(thread, nice);
      lowered++;
    } catch {
      // The thread ended between the listing and the call, or the platform refused.
      refused++;
    }
  }
  return { lowered, refused };
}
