/** Prints the bench's results table (goal and verdict beside each figure) and writes last-result.json. */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DATA } from './data-file.js';
import { type Figure, fmt, type Section } from './figures.js';
import type { ImportResult } from './import-run.js';
import type { GateView } from './measure.js';
import type { BenchPlan, BenchResults } from './scenarios.js';
import { coresBusy } from './sections.js';

const verdict = (f: Figure) =>
  f.met === null ? '' : f.met ? 'met' : f.value === null ? 'NOT MEASURED' : 'MISSED';

const NOTES = [
  'share: requests the emulator admitted per second, over the limit\'s rate; "process start to exit" is',
  '  the `run` process\'s whole life, "first to last request" the span between the first and the last',
  '  arrival at the emulator. The latter can pass 1.0: N requests at the limit from a full first window',
  '  span N/limit - 1 windows, not N/limit.',
];

export function printTable(sections: Section[]): void {
  const rows = sections.flatMap((s) => s.figures);
  const w = {
    label: Math.max(...rows.map((f) => f.label.length)) + 2,
    value: Math.max(...rows.map((f) => f.shown.length), 'value'.length) + 2,
    goal: Math.max(...rows.map((f) => f.goal?.text.length ?? 0), 'goal'.length) + 2,
  };
  const line = (label: string, value: string, goal: string, met: string) =>
    `  ${label.padEnd(w.label)}${value.padEnd(w.value)}${goal.padEnd(w.goal)}${met}`.trimEnd();
  const out = ['', line('figure', 'value', 'goal', 'verdict')];
  for (const s of sections) {
    out.push(s.title);
    for (const f of s.figures) out.push(line(f.label, f.shown, f.goal?.text ?? '', verdict(f)));
  }
  const goals = rows.filter((f) => f.met !== null);
  out.push('', `goals met: ${goals.filter((f) => f.met).length} of ${goals.length}`, ...NOTES);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Cut, not rounded, to 0.1 ms: a delay drawn in [0, 250) must not print as 250. */
const ms = (v: number) => (Number.isInteger(v) ? fmt(v) : fmt(Math.trunc(v * 10) / 10, 1));
const spread = (d: { count: number; min: number; max: number; mean: number }) =>
  `${ms(d.min)}-${ms(d.max)} ms (mean ${fmt(d.mean, 1)} ms, ${fmt(d.count)} requests)`;

/**
 * The CPU the run, Redis and the emulator took, and how busy that kept the machine's cores over the
 * run: near 1.0, the import's speed is what the cores allow, and the emulator (the stand-in for a
 * Braze that runs elsewhere) takes its share of them.
 */
function cpuShare(r: ImportResult): string {
  return (
    `CPU: run ${fmt(r.runCpuS, 1)} s, Redis ${fmt(r.redisCpuS, 1)} s, emulator ${fmt(r.emulatorCpuS, 1)} s: ` +
    `${fmt(coresBusy(r), 2)} of ${cpus().length} cores over the run`
  );
}

/**
 * The send gate at the end of a run at the limit: its slack caps the rate at max / (window + slack)
 * (3,000 / 3.3 s is 0.91 of the limit), and send times handed out beyond the requests sent went unused.
 */
function gateLine(g: GateView, requests: number): string {
  const est = (v: number) => (v < 0 ? 'none' : `${fmt(v)} ms`);
  return (
    `gate: slack ${fmt(g.slackMs)} ms (jitter in Braze's counts ${est(g.jitterMs)}, spread of answer times ` +
    `${est(g.spreadMs)}); ${fmt(g.timesHandedOut)} send times for ${fmt(requests)} requests`
  );
}

/** What each import did and what the emulator modelled, so a figure can be read against it. */
export function printConditions(res: BenchResults): void {
  const out = ['', 'conditions (what the emulator saw):'];
  for (const name of ['b', 'c0', 'c150', 'c300', 'j', 'd'] as const) {
    const o = res[name];
    if (!o?.ok) continue;
    const r: ImportResult = o.value;
    const e = r.emulator;
    // Every generated row is valid and one object: fewer accepted means the run lost some.
    const whole =
      r.accepted === r.rows ? '' : ' (INCOMPLETE: the figures above do not describe a whole import)';
    out.push(
      `  (${name}) ${fmt(r.wallS, 1)} s, ${fmt(r.accepted)} of ${fmt(r.rows)} rows accepted${whole}, ` +
        `${fmt(r.requestsSent)} requests sent, ${fmt(e.requests.track)} arrived`,
    );
    if (name !== 'd') out.push(`        ${cpuShare(r)}`);
    if (e.answerDelayMs.max > 0) out.push(`        answers waited ${spread(e.answerDelayMs)}`);
    if (e.arrivalDelayMs.max > 0) {
      out.push(`        counted against the limit ${spread(e.arrivalDelayMs)} after arriving`);
    }
    if (r.gate && name !== 'b' && name !== 'd') out.push(`        ${gateLine(r.gate, r.requestsSent)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function writeResult(plan: BenchPlan, res: BenchResults, sections: Section[], tookS: number): string {
  const file = join(DATA, 'last-result.json');
  const figures = sections.flatMap((s) =>
    s.figures.map((f) => ({ section: s.title, ...f, goal: f.goal?.text ?? null })),
  );
  const body = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadAvgAtEnd: loadavg() },
    plan: { ...plan, only: [...plan.only] },
    tookS,
    figures,
    results: res,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
