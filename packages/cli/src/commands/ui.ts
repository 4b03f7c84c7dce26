import { Command, Option } from 'commander';
import { isJsonOutput } from '../context.js';
import { reportError } from '../output.js';
import { wholeNumber } from '../usage.js';

/**
 * `quiver ui`: the web UI over this machine's embedded store, on 127.0.0.1, with no sign-in (as
 * `mlflow ui`). Runs until interrupted.
 */
export function uiCommand(): Command {
  return new Command('ui')
    .description(
      'browse the local store in the web UI: runs, charts, artifacts, lineage, the registry (127.0.0.1 only)',
    )
    .addOption(
      new Option('--port <port>', 'port (0: any free one)')
        .argParser(wholeNumber('--port', 0, 65535))
        .default(5959)
        .env('QUIVER_UI_PORT'),
    )
    .addOption(new Option('--host <host>', 'loopback address to listen on').default('127.0.0.1'))
    .addOption(new Option('--json', 'print the URL as one JSON line'))
    .action(async (options: { port: number; host: string; json?: boolean }) => {
      options.json ||= isJsonOutput();
      const { startLocalUi } = await import('@quiver/server');
      let server: Awaited<ReturnType<typeof startLocalUi>>;
      try {
        server = await startLocalUi({ port: options.port, host: options.host });
      } catch (error) {
        process.exitCode = reportError(error, options.json === true);
        return;
      }
      const url = `${server.url}/`;
      if (options.json)
        process.stdout.write(`${JSON.stringify({ url, store: server.store.settings.dir })}\n`);
      else {
        process.stdout.write(`Quiver UI for the store in ${server.store.settings.dir}\n\n  ${url}\n\n`);
        if (process.env.QUIVER_BASE_URL)
          process.stdout.write(
            `(QUIVER_BASE_URL is set: this shows the local store. The team server serves its own UI at ${process.env.QUIVER_BASE_URL.replace(/\/+$/, '')}/)\n`,
          );
        process.stdout.write('Press Ctrl+C to stop.\n');
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
