import { Command, CommanderError } from 'commander';
import { artifactCommand, getCommand } from './commands/artifact.js';
import { registryCommand } from './commands/registry.js';
import { runCommand } from './commands/run.js';
import { gcCommand, lineageCommand, verifyCommand } from './commands/store.js';

/** The `quiver` command tree. */
export function createProgram(): Command {
  const program = new Command('quiver')
    .description('Quiver: versioned checkpoints, lineage and a model registry for JavaScript training')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(artifactCommand());
  program.addCommand(getCommand('get'));
  program.addCommand(registryCommand());
  program.addCommand(runCommand());
  program.addCommand(lineageCommand());
  program.addCommand(verifyCommand());
  program.addCommand(gcCommand());
  const configure = (command: Command): void => {
    command.exitOverride().showHelpAfterError();
    command.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the CLI with `argv` (without the node and script entries) and resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    // Commander reports usage errors (unknown command, missing argument) by throwing: exit 2.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
