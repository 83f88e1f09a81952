import type { RunRecord } from '../runs/store.js';

/**
 * How far a run has got, for the dashboard and `status --watch`: the share of its input read, its
 * counts, how fast objects are settled and when it should end. Pure: the caller keeps the samples.
 */
export interface RunProgress {
  /** 0..1, or undefined when the input's size is unknown (stdin) and reading is not done. */
  readShare: number | undefined;
  accepted: number;
  rejected: number;
  failed: number;
  /** Objects settled (accepted or failed) per second: recent while live, the average once finished. */
  rate: number;
  /** Milliseconds left, when it can be told. */
  etaMs: number | undefined;
}

export interface Sample {
  at: number;
  settled: number;
}

/** How many seconds of samples a rate is taken over. */
const RATE_WINDOW_MS = 10_000;

const settledOf = (run: RunRecord) => run.objectsAccepted + run.objectsFailed;

/** Keeps a run's recent samples (oldest first), enough for the rate over RATE_WINDOW_MS. */
export function addSample(samples: Sample[], run: RunRecord, at: number): Sample[] {
  const kept = samples.filter((s) => at - s.at <= RATE_WINDOW_MS && s.at < at);
  kept.push({ at, settled: settledOf(run) });
  return kept;
}

export function progressOf(
  run: RunRecord,
  samples: readonly Sample[],
  live: boolean,
  now: number,
): RunProgress {
  const size = run.inputBytes ?? 0;
  const readShare = run.producerDone ? 1 : size > 0 ? Math.min(1, run.bytesRead / size) : undefined;
  const settled = settledOf(run);
  const first = samples[0];
  const last = samples[samples.length - 1];
  let rate: number;
  if (live) {
    rate =
      first && last && last.at > first.at
        ? ((last.settled - first.settled) * 1000) / (last.at - first.at)
        : 0;
  } else {
    const ms = (run.finishedAt ?? now) - run.createdAt;
    rate = ms > 0 ? (settled * 1000) / ms : 0;
  }
  return {
    readShare,
    accepted: run.objectsAccepted,
    rejected: run.rowsRejected,
    failed: run.objectsFailed,
    rate: Math.max(0, rate),
    etaMs: live ? eta(run, readShare, settled, rate, now) : 0,
  };
}

function eta(run: RunRecord, readShare: number | undefined, settled: number, rate: number, now: number) {
  if (!run.producerDone) {
    // While reading, the input is the longer part: extrapolate from the share read so far.
    const elapsed = now - run.createdAt;
    if (!readShare || readShare < 0.01 || elapsed < 2000) return undefined;
    return (elapsed * (1 - readShare)) / readShare;
  }
  const left = run.objects - settled;
  if (left <= 0) return 0;
  return rate > 0 ? (left / rate) * 1000 : undefined;
}

/** `1:05`, `1:02:05`; `--:--` when unknown. */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined) return '--:--';
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A duration for people: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** A start time for people, in the machine's time zone: `2026-11-27 12:10:38`. */
export function formatStart(at: number): string {
  const d = new Date(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
