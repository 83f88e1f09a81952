import { describe, expect, it } from 'vitest';
import { createTty } from '../../src/infra/tty.js';

function fakeStream(columns = 80) {
  const written: string[] = [];
  const stream = { columns, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('createTty', () => {
  it('writes a line from a clean line even with no status line shown (a "^C" echo is not kept before it)', () => {
    const { stream, written } = fakeStream();
    const tty = createTty(stream);
    tty.write('stopping');
    expect(written.join('')).toBe('\r\x1b[Kstopping\n');
  });

  it('clears the status line, writes the line, and draws the status line again, clipped', () => {
    const { stream, written } = fakeStream(20);
    const tty = createTty(stream);
    tty.status('12,000 rows, 3,000 rows/s, 40%');
    written.length = 0;
    tty.write('a log line');
    expect(written.join('')).toBe('\r\x1b[Ka log line\n\r\x1b[K12,000 rows, 3,000 …');
  });
});
