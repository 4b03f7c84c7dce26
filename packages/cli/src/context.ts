import { type OpenStoreOptions, openClient, type QuiverClient } from '@quiver/core';
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

/** True when `--json` was given anywhere on the command line. */
export function isJsonOutput(): boolean {
  return jsonOutput;
}

/**
 * Runs a command body with an open client, prints errors the CLI way and sets the exit code
 * (0 success, 1 failure).
 */
export async function runWithClient(
  options: CommonOptions,
  body: (client: QuiverClient, output: Output) => Promise<number | undefined>,
  open: OpenStoreOptions = {},
): Promise<void> {
  const output = createOutput(options.json === true || jsonOutput);
  let client: QuiverClient | undefined;
  try {
    // openStore checks QUIVER_MODE and creates the store folder one folder at a time (a folder
    // that cannot exist, under /proc, fails at once).
    client = await openClient({ ...open, ...(options.dir ? { dir: options.dir } : {}) });
    process.exitCode = (await body(client, output)) ?? 0;
  } catch (error) {
    process.exitCode = reportError(error, output.json);
  } finally {
    await client?.close();
  }
}
