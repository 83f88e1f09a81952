import { Worker } from 'node:worker_threads';
import { EnvironmentError } from '../src/errors.js';
import { threadLogSink } from '../src/infra/logger.js';
import type { Sender, SenderOptions, SenderTally } from '../src/send/sender.js';

type Message =
  | { type: 'ready' }
  | { type: 'closed'; tally: SenderTally }
  | { type: 'error'; message: string; usage: boolean }
  | { type: 'halt'; runId: string; message: string; status: number }
  | { type: 'failure'; message: string }
  | { type: 'log'; line: string };

let prewarmed: { worker: Worker; exited: boolean } | undefined;

function newThread(): Worker {
  // The sender keeps little alive (the chunks in flight): bound its heap, but leave a young generation
  // big enough that scavenges do not slow sending (8 MB cost ~12% throughput for 25 MB of RSS).
  return new Worker(new URL('./sender-thread.js', import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 256 },
  });
}

/**
 * Starts the sender thread loading its modules (~0.4 s) while the caller does other start-up work;
 * startThreadSender takes it over. Unused, it does not keep the process alive.
 */
export function prewarmSenderThread(): void {
  if (prewarmed) return;
  const p = { worker: newThread(), exited: false };
  p.worker.unref();
  // A thread that failed to load is replaced by startThreadSender, whose own attempt reports why.
  p.worker.on('error', () => undefined);
  p.worker.once('exit', () => {
    p.exited = true;
  });
  prewarmed = p;
}

/** startSender, on a worker thread: same options, same Sender, a second core for sending. */
export async function startThreadSender(o: SenderOptions): Promise<Sender> {
  const { log: _log, onHalt, onFailure, onRunEnd: _fleetOnly, ...data } = o;
  const worker = prewarmed && !prewarmed.exited ? prewarmed.worker : newThread();
  prewarmed = undefined;
  worker.ref();
  worker.postMessage({ type: 'start', data });
  let started: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let closed: (() => void) | undefined;
  let tally: SenderTally = { chunks: 0, objectsAccepted: 0, objectsFailed: 0 };
  const writeLog = threadLogSink(o.config.log.format);
  worker.on('message', (m: Message) => {
    switch (m.type) {
      case 'log':
        return writeLog(m.line);
      case 'ready':
        return started?.resolve();
      case 'error':
        return started?.reject(m.usage ? new EnvironmentError(m.message) : new Error(m.message));
      case 'halt':
        return onHalt?.(m.runId, m.message, m.status);
      case 'failure':
        return onFailure?.(m.message);
      case 'closed':
        tally = m.tally;
        return closed?.();
    }
  });
  await new Promise<void>((resolve, reject) => {
    started = { resolve, reject };
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`sender thread exited with code ${code}`)));
  });
  started = undefined;
  let closing: Promise<void> | undefined;
  // After start-up, a thread that dies is a run that cannot finish in this process: say so.
  worker.on('error', (err) => onFailure?.(`sender thread failed: ${err.message}`));
  worker.on('exit', (code) => {
    if (!closing) onFailure?.(`sender thread exited with code ${code}`);
  });
  return {
    /** Known once the thread has closed; zeros before. */
    tally: () => ({ ...tally }),
    close(force = false) {
      if (closing) {
        // A second, forcing call while the graceful close waits for requests in flight.
        if (force) worker.postMessage({ type: 'close', force: true });
        return closing;
      }
      closing = new Promise<void>((resolve) => {
        closed = resolve;
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'close', force });
      }).then(async () => {
        await worker.terminate();
      });
      return closing;
    },
  };
}
