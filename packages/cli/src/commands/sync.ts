import { QuiverError, type SyncProgress, type SyncResult } from '@quiver/core';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { formatBytes } from '../output.js';

/** A bar per bundle on stderr (records sent of those in the bundle) in a terminal; silent otherwise. */
function syncBars(enabled: boolean): { update(progress: SyncProgress): void; stop(): void } {
  let bar: cliProgress.SingleBar | undefined;
  let current: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update(progress) {
      if (!enabled || !process.stderr.isTTY || progress.total === 0) return;
      if (current !== progress.bundle) {
        stop();
        current = progress.bundle;
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `sync ${progress.bundle} [{bar}] {value}/{total} records | {bytes}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.total, 0, { bytes: '' });
      }
      bar?.update(progress.done, {
        bytes:
          progress.totalBytes > 0
            ? `${formatBytes(progress.bytes)} / ${formatBytes(progress.totalBytes)}`
            : '',
      });
    },
    stop,
  };
}

function describe(result: SyncResult): string {
  const lines: string[] = [];
  for (const report of result.reports) {
    const verb = report.dryRun ? 'would send' : 'sent';
    lines.push(
      `${report.bundle} → ${report.run}: ${verb} ${report.versions > 0 || report.dryRun ? '' : 'no new '}${
        report.dryRun
          ? `${report.records.filter((record) => record.outcome === 'would-send').length} record(s)`
          : `${report.versions} version(s), ${report.steps} step(s), ${formatBytes(report.bytesUploaded)} uploaded`
      }${report.complete ? '; complete' : report.dryRun ? '' : '; the run is still going: run quiver sync again later'}`,
    );
    // Conflicts and refusals one per line; what was skipped on purpose (versions a retention
    // policy deleted before any sync) as a count — --json lists every record.
    const skipped = report.records.filter((record) => record.outcome === 'skipped').length;
    if (skipped > 0)
      lines.push(`  skipped ${skipped} record(s) the bundle itself had dropped (--json lists them)`);
    for (const record of report.records) {
      if (record.outcome === 'sent' || record.outcome === 'present' || record.outcome === 'skipped') continue;
      lines.push(
        `  ${record.outcome} ${record.kind} ${record.subject}${record.detail ? `: ${record.detail}` : ''}`,
      );
    }
  }
  for (const failure of result.failures)
    lines.push(`failed ${failure.bundle}: ${failure.message} (${failure.code})`);
  if (result.reports.length === 0 && result.failures.length === 0) lines.push('no offline bundles to send');
  return lines.join('\n');
}

export function syncCommand(): Command {
  return withCommonOptions(new Command('sync'))
    .description(
      'send offline bundles (default: every bundle in <QUIVER_DIR>/offline) to the team server; safe to run again, and while a run still writes',
    )
    .argument('[bundles...]', 'bundle folders, or folders that hold bundles')
    .option('--dry-run', 'list what would be sent; send nothing')
    .action(
      async (paths: string[], options: CommonOptions & { dryRun?: boolean }) =>
        runWithClient(
          options,
          async (client, output) => {
            if (!client.store.settings.remote)
              throw new QuiverError(
                'E_USAGE',
                "quiver sync sends bundles to a team server: set QUIVER_BASE_URL and QUIVER_API_KEY, or run 'quiver login' first.",
              );
            const bars = syncBars(!output.json);
            let result: SyncResult;
            try {
              result = await client.sync(paths, {
                dryRun: options.dryRun === true,
                onProgress: (progress) => bars.update(progress),
              });
            } finally {
              bars.stop();
            }
            output.result(result, describe);
            return result.failures.length > 0 ? 1 : 0;
          },
          { mode: 'local' },
        ), // sync talks to the server even where QUIVER_MODE=offline is set
    );
}
