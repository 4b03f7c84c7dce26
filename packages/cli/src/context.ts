import { ensureFolder, openClient, type QuiverClient, QuiverError, resolveStoreSettings } from '@quiver/core';
import { type Command, Option } from 'commander';
import { createOutput, type Output, reportError } from './output.js';

/** Options every command accepts. */
export interface CommonOptions {
  json?: boolean;
  dir?: string;
}

/** Adds `--json` and `--dir` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .addOption(new Option('--json', 'print machine-readable JSON on stdout'))
    .addOption(new Option('--dir <path>', 'store directory').env('QUIVER_DIR'));
}

let jsonOutput = false;

/** Set by `main` when `--json` is anywhere on the command line (also before the subcommand). */
export function setJsonOutput(json: boolean): void {
  jsonOutput = json;
}

const MODES = ['local', 'disabled'];

/**
 * Refuses a `QUIVER_MODE` the SDK would refuse, so a typo is caught in the shell too (the CLI
 * works on the store whatever the mode: `disabled` only turns logging from code off).
 */
function checkMode(): void {
  const value = process.env.QUIVER_MODE?.trim();
  if (!value || MODES.includes(value)) return;
  throw new QuiverError(
    'E_INVALID_ENV',
    `QUIVER_MODE=${JSON.stringify(value)} is not valid: use one of ${MODES.join(', ')}, or unset it.`,
    { details: { variable: 'QUIVER_MODE', value } },
  );
}

/**
 * Runs a command body with an open client, prints errors the CLI way and sets the exit code
 * (0 success, 1 failure).
 */
export async function runWithClient(
  options: CommonOptions,
  body: (client: QuiverClient, output: Output) => Promise<number | undefined>,
): Promise<void> {
  const output = createOutput(options.json === true || jsonOutput);
  let client: QuiverClient | undefined;
  try {
    checkMode();
    const settings = resolveStoreSettings(options.dir ? { dir: options.dir } : {});
    // Created here, one folder at a time, so that a store folder that cannot exist (under /proc)
    // fails at once instead of hanging in Node's recursive mkdir inside openStore.
    ensureFolder(settings.dir, { side: 'store' });
    client = await openClient(options.dir ? { dir: options.dir } : {});
    process.exitCode = (await body(client, output)) ?? 0;
  } catch (error) {
    process.exitCode = reportError(error, output.json);
  } finally {
    await client?.close();
  }
}
