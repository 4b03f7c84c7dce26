import { readFileSync } from 'node:fs';
import {
  AUTOMATION_TRIGGERS,
  type AutomationInfo,
  type CreateAutomationInput,
  type CreatedAutomation,
  type DeliveryInfo,
  type MetricThreshold,
  QuiverError,
} from '@quiver/core';
import { Command, Option } from 'commander';
import { type CommonOptions, withCommonOptions } from '../context.js';
import { table } from '../output.js';
import { wholeNumber } from '../usage.js';
import { withServer } from './server.js';

/** `val_loss<0.1`, `accuracy >= 0.9` as a threshold. */
function parseThreshold(text: string, of?: string): MetricThreshold {
  const match = /^\s*([^<>=\s]+)\s*(<=|>=|<|>)\s*(\S+)\s*$/.exec(text);
  const value = match ? Number(match[3]) : Number.NaN;
  if (!match || !Number.isFinite(value))
    throw new QuiverError(
      'E_USAGE',
      `--threshold is <metric><op><number> with op one of <, <=, >, >= (e.g. 'val_loss<0.1'); got '${text}'.`,
    );
  if (of !== undefined && !['last', 'min', 'max'].includes(of))
    throw new QuiverError('E_USAGE', `--of is last, min or max; got '${of}'.`);
  return {
    metric: match[1]!,
    op: match[2] as MetricThreshold['op'],
    value,
    ...(of ? { of: of as 'last' | 'min' | 'max' } : {}),
  };
}

const path = (id: string, rest = '') => `/automations/${encodeURIComponent(id)}${rest}`;

function describe(automation: AutomationInfo): string {
  const scope = [
    automation.scope.entity,
    automation.scope.project,
    automation.scope.registry,
    automation.scope.model,
  ]
    .filter(Boolean)
    .join('/');
  const when = [
    automation.trigger,
    automation.filter ? `matching /${automation.filter}/` : '',
    automation.threshold
      ? `${automation.threshold.metric} ${automation.threshold.op} ${automation.threshold.value}`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
  return [
    `${automation.id}  ${automation.name} (${automation.state}${automation.disabledReason ? `: ${automation.disabledReason}` : ''})`,
    `  on ${when} in ${scope}`,
    `  → POST ${automation.url}${automation.hasBearerToken ? ' (with a bearer token)' : ''}; secret ${automation.secretHint}`,
  ].join('\n');
}

function deliveryTable(deliveries: DeliveryInfo[]): string {
  return table(
    ['ID', 'TYPE', 'STATE', 'ATTEMPTS', 'LAST', 'NEXT', 'CREATED'],
    deliveries.map((delivery) => {
      const last = delivery.log[delivery.log.length - 1];
      return [
        delivery.id,
        delivery.type,
        delivery.state,
        String(delivery.attempts),
        last ? (last.status === null ? (last.error ?? '') : `${last.status} in ${last.durationMs} ms`) : '',
        delivery.nextAttemptAt ?? '',
        delivery.createdAt,
      ];
    }),
  );
}

export function automationCommand(): Command {
  const automation = new Command('automation').description(
    'webhooks on registry, artifact and run events (on a team server)',
  );
  automation.addCommand(
    withCommonOptions(new Command('create'))
      .description('make an automation; its signing secret (whsec_…) is shown this once')
      .requiredOption('--name <name>', 'a name, unique in its entity')
      .addOption(
        new Option('--trigger <event>', 'what starts it').choices(AUTOMATION_TRIGGERS).makeOptionMandatory(),
      )
      .requiredOption('--url <url>', 'where the webhook is POSTed')
      .option('--entity <entity>', 'the user or team it listens in (default: the one you act in)')
      .option('--project <project>', 'only this project (artifact and run events)')
      .option('--registry <registry>', 'only this registry (registry events)')
      .option('--model <model>', 'only this registered model (with --registry)')
      .option('--filter <regex>', "alias or tag to match, e.g. '^production$'")
      .option('--threshold <comparison>', "run.metric: e.g. 'val_loss<0.1' (the run's summary at finish)")
      .option('--of <figure>', 'run.metric: compare the last (default), min or max')
      .option(
        '--bearer-token-env <var>',
        'send Authorization: Bearer with the value of this environment variable',
      )
      .option(
        '--template-file <file>',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the template's own variables
        'a JSON payload template with ${variables} instead of the standard payload',
      )
      .option('--description <text>', 'what it is for')
      .action(
        (
          options: CommonOptions & {
            name: string;
            trigger: CreateAutomationInput['trigger'];
            url: string;
            entity?: string;
            project?: string;
            registry?: string;
            model?: string;
            filter?: string;
            threshold?: string;
            of?: string;
            bearerTokenEnv?: string;
            templateFile?: string;
            description?: string;
          },
        ) =>
          withServer(options, async (server, output) => {
            let bearerToken: string | undefined;
            if (options.bearerTokenEnv !== undefined) {
              bearerToken = process.env[options.bearerTokenEnv];
              if (!bearerToken)
                throw new QuiverError(
                  'E_USAGE',
                  `--bearer-token-env names ${options.bearerTokenEnv}, which is not set.`,
                );
            }
            const input: CreateAutomationInput = {
              name: options.name,
              trigger: options.trigger,
              url: options.url,
              scope: {
                ...(options.entity ? { entity: options.entity } : {}),
                ...(options.project ? { project: options.project } : {}),
                ...(options.registry ? { registry: options.registry } : {}),
                ...(options.model ? { model: options.model } : {}),
              },
              ...(options.filter ? { filter: options.filter } : {}),
              ...(options.threshold ? { threshold: parseThreshold(options.threshold, options.of) } : {}),
              ...(bearerToken ? { bearerToken } : {}),
              ...(options.templateFile ? { template: readFileSync(options.templateFile, 'utf8') } : {}),
              ...(options.description ? { description: options.description } : {}),
            };
            const created = (await server.request('POST', '/automations', input)) as CreatedAutomation;
            output.result(
              created,
              (value) =>
                `${describe(value)}\n\nSigning secret, shown this once (give it to the receiver):\n\n  ${value.secret}\n`,
            );
          }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('ls'))
      .description('the automations of an entity')
      .option('--entity <entity>', 'default: the one you act in')
      .action((options: CommonOptions & { entity?: string }) =>
        withServer(options, async (server, output) => {
          const query = options.entity ? `?entity=${encodeURIComponent(options.entity)}` : '';
          const list = (await server.request('GET', `/automations${query}`)) as AutomationInfo[];
          output.result(list, (value) =>
            table(
              ['ID', 'NAME', 'TRIGGER', 'FILTER', 'STATE', 'URL'],
              value.map((a) => [a.id, a.name, a.trigger, a.filter ?? '', a.state, a.url]),
            ),
          );
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('show'))
      .argument('<id>')
      .description('an automation and its latest deliveries')
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const info = (await server.request('GET', path(id))) as AutomationInfo;
          const deliveries = (await server.request(
            'GET',
            path(id, '/deliveries?limit=10'),
          )) as DeliveryInfo[];
          output.result(
            { ...info, deliveries },
            () =>
              `${describe(info)}\n\n${deliveries.length ? deliveryTable(deliveries) : 'no deliveries yet'}`,
          );
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('deliveries'))
      .argument('<id>')
      .description('the delivery log: every webhook with its attempts')
      .option('--state <state>', 'only pending, delivered, failed or skipped')
      .addOption(
        new Option('--limit <n>', 'at most this many').argParser(wholeNumber('--limit', 1, 1000)).default(50),
      )
      .action((id: string, options: CommonOptions & { state?: string; limit: number }) =>
        withServer(options, async (server, output) => {
          const query = `?limit=${options.limit}${options.state ? `&state=${encodeURIComponent(options.state)}` : ''}`;
          const deliveries = (await server.request('GET', path(id, `/deliveries${query}`))) as DeliveryInfo[];
          output.result(deliveries, deliveryTable);
        }),
      ),
  );
  const change = (name: string, description: string, route: string, body: () => object = () => ({})) =>
    withCommonOptions(new Command(name))
      .argument('<id>')
      .description(description)
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const info = (await server.request('POST', path(id, route), body(), {
            idempotent: true,
          })) as AutomationInfo;
          output.result(info, describe);
        }),
      );
  automation.addCommand(change('pause', 'stop delivering; events keep queuing until resumed', '/pause'));
  automation.addCommand(
    withCommonOptions(new Command('resume'))
      .argument('<id>')
      .description(
        'deliver again (also after it was disabled): what queued meanwhile, or with --skip nothing of it',
      )
      .option('--skip', 'drop the webhooks queued while paused or disabled')
      .action((id: string, options: CommonOptions & { skip?: boolean }) =>
        withServer(options, async (server, output) => {
          const info = (await server.request(
            'POST',
            path(id, '/resume'),
            { skip: options.skip === true },
            {
              idempotent: true,
            },
          )) as AutomationInfo;
          output.result(info, describe);
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('test'))
      .argument('<id>')
      .description('send a test webhook (type automation.test) now')
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const delivery = (await server.request('POST', path(id, '/test'), {})) as DeliveryInfo;
          output.result(
            delivery,
            (value) => `queued test webhook ${value.id}; see 'quiver automation deliveries ${id}'`,
          );
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('redeliver'))
      .argument('<id>')
      .argument('<delivery>')
      .description('send a delivery again, with the same webhook-id')
      .action((id: string, delivery: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const queued = (await server.request(
            'POST',
            path(id, `/deliveries/${encodeURIComponent(delivery)}/redeliver`),
            {},
            { idempotent: true },
          )) as DeliveryInfo;
          output.result(queued, (value) => `queued ${value.id} again (attempt ${value.attempts + 1})`);
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('rotate-secret'))
      .argument('<id>')
      .description('a new signing secret, shown this once; the old one keeps signing beside it for 24 h')
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const rotated = (await server.request('POST', path(id, '/rotate-secret'), {})) as CreatedAutomation;
          output.result(
            rotated,
            (value) =>
              `New signing secret of ${value.name}, shown this once (the old one signs too for 24 h):\n\n  ${value.secret}\n`,
          );
        }),
      ),
  );
  automation.addCommand(
    withCommonOptions(new Command('rm'))
      .argument('<id>')
      .description('delete an automation, its queue and its log')
      .action((id: string, options: CommonOptions) =>
        withServer(options, async (server, output) => {
          const deleted = (await server.request('DELETE', path(id), undefined, {
            idempotent: true,
          })) as AutomationInfo;
          output.result(deleted, (value) => `deleted automation ${value.id} (${value.name})`);
        }),
      ),
  );
  return automation;
}
