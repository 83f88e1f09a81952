import { describe, expect, it } from 'vitest';
import { FaultInjector, mulberry32, newFaultDecision } from '../../src/emulator/faults.js';

function outcomes(injector: FaultInjector, n: number): string[] {
  return Array.from({ length: n }, () => {
    const d = injector.decide(newFaultDecision());
    if (d.burst429) return '429';
    if (d.reset !== 'none') return `reset-${d.reset}`;
    if (d.failStatus) return String(d.failStatus);
    return d.slow ? 'slow' : 'ok';
  });
}

const faulty = { failRate: 0.2, resetRate: 0.1, slowRate: 0.1, slowMs: 50 };

describe('seeded faults', () => {
  it('mulberry32 is deterministic and uniform enough', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });

  it('the same seed gives the same fault sequence; another seed does not', () => {
    const one = outcomes(new FaultInjector(faulty, 42), 500);
    expect(outcomes(new FaultInjector(faulty, 42), 500)).toEqual(one);
    expect(outcomes(new FaultInjector(faulty, 43), 500)).not.toEqual(one);
    const failures = one.filter((o) => /^5\d\d$/.test(o)).length;
    expect(failures).toBeGreaterThan(50);
    expect(failures).toBeLessThan(150);
  });

  it('restart replays the sequence; rates changed mid-run keep the dice aligned', () => {
    const inj = new FaultInjector(faulty, 9);
    const first = outcomes(inj, 100);
    inj.restart();
    expect(outcomes(inj, 100)).toEqual(first);
    inj.restart();
    outcomes(inj, 10);
    inj.update({ failRate: 0, resetRate: 0, slowRate: 0 });
    expect(outcomes(inj, 20).every((o) => o === 'ok')).toBe(true);
  });

  it('rates of 0 and 1 are absolute, and 5xx statuses come from the configured list', () => {
    expect(outcomes(new FaultInjector({}, 1), 200).every((o) => o === 'ok')).toBe(true);
    const all = outcomes(new FaultInjector({ failRate: 1, failStatuses: [502, 504] }, 1), 200);
    expect(new Set(all)).toEqual(new Set(['502', '504']));
  });

  it('burst429Every starts a burst of burst429Length injected 429s', () => {
    const inj = new FaultInjector({ burst429Every: 5, burst429Length: 2 }, 1);
    expect(outcomes(inj, 12)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      '429',
      '429',
      'ok',
      'ok',
      'ok',
      '429',
      '429',
      'ok',
    ]);
  });

  it('delay combines the base latency and the slow extra', () => {
    const inj = new FaultInjector({ latencyMs: 5, slowRate: 1, slowMs: 100 }, 1);
    expect(inj.decide(newFaultDecision())).toMatchObject({ slow: true, delayMs: 105 });
  });

  it('applies to the buckets it targets: all by default, or a list (no route only under all)', () => {
    const all = new FaultInjector({}, 1);
    expect([all.applies('track'), all.applies('bulk'), all.applies(undefined)]).toEqual([true, true, true]);
    const bulk = new FaultInjector({ buckets: ['bulk'] }, 1);
    expect([bulk.applies('track'), bulk.applies('bulk'), bulk.applies(undefined)]).toEqual([
      false,
      true,
      false,
    ]);
    bulk.update({ buckets: 'all' });
    expect(bulk.applies('users')).toBe(true);
    expect(bulk.config.buckets).toBe('all');
  });
});

describe('latency and arrival jitter', () => {
  const draws = (inj: FaultInjector, n: number, f: (i: FaultInjector) => number) =>
    Array.from({ length: n }, () => f(inj));

  it('answers wait latencyMs plus a uniform draw in [-J, +J], spread over the range, reproducible by seed', () => {
    const config = { latencyMs: 150, latencyJitterMs: 50 };
    const a = draws(new FaultInjector(config, 5), 2000, (i) => i.decide(newFaultDecision()).delayMs);
    expect(draws(new FaultInjector(config, 5), 2000, (i) => i.decide(newFaultDecision()).delayMs)).toEqual(a);
    expect(
      draws(new FaultInjector(config, 6), 2000, (i) => i.decide(newFaultDecision()).delayMs),
    ).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...a)).toBeLessThanOrEqual(200);
    // 2,000 seeded draws reach both ends of the range and centre on the latency.
    expect(Math.min(...a)).toBeLessThan(105);
    expect(Math.max(...a)).toBeGreaterThan(195);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(Math.abs(mean - 150)).toBeLessThan(3);
  });

  it('never waits less than 0, and a slow answer adds slowMs to the drawn latency', () => {
    const low = draws(new FaultInjector({ latencyMs: 10, latencyJitterMs: 50 }, 1), 500, (i) => i.latency());
    expect(Math.min(...low)).toBe(0);
    expect(low.filter((d) => d === 0).length).toBeGreaterThan(100);
    const slow = new FaultInjector({ latencyMs: 100, latencyJitterMs: 20, slowRate: 1, slowMs: 1000 }, 1);
    for (let n = 0; n < 50; n++) {
      const d = slow.decide(newFaultDecision());
      expect(d.delayMs).toBe(d.latencyMs + 1000);
      expect(d.latencyMs).toBeGreaterThanOrEqual(80);
      expect(d.latencyMs).toBeLessThanOrEqual(120);
    }
  });

  it('turning either jitter on does not change the fault dice sequence', () => {
    const plain = outcomes(new FaultInjector(faulty, 11), 300);
    const jittery = new FaultInjector({ ...faulty, latencyJitterMs: 40, arrivalJitterMs: 250 }, 11);
    const mixed = Array.from({ length: 300 }, () => {
      jittery.arrivalDelay();
      return outcomes(jittery, 1)[0];
    });
    expect(mixed).toEqual(plain);
  });

  it('arrival delays are uniform in [0, J), reproducible by seed, restarted with the dice', () => {
    const inj = new FaultInjector({ arrivalJitterMs: 250 }, 3);
    const a = draws(inj, 2000, (i) => i.arrivalDelay());
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThan(250);
    expect(a.filter((d) => d < 125).length / a.length).toBeCloseTo(0.5, 1);
    inj.restart();
    expect(draws(inj, 2000, (i) => i.arrivalDelay())).toEqual(a);
    expect(draws(new FaultInjector({}, 3), 10, (i) => i.arrivalDelay())).toEqual(Array(10).fill(0));
  });
});
