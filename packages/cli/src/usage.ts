import type { Command, CommanderError } from 'commander';

/**
 * Codes of usage errors (exit status 2): `E_INVALID_OPTION` for an unknown option or an option
 * value out of its range, `E_USAGE` for the shape of the command line (unknown command, missing or
 * extra argument).
 */
export type UsageCode = 'E_INVALID_OPTION' | 'E_USAGE';

/** A command line the CLI cannot run: printed like every other error, with exit status 2. */
export class UsageError extends Error {
  readonly code: UsageCode;
  readonly details: Record<string, unknown>;
  /** The command whose usage line to show (when known). */
  readonly command: Command | undefined;

  constructor(code: UsageCode, message: string, details: Record<string, unknown> = {}, command?: Command) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
    this.details = details;
    this.command = command;
  }

  toJSON(): { code: UsageCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** `quiver artifact put`, for messages. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current; current = current.parent)
    names.unshift(current.name());
  return names.join(' ');
}

const OPTION_CODES = new Set([
  'commander.unknownOption',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.conflictingOption',
  'commander.invalidArgument',
]);

/** Turns commander's report of a bad command line into a {@link UsageError} that says what to do. */
export function usageErrorOf(error: CommanderError, command: Command): UsageError {
  const path = commandPath(command);
  const help = `Run '${path} --help' for usage.`;
  const reason = error.code.replace(/^commander\./, '');
  if (error.code === 'commander.help') {
    const names = command.commands.map((sub) => sub.name());
    return new UsageError(
      'E_USAGE',
      `'${path}' needs a command${names.length > 0 ? `: one of ${names.join(', ')}` : ''}. ${help}`,
      { reason: 'missingCommand', command: path },
    );
  }
  const text = error.message.replace(/^error: /, '').trim();
  return new UsageError(
    OPTION_CODES.has(error.code) ? 'E_INVALID_OPTION' : 'E_USAGE',
    `${text}${/[.!?]$/.test(text) ? '' : '.'} ${help}`,
    { reason, command: path },
    command,
  );
}

/**
 * A commander option parser for a whole number from `min` to `max` (both within the safe integer
 * range). Anything else — not a number, a fraction, a sign, an exponent, out of range — is a
 * usage error that states the accepted range.
 */
export function wholeNumber(option: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new UsageError(
        'E_INVALID_OPTION',
        `${option} takes a whole number from ${min} to ${max}; '${text}' is not one.`,
        { option, value: text, min, max },
      );
    return value;
  };
}

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** The longest duration a duration option accepts: 100 years (36500d). */
export const MAX_DURATION_MS = 36_500 * DURATION_UNITS.d;

/** `30m`, `2h`, `1d`, `0` → milliseconds (a bare number is seconds). */
export function parseDuration(text: string, option = '--grace'): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  const ms = match
    ? Number(match[1]) * DURATION_UNITS[(match[2] ?? 's') as keyof typeof DURATION_UNITS]
    : NaN;
  if (!Number.isSafeInteger(ms) || ms > MAX_DURATION_MS)
    throw new UsageError(
      'E_INVALID_OPTION',
      `${option} takes a duration from 0 to 36500d: a whole number with an optional unit ms, s (the default), m, h or d, e.g. 0, 90s, 30m, 2h or 1d; '${text}' is not one.`,
      { option, value: text, min: 0, maxMs: MAX_DURATION_MS },
    );
  return ms;
}
