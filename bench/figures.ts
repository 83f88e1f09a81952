/**
 * A figure of the bench: a measured value beside its goal, or why there is none. A figure that could
 * not be measured (its scenario was left out or failed) says so and counts as not met.
 */
import type { ImportResult } from './import-run.js';
import type { Limit, Outcome } from './scenarios.js';

export interface Goal {
  text: string;
  met(value: number): boolean;
}

export interface Figure {
  /** Stable key in last-result.json. */
  id: string;
  label: string;
  value: number | null;
  /** The value as printed, or why there is none. */
  shown: string;
  goal: Goal | null;
  /** null when there is no goal. */
  met: boolean | null;
}

export interface Section {
  title: string;
  figures: Figure[];
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const atMost = (n: number, text = `<= ${fmt(n)}`): Goal => ({ text, met: (v) => v <= n });
export const atLeast = (n: number): Goal => ({ text: `>= ${fmt(n, 2)}`, met: (v) => v >= n });
export const ZERO: Goal = { text: '0', met: (v) => v === 0 };
export const RSS = atMost(200, '<= 200 MB');
export const REDIS = atMost(100, '<= 100 MB');

/** A measured number, or why there is none ("not run", "failed: ..."). */
export type Value = number | string;

function whyNot(o: Outcome<unknown> | undefined): string | undefined {
  if (!o) return 'not run';
  if (!o.ok) return `failed: ${o.error.slice(0, 60)}`;
  return undefined;
}

export function of<T>(o: Outcome<T> | undefined, f: (v: T) => number): Value {
  return o?.ok ? f(o.value) : (whyNot(o) as string);
}

export function ofBoth<A, B>(
  x: Outcome<A> | undefined,
  y: Outcome<B> | undefined,
  f: (a: A, b: B) => number,
): Value {
  if (x?.ok && y?.ok) return f(x.value, y.value);
  return (whyNot(x) ?? whyNot(y)) as string;
}

export function figure(
  id: string,
  label: string,
  value: Value,
  show: (v: number) => string,
  goal: Goal | null = null,
): Figure {
  if (typeof value === 'string' || Number.isNaN(value)) {
    const shown = typeof value === 'string' ? value : 'not measured';
    return { id, label, value: null, shown, goal, met: goal ? false : null };
  }
  return { id, label, value, shown: show(value), goal, met: goal ? goal.met(value) : null };
}

const allowedPerS = (l: Limit) => l.max / (l.windowMs / 1000);
/** Requests the emulator counted against the limit and let through. */
const admitted = (r: ImportResult) =>
  r.emulator.requests.track - r.emulator.rateLimited - r.emulator.faults.burst429;

/** Admitted requests per second from the `run` process's start to its exit, over the allowed rate. */
export const shareStartToExit = (r: ImportResult, l: Limit) => admitted(r) / r.wallS / allowedPerS(l);

/** The same between the first and the last request that reached the emulator (when they arrived). */
export function shareFirstToLast(r: ImportResult, l: Limit): number {
  const spanS = ((r.emulator.lastTrackAt ?? 0) - (r.emulator.firstTrackAt ?? 0)) / 1000;
  return spanS > 0 ? (admitted(r) - 1) / spanS / allowedPerS(l) : Number.NaN;
}
