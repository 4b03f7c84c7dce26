import { Command } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { table } from '../output.js';

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

export function runCommand(): Command {
  const run = new Command('run').description('list and inspect runs');

  withCommonOptions(run.command('ls'))
    .description('list runs, newest first')
    .argument('[project]', 'only runs of this project')
    .action(async (project: string | undefined, options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const runs = await client.runs(project ? { project } : {});
        output.result(runs, (rows) =>
          table(
            ['id', 'name', 'project', 'state', 'job', 'created'],
            rows.map((row) => [
              row.id,
              row.name,
              `${row.entity}/${row.project}`,
              row.state,
              row.jobType ?? '-',
              row.createdAt,
            ]),
          ),
        );
        return 0;
      }),
    );

  withCommonOptions(run.command('show'))
    .description('show a run: config, summary, metrics, artifacts used and logged')
    .argument('<run>', 'run id (or a unique prefix)')
    .action(async (id: string, options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const details = await client.run(id);
        output.result(details, (value) => {
          const lines = [
            `${value.id}  ${value.name}  (${value.entity}/${value.project})  ${value.state}${value.exitCode !== null ? ` exit ${value.exitCode}` : ''}`,
            `  job type: ${value.jobType ?? '-'}   group: ${value.group ?? '-'}   tags: ${value.tags.join(', ') || '-'}`,
            `  created:  ${value.createdAt}   finished: ${value.finishedAt ?? '-'}`,
            `  config:   ${JSON.stringify(value.config)}`,
          ];
          if (value.notes) lines.push(`  notes:    ${value.notes}`);
          const keys = Object.keys(value.summary);
          lines.push(
            '',
            'summary',
            keys.length === 0
              ? '(no metrics)'
              : table(
                  ['metric', 'last', 'min', 'max', 'step'],
                  keys.map((key) => {
                    const metric = value.summary[key]!;
                    return [
                      key,
                      formatNumber(metric.last),
                      formatNumber(metric.min),
                      formatNumber(metric.max),
                      String(metric.step),
                    ];
                  }),
                ),
          );
          lines.push('', `metrics: ${value.history.length} steps logged`);
          lines.push(
            '',
            'used',
            table(
              ['version', 'type', 'aliases'],
              value.inputs.map((version) => [version.ref, version.type, version.aliases.join(',')]),
            ),
          );
          lines.push(
            '',
            'logged',
            table(
              ['version', 'type', 'aliases'],
              value.outputs.map((version) => [version.ref, version.type, version.aliases.join(',')]),
            ),
          );
          return lines.join('\n');
        });
        return 0;
      }),
    );

  return run;
}
