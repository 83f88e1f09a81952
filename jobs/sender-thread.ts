/**
 * Entry point of the sending thread that `run` starts: the producer (parse, validate, chunk) keeps
 * the main thread, sending gets a core of its own. Messages: in `start {data}` (once), `close {force}`;
 * out `ready`, `error {message}`, `halt {runId, message, status}`, `log {line}`, `closed {tally}`. The thread may be
 * started before its options are known (see prewarmSenderThread), so they come as a message.
 */
import { parentPort } from 'node:worker_threads';
import { describeError } from '../src/errors.js';
import { createLogger } from '../src/infra/logger.js';
import { type SenderOptions, startSender } from '../src/send/sender.js';

type ThreadData = Omit<SenderOptions, 'log' | 'onHalt' | 'onFailure' | 'onRunEnd'>;

const port = parentPort;
if (!port) throw new Error('sender-thread must run in a worker thread');

async function start(data: ThreadData, port: NonNullable<typeof parentPort>): Promise<void> {
  // JSON lines to the main thread, which writes them where its own go (readable on a terminal, and
  // never across the progress line).
  const log = createLogger({
    ...data.config.log,
    format: 'json',
    secrets: [data.braze.apiKey],
    name: 'braze-import:sender',
    destination: { write: (line: string) => port.postMessage({ type: 'log', line }) },
  });
  try {
    const sender = await startSender({
      ...data,
      log,
      onHalt: (runId, message, status) => port.postMessage({ type: 'halt', runId, message, status }),
      onFailure: (message) => port.postMessage({ type: 'failure', message }),
    });
    port.on('message', (m: { type: string; force?: boolean }) => {
      if (m.type !== 'close') return;
      sender.close(m.force).finally(() => port.postMessage({ type: 'closed', tally: sender.tally() }));
    });
    port.postMessage({ type: 'ready' });
  } catch (err) {
    port.postMessage({
      type: 'error',
      message: describeError(err),
      usage: (err as { exitCode?: number }).exitCode === 2,
    });
  }
}

port.once('message', (m: { type: string; data?: ThreadData }) => {
  if (m.type === 'start' && m.data) void start(m.data, port);
});
