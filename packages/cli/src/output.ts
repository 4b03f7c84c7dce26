import { isQuiverError } from '@quiver/core';
import { commandPath, UsageError } from './usage.js';

/** Where and how a command prints. `--json` output is one JSON document on stdout. */
export interface Output {
  json: boolean;
  /** Prints a value: as JSON with `--json`, otherwise through `human`. */
  result<T>(value: T, human: (value: T) => string): void;
  /** A line for people on stderr (progress notes); silent with `--json`. */
  note(text: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
    },
    note(text) {
      if (!json) process.stderr.write(`${text}\n`);
    },
  };
}

/**
 * `scheme://user:password@host` → `scheme://***@host`: credentials never reach the terminal or
 * logs. `hf://` is left alone: there the part before '@' is a repo, `hf://gpt2@main/config.json`.
 */
export function redactCredentials(text: string): string {
  return text.replace(/\b((?!hf:)[a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'`]+@/gi, '$1***@');
}

function write(stream: NodeJS.WriteStream, text: string): void {
  stream.write(redactCredentials(text));
}

/**
 * Prints an error the way the CLI always does and returns the exit code: with `--json` one
 * `{ "error": { code, message, details } }` document on stdout, otherwise `error [CODE]: message`
 * on stderr. Usage errors ({@link UsageError}) exit 2, every other failure 1.
 */
export function reportError(error: unknown, json: boolean): number {
  if (isQuiverError(error) || error instanceof UsageError) {
    if (json) write(process.stdout, `${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
    else {
      write(process.stderr, `error [${error.code}]: ${error.message}\n`);
      if (error instanceof UsageError && error.command)
        write(process.stderr, `usage: ${commandPath(error.command)} ${error.command.usage()}\n`);
    }
    return error instanceof UsageError ? 2 : 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json)
    write(
      process.stdout,
      `${JSON.stringify({ error: { code: 'E_INTERNAL', message, details: {} } }, null, 2)}\n`,
    );
  else
    write(
      process.stderr,
      `error: ${message}\n${error instanceof Error && process.env.QUIVER_DEBUG ? `${error.stack}\n` : ''}`,
    );
  return 1;
}

/** Formats rows as an aligned text table. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  if (rows.length === 0) return '(none)';
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
