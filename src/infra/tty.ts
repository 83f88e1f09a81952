/**
 * One owner for what the CLI writes to a terminal's stderr: a status line (progress) at the bottom,
 * and log lines above it. A log line clears the status line, is written, and the status line is drawn
 * again, so neither overwrites the other; the status line is clipped to the terminal's width so it
 * never wraps. Nothing here hides the cursor or turns off line wrapping, so a process killed mid-line
 * leaves the terminal as it found it.
 */
export interface Tty {
  /** Writes whole lines above the status line. */
  write(text: string): void;
  /** Shows (or replaces) the status line. */
  status(text: string): void;
  /** Removes the status line (before a summary is printed). */
  clear(): void;
}

const CLEAR_LINE = '\r\x1b[K';

export function createTty(stream: NodeJS.WriteStream = process.stderr): Tty {
  let current: string | undefined;
  const width = () => Math.max(20, (stream.columns || 80) - 1);
  const draw = () => {
    if (current !== undefined) stream.write(`${CLEAR_LINE}${clip(current, width())}`);
  };
  return {
    write(text) {
      const lines = text.endsWith('\n') ? text : `${text}\n`;
      // Always from a clean line: what is on it is the status line, or what another writer left there
      // (the terminal's own echo of a Ctrl-C, "^C", before the warning it brings).
      stream.write(`${CLEAR_LINE}${lines}`);
      draw();
    },
    status(text) {
      current = text;
      draw();
    },
    clear() {
      if (current === undefined) return;
      current = undefined;
      stream.write(CLEAR_LINE);
    },
  };
}

/** At most `width` characters (code points), with an ellipsis when cut. */
export function clip(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

let shared: Tty | undefined;
/** The process's terminal stderr, shared by the logger and the progress line. */
export function stderrTty(): Tty {
  shared ??= createTty(process.stderr);
  return shared;
}
