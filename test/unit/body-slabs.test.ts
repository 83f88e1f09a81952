import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBodySlabs, SLAB_BYTES } from '../../src/enqueue/body-slabs.js';

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

describe('body slabs', () => {
  it('gives the bytes Buffer.from gives, and never overwrites a body before it is released', () => {
    // Small slabs, so a run of operations fills, retires and reuses many of them.
    const text = fc.oneof(
      fc.string({ minLength: 10, maxLength: 60 }),
      fc.string({ unit: 'binary', minLength: 3, maxLength: 15 }),
    );
    const op = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('encode' as const), text }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const slabs = createBodySlabs(256);
        const held: { text: string; body: Buffer }[] = [];
        for (const o of ops) {
          if (o.kind === 'encode') {
            const body = slabs.encode(o.text, utf8(o.text));
            held.push({ text: o.text, body });
          } else if (held.length > 0) {
            const [gone] = held.splice(o.pick % held.length, 1);
            slabs.release(gone!.body);
          }
          for (const h of held) expect(h.body.equals(Buffer.from(h.text, 'utf8'))).toBe(true);
        }
      }),
    );
  });

  it('reuses a slab once every body in it is released, and no sooner', () => {
    const slabs = createBodySlabs(1024);
    const text = 'x'.repeat(200);
    const first = Array.from({ length: 5 }, () => slabs.encode(text, 200));
    expect(new Set(first.map((b) => b.buffer)).size).toBe(1);
    // The sixth does not fit (5 x 200 + 200 + 4 > 1024): a second slab.
    const sixth = slabs.encode(text, 200);
    expect(slabs.allocated()).toBe(2);
    for (const b of first.slice(0, 4)) slabs.release(b);
    // One body of the first slab is still held: the next slab is a new one, not the first again.
    for (let i = 0; i < 5; i++) slabs.encode(text, 200);
    expect(slabs.allocated()).toBe(3);
    slabs.release(first[4]!);
    // Now the first is free: the next slab needed is the first one again.
    const again = Array.from({ length: 5 }, () => slabs.encode(text, 200));
    expect(slabs.allocated()).toBe(3);
    expect(again.at(-1)!.buffer).toBe(first[0]!.buffer);
    expect(sixth.toString()).toBe(text);
  });

  it('gives a large body, or one whose size is not its text, a buffer of its own with the right bytes', () => {
    const slabs = createBodySlabs();
    const large = 'é'.repeat(SLAB_BYTES / 4);
    const own = slabs.encode(large, utf8(large));
    expect(own.toString()).toBe(large);
    expect(slabs.allocated()).toBe(0);
    // Sizes off by a byte either way, and a multi-byte character just past the stated size.
    for (const [text, bytes] of [
      ['abc', 2],
      ['abc', 4],
      ['ab€', 2],
      ['ab😀', 2],
    ] as const) {
      const body = slabs.encode(text, bytes);
      expect(body.equals(Buffer.from(text, 'utf8'))).toBe(true);
    }
  });

  it('ignores a release of a body it did not give out, or one released twice', () => {
    const slabs = createBodySlabs(512);
    const a = slabs.encode('a'.repeat(100), 100);
    const b = slabs.encode('b'.repeat(100), 100);
    slabs.release(Buffer.from('stranger'));
    slabs.release(a);
    slabs.release(a);
    // b is still held: filling on must not reuse its slab.
    for (let i = 0; i < 8; i++) slabs.encode('c'.repeat(100), 100);
    expect(b.toString()).toBe('b'.repeat(100));
  });
});
