/**
 * Every resource registers its close when it is created; closeAll() runs them in reverse order,
 * once, even if some fail (failures are collected, not thrown halfway).
 */
export interface Resources {
  add<T>(name: string, close: () => Promise<unknown> | unknown, value: T): T;
  defer(name: string, close: () => Promise<unknown> | unknown): void;
  closeAll(): Promise<Error[]>;
}

export function createResources(): Resources {
  const stack: Array<{ name: string; close: () => Promise<unknown> | unknown }> = [];
  let closing: Promise<Error[]> | undefined;
  return {
    add(name, close, value) {
      stack.push({ name, close });
      return value;
    },
    defer(name, close) {
      stack.push({ name, close });
    },
    closeAll() {
      closing ??= (async () => {
        const errors: Error[] = [];
        while (stack.length > 0) {
          const item = stack.pop()!;
          try {
            await item.close();
          } catch (err) {
            errors.push(new Error(`closing ${item.name}: ${(err as Error).message}`));
          }
        }
        return errors;
      })();
      return closing;
    },
  };
}

export interface ShutdownOptions {
  /** First signal: stop taking work and drain. */
  onGraceful: (signal: NodeJS.Signals) => void;
  /** Second signal or deadline: stop now. */
  onForce: (reason: 'second-signal' | 'deadline') => void;
  deadlineMs?: number;
  signals?: NodeJS.Signals[];
}

/** Two-stage shutdown: the first SIGINT/SIGTERM drains, a second one (or the deadline) forces. */
export function installShutdown(options: ShutdownOptions): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  let stage = 0;
  let timer: NodeJS.Timeout | undefined;
  const handler = (signal: NodeJS.Signals) => {
    stage++;
    if (stage === 1) {
      options.onGraceful(signal);
      if (options.deadlineMs !== undefined) {
        timer = setTimeout(() => options.onForce('deadline'), options.deadlineMs);
        timer.unref();
      }
    } else if (stage === 2) {
      options.onForce('second-signal');
    }
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    if (timer) clearTimeout(timer);
    for (const s of signals) process.removeListener(s, handler);
  };
}
