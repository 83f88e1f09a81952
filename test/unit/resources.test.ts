import { describe, expect, it } from 'vitest';
import { createResources } from '../../src/infra/resources.js';

describe('resources', () => {
  it('closes in reverse order, once, collecting failures', async () => {
    const order: string[] = [];
    const r = createResources();
    r.defer('a', () => order.push('a'));
    const v = r.add(
      'b',
      async () => {
        order.push('b');
        throw new Error('boom');
      },
      42,
    );
    r.defer('c', () => order.push('c'));
    expect(v).toBe(42);
    const [errors, again] = await Promise.all([r.closeAll(), r.closeAll()]);
    expect(order).toEqual(['c', 'b', 'a']);
    expect(errors.map((e) => e.message)).toEqual(['closing b: boom']);
    expect(again).toBe(errors);
  });
});
