import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeError, exitCodeOf } from '../src/errors.js';
import { backfillCommand } from './backfill-command.js';
import { checkCommand } from './check-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { demoCommand } from './demo-command.js';
import { dlqCommand } from './dlq-command.js';
import { emulatorCommand } from './emulator-command.js';
import { runCommand } from './run-command.js';
import { scheduleCommand } from './schedule-command.js';
import { cancelCommand, statusCommand } from './status-command.js';
import { syncCommand } from './sync-command.js';
import { workerCommand } from './worker-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function buildProgram(): Command {
  const program = new Command('braze-import')
    .description('Bulk-import user data into Braze /users/track at the rate Braze allows, losing nothing.')
    .version(pkg.version)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors: one line, no usage dump, exit 2 (set below).
      outputError: (str, write) => write(`${str.trim().split('\n')[0]}\n`),
    });
  demoCommand(program);
  runCommand(program);
  syncCommand(program);
  backfillCommand(program);
  workerCommand(program);
  scheduleCommand(program);
  statusCommand(program);
  cancelCommand(program);
  dlqCommand(program);
  emulatorCommand(program);
  checkCommand(program);
  dashboardCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync') return 0;
      return 2;
    }
    process.stderr.write(`braze-import: ${describeError(err)}\n`);
    if (process.env['BRAZE_IMPORT_DEBUG'] && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return exitCodeOf(err);
  }
}

// `braze-import dlq export | head`: the reader went away. Stop quietly, with the command's own code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`braze-import: unexpected error: ${describeError(reason)}\n`);
  process.exit(1);
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`braze-import: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
