import { Command, CommanderError, Option } from 'commander';
import { artifactCommand, getCommand } from './commands/artifact.js';
import { automationCommand } from './commands/automation.js';
import { registryCommand } from './commands/registry.js';
import { runCommand } from './commands/run.js';
import { loginCommand, serverCommand, whoamiCommand } from './commands/server.js';
import { gcCommand, lineageCommand, verifyCommand } from './commands/store.js';
import { syncCommand } from './commands/sync.js';
import { uiCommand } from './commands/ui.js';
import { setJsonOutput } from './context.js';
import { reportError } from './output.js';
import { UsageError, usageErrorOf } from './usage.js';

/** Whether the user asked for `--json` (before any `--`): usage errors are then JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * The `quiver` command tree. Commander never prints errors or exits itself: a bad command line
 * becomes a {@link UsageError} that {@link main} prints like every other error (JSON under
 * `--json`) with exit status 2.
 */
export function createProgram(options: { json?: boolean } = {}): Command {
  const program = new Command('quiver')
    .description('Quiver: versioned checkpoints, lineage and a model registry for JavaScript training')
    .version('0.1.0');
  program.addCommand(artifactCommand());
  program.addCommand(getCommand('get'));
  program.addCommand(registryCommand());
  program.addCommand(runCommand());
  program.addCommand(lineageCommand());
  program.addCommand(verifyCommand());
  program.addCommand(gcCommand());
  program.addCommand(syncCommand());
  program.addCommand(uiCommand());
  program.addCommand(serverCommand());
  program.addCommand(automationCommand());
  program.addCommand(loginCommand());
  program.addCommand(whoamiCommand());
  const configure = (command: Command): void => {
    command
      .exitOverride((error) => {
        if (error.exitCode === 0) throw error; // --help, --version
        throw usageErrorOf(error, command);
      })
      .configureOutput({
        // The error line is printed by main (as JSON with --json); the help that commander shows
        // when a command is missing stays for people, not for programs.
        outputError: () => {},
        ...(options.json ? { writeErr: () => {} } : {}),
      });
    // Groups (`quiver`, `quiver artifact`, …) accept --json too, so that `quiver --json artifact ls`
    // prints JSON and `quiver artifact --json` reports the missing command as JSON.
    if (command.commands.length > 0 && !command.options.some((option) => option.long === '--json'))
      command.addOption(new Option('--json', 'print machine-readable JSON on stdout').hideHelp());
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the CLI with `argv` (without the node and script entries) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  setJsonOutput(json);
  const program = createProgram({ json });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.exitCode === 0) return 0;
    // Usage errors (unknown command or option, missing argument, option value out of range): exit 2.
    if (error instanceof UsageError) return reportError(error, json);
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
