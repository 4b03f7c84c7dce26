import { Command, Option } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { formatBytes } from '../output.js';
import { parseDuration, wholeNumber } from '../usage.js';

/** The deepest lineage walk `--depth` accepts. */
export const MAX_LINEAGE_DEPTH = 1000;

export function lineageCommand(): Command {
  return withCommonOptions(new Command('lineage'))
    .description('show which runs produced and used a version, and what they produced and used, both ways')
    .argument('<ref>', '[entity/]project/name[:vN|:alias]')
    .option(
      '--depth <hops>',
      `hops to walk each way, 0 to ${MAX_LINEAGE_DEPTH}`,
      wholeNumber('--depth', 0, MAX_LINEAGE_DEPTH),
      3,
    )
    .action(async (ref: string, options: CommonOptions & { depth: number }) =>
      runWithClient(options, async (client, output) => {
        const graph = await client.lineage(ref, options.depth);
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
    .addOption(
      new Option('--grace <duration>', 'leave anything younger than this (0 to 36500d; units ms, s, m, h, d)')
        .argParser((text: string) => parseDuration(text))
        .default(parseDuration('1h'), '1h'),
    )
    .option('--dry-run', 'only report what would be removed')
    .action(async (options: CommonOptions & { grace: number; dryRun?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const report = await client.gc({
          graceMs: options.grace,
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
