import { spawn } from 'node:child_process';
import { BIN, withThisNode } from './cli.js';

/**
 * What a terminal shows after printing `raw`: carriage returns, erase-to-end-of-line and newlines
 * are applied to a screen of lines; colours and other escape sequences are dropped. Enough to tell
 * whether a progress line and the summary overwrote each other.
 */
const ESC = String.fromCharCode(27);
const CSI = new RegExp(`^${ESC}\\[([?0-9;]*)([A-Za-z])`);
/** Every escape sequence: what a terminal draws without them. */
export const stripEscapes = (text: string) => text.replace(new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g'), '');

export function renderTerminal(raw: string): string[] {
  const screen: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const line = screen[row] ?? '';
    screen[row] = line.slice(0, col).padEnd(col, ' ') + ch + line.slice(col + 1);
    col++;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b') {
      const m = CSI.exec(raw.slice(i));
      if (m) {
        if (m[2] === 'K') screen[row] = (screen[row] ?? '').slice(0, col);
        i += m[0].length - 1;
      }
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      screen[row] ??= '';
    } else put(ch);
  }
  return screen.map((l) => l.trimEnd());
}

export interface PtyRun {
  /** Writes to the terminal, as typing would (\x03 is Ctrl-C). */
  type(text: string): void;
  output(): string;
  result: Promise<{ code: number | null; raw: string }>;
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), 80 columns wide. */
export function runOnPty(args: string[], env: NodeJS.ProcessEnv): PtyRun {
  const quoted = [BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', `stty cols 80 rows 40; exec ${quoted}`, '/dev/null'], {
    env: { ...withThisNode(env), TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => {
    raw += d.toString('utf8');
  });
  child.stderr.on('data', (d: Buffer) => {
    raw += d.toString('utf8');
  });
  const result = new Promise<{ code: number | null; raw: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, raw }));
  });
  return {
    type: (text) => child.stdin.write(text),
    output: () => raw,
    result,
  };
}
