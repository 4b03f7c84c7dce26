import { QuiverError } from '@quiver/core';
import { Command } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { formatBytes } from '../output.js';

/** `30m`, `2h`, `1d`, `0` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `--grace '${text}' is not a duration; use e.g. 0, 90s, 30m, 2h or 1d.`,
    );
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    (match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return Number(match[1]) * factor;
}

export function lineageCommand(): Command {
  return withCommonOptions(new Command('lineage'))
    .description('show which runs produced and used a version, and what they produced and used, both ways')
    .argument('<ref>', '[entity/]project/name[:vN|:alias]')
    .option('--depth <hops>', 'hops to walk each way', '3')
    .action(async (ref: string, options: CommonOptions & { depth: string }) =>
      runWithClient(options, async (client, output) => {
        const graph = await client.lineage(ref, Number(options.depth));
        const label = new Map(
          graph.nodes.map((node) => [
            node.id,
            node.kind === 'run'
              ? `run ${node.run.id} (${node.run.name}, ${node.run.state})`
              : node.kind === 'registry'
                ? node.registryVersion.ref
                : node.version.ref,
          ]),
        );
        output.result(graph, (value) =>
          [
            `lineage of ${label.get(value.root)}`,
            ...value.edges.map(
              (edge) => `  ${label.get(edge.from)} --${edge.relation}--> ${label.get(edge.to)}`,
            ),
            value.edges.length === 0 ? '  (no runs produced or used it)' : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        return 0;
      }),
    );
}

export function verifyCommand(): Command {
  return withCommonOptions(new Command('verify'))
    .description(
      'check every blob against its digest and every version against its blobs (exit 1 on any problem)',
    )
    .action(async (options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const report = await client.verify();
        output.result(report, (value) =>
          [
            `${value.blobsChecked} blobs and ${value.entriesChecked} entries checked: ${value.ok ? 'no problems' : `${value.problems.length} problem(s)`}`,
            ...value.problems.map(
              (problem) =>
                `  ${problem.kind} ${problem.sha256.slice(0, 12)}: ${problem.detail}; affects ${problem.affected.map((item) => `${item.ref} ${item.path}`).join(', ') || 'no version'}`,
            ),
          ].join('\n'),
        );
        return report.ok ? 0 : 1;
      }),
    );
}

export function gcCommand(): Command {
  return withCommonOptions(new Command('gc'))
    .description(
      'remove blobs no version references and abandoned temporary files older than the grace period',
    )
    .option('--grace <duration>', 'leave anything younger than this', '1h')
    .option('--dry-run', 'only report what would be removed')
    .action(async (options: CommonOptions & { grace: string; dryRun?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const report = await client.gc({
          graceMs: parseDuration(options.grace),
          dryRun: options.dryRun === true,
        });
        output.result(
          report,
          (value) =>
            `${value.dryRun ? 'would remove' : 'removed'} ${value.blobs} blobs (${formatBytes(value.bytes)})${value.dryRun ? '' : ` and ${value.temporaries} temporary files (${formatBytes(value.temporaryBytes)})`}`,
        );
        return 0;
      }),
    );
}
