import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Names the process that owns a run while it reads or sends: `host:pid:random`. */
export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Owners are `host:pid:random` (see ownerId): on the same host, a pid that no longer exists is a
 * process that died without a word. Elsewhere we cannot tell, and the lease decides.
 */
export function ownerIsDead(owner: string): boolean {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
