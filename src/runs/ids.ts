import { randomBytes } from 'node:crypto';

/** BullMQ job ids are `<runId>-<chunk>`: no ':' and never all digits. */
export const RUN_ID_PATTERN = /^(?=.*[A-Za-z_])[A-Za-z0-9_.-]{1,64}$/;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}
