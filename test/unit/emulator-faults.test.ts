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
});
