import type { Response } from 'express';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A failed chunk's reason without Braze's answer text (it can quote the records sent) and without
 * anything else we did not word ourselves: the status and our advice are kept, the rest replaced.
 */
export function safeFailedReason(reason: unknown): string | undefined {
  if (typeof reason !== 'string' || reason === '') return undefined;
  const braze = /^Braze answered (\d{3})\b.*?(: check [A-Z_]+(?: and its [\w.]+ permission)?)?$/.exec(reason);
  if (braze) return `Braze answered ${braze[1]}${braze[2] ?? ''}`;
  const http = /^(?:failed: )?HTTP (\d{3})\b/.exec(reason);
  if (http) return `HTTP ${http[1]} (Braze's answer is not shown here)`;
  const network = /^(?:failed: )?request failed: ([A-Z_]+|\w+Error)\b/.exec(reason);
  if (network) return `request failed: ${network[1]}`;
  if (/^rate limited too many times/.test(reason)) return 'rate limited too many times; retrying later';
  return 'failed (details are not shown here: see the run page and its dead letters)';
}

/** A job as bull-board formats it, without its stack trace and with a safe reason. */
function cleanJob(job: unknown): unknown {
  if (!isObject(job)) return job;
  const out: Record<string, unknown> = { ...job, stacktrace: [] };
  if ('failedReason' in job) out['failedReason'] = safeFailedReason(job['failedReason']);
  return out;
}

/** Walks what bull-board answers (`{queues: [{jobs}]}`, `{job}`) and cleans every job in it. */
export function cleanBoardBody(body: unknown): unknown {
  if (!isObject(body)) return body;
  const out: Record<string, unknown> = { ...body };
  if (Array.isArray(body['queues'])) {
    out['queues'] = body['queues'].map((q) =>
      isObject(q) && Array.isArray(q['jobs']) ? { ...q, jobs: q['jobs'].map(cleanJob) } : q,
    );
  }
  if ('job' in body) out['job'] = cleanJob(body['job']);
  return out;
}

/**
 * Every JSON answer of bull-board's API passes through cleanBoardBody; a server error says only that
 * (its message could name a Redis host or a path).
 */
export function sanitizeBoardBody(res: Response): void {
  const json = res.json.bind(res);
  res.json = (body?: unknown) => {
    if (res.statusCode >= 500) return json({ error: 'internal error' });
    return json(cleanBoardBody(body));
  };
}

const FONT_LINK = /<link[^>]+href="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^"]*"[^>]*>/g;

/** bull-board's page asks Google for its fonts: not from here (the CSP would block it anyway). */
export function withoutThirdPartyFonts(res: Response): void {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => send(typeof body === 'string' ? body.replace(FONT_LINK, '') : body);
}
