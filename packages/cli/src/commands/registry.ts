import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fileSystemError,
  type ModelLocator,
  parseRef,
  QuiverError,
  type RegisteredModelInfo,
  type RegistryEvent,
  type RegistryRef,
  type RegistryVersionInfo,
} from '@quiver/core';
import { Command } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { table } from '../output.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const list = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

interface RegistryOption extends CommonOptions {
  registry?: string;
}

/** `digits`, `registry/digits`, `registry/datasets/mnist` or `team/registry/…` → a model locator. */
export function modelLocator(text: string, registry: string | undefined): ModelLocator {
  if (!text.includes('/')) return { model: text, ...(registry ? { registry } : {}) };
  const parsed = parseRef(text);
  if (parsed.kind === 'registry' && registry !== undefined && registry !== parsed.registry) {
    throw new QuiverError(
      'E_INVALID_OPTION',
      `'${text}' names the registry '${parsed.registry}' but --registry says '${registry}'; give one of them.`,
    );
  }
  if (parsed.kind !== 'registry') {
    throw new QuiverError(
      'E_INVALID_REF',
      `'${text}' is an artifact ref; name a registered model such as 'digits' or 'registry/datasets/mnist'.`,
    );
  }
  if (text.includes(':'))
    throw new QuiverError(
      'E_INVALID_REF',
      `'${text}' names a version; give the model only (e.g. '${text.split(':')[0]}').`,
    );
  return {
    model: parsed.model,
    registry: parsed.registry,
    ...(parsed.entity ? { entity: parsed.entity } : {}),
  };
}

function versionRef(locator: ModelLocator, version: string | undefined): RegistryRef {
  if (
    version !== undefined &&
    /^v?\d+$/.test(version) &&
    !Number.isSafeInteger(Number(version.replace(/^v/, '')))
  )
    throw new QuiverError(
      'E_INVALID_REF',
      `The version '${version}' is beyond the largest version number (${Number.MAX_SAFE_INTEGER}); give vN with a smaller N, or an alias.`,
      { details: { version } },
    );
  const selector = version === undefined ? 'latest' : /^\d+$/.test(version) ? `v${version}` : version;
  const parsed = parseRef(`registry/${locator.registry ?? 'model'}/${locator.model}:${selector}`);
  if (parsed.kind !== 'registry') throw new QuiverError('E_INVALID_REF', `Cannot name version '${version}'.`);
  return { ...parsed, ...(locator.entity ? { entity: locator.entity } : {}) };
}

function describeModel(model: RegisteredModelInfo): string[] {
  const aliases = Object.entries(model.aliases).map(([alias, version]) => `${alias}→v${version}`);
  return [
    model.ref,
    `  tags: ${model.tags.join(', ') || '-'}   aliases: ${aliases.join(', ') || '-'}   versions: ${model.versionCount}`,
    `  created by ${model.createdBy} at ${model.createdAt}`,
  ];
}

function versionRows(versions: readonly RegistryVersionInfo[]): string {
  return table(
    ['version', 'aliases', 'source', 'run', 'linked'],
    versions.map((version) => [
      `v${version.version}`,
      version.aliases.join(','),
      version.source.ref,
      version.source.producedBy ?? '-',
      `${version.linkedAt} by ${version.linkedBy}`,
    ]),
  );
}

function describeEvent(event: RegistryEvent): string {
  const show = (value: unknown): string => {
    if (value === null) return '-';
    const text = JSON.stringify(value);
    return text.length > 100 ? `${text.slice(0, 99)}…` : text;
  };
  return `#${event.sequence}  ${event.at}  ${event.actor}  ${event.action}  ${show(event.before)} → ${show(event.after)}`;
}

/** A card file's text; a file that cannot be read is a typed error naming it. */
function readCard(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw fileSystemError(error, { side: 'source', path });
  }
}

function readCardInput(options: { file?: string; edit?: boolean }, current: string): string | undefined {
  if (options.file) return readCard(options.file);
  if (!options.edit) return undefined;
  const folder = mkdtempSync(join(tmpdir(), 'quiver-card-'));
  const file = join(folder, 'CARD.md');
  writeFileSync(file, current);
  try {
    const editor = process.env.VISUAL ?? process.env.EDITOR ?? 'vi';
    const result = spawnSync(editor, [file], { stdio: 'inherit', shell: true });
    if (result.status !== 0)
      throw new QuiverError(
        'E_INVALID_OPTION',
        `The editor '${editor}' exited with ${result.status}; the card was not changed.`,
      );
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function modelCommands(): Command {
  const model = new Command('model').description('create, show, list, rename and delete registered models');

  withCommonOptions(model.command('create'))
    .description('create a registered model')
    .argument('<model>', 'model name (or registry/<registry>/<model>)')
    .option('--registry <name>', 'registry (default: model)')
    .option('--card <file>', 'model card (markdown file)')
    .option('--tag <tag>', 'tag (repeatable)', collect)
    .action(async (name: string, options: RegistryOption & { card?: string; tag?: string[] }) =>
      runWithClient(options, async (client, output) => {
        const created = await client.registry.createModel({
          ...modelLocator(name, options.registry),
          ...(options.card ? { card: readCard(options.card) } : {}),
          tags: options.tag ?? [],
        });
        output.result(created, (value) => `created ${value.ref}`);
        return 0;
      }),
    );

  withCommonOptions(model.command('show'))
    .description('show a registered model: card, tags, aliases, and every version with its source and run')
    .argument('<model>', 'model name (or registry/<registry>/<model>)')
    .option('--registry <name>', 'registry (default: model)')
    .action(async (name: string, options: RegistryOption) =>
      runWithClient(options, async (client, output) => {
        const details = await client.registry.model(modelLocator(name, options.registry));
        output.result(details, (value) =>
          [
            ...describeModel(value),
            '',
            versionRows(value.versions),
            '',
            value.card || '(no model card)',
          ].join('\n'),
        );
        return 0;
      }),
    );

  withCommonOptions(model.command('ls'))
    .description('list registered models with their aliases and tags; filter by name prefix and tags')
    .option('--registry <name>', 'registry (default: model)')
    .option('--prefix <text>', 'only names starting with this')
    .option('--tag <tag>', 'only models with this tag (repeatable: all must match)', collect)
    .action(async (options: RegistryOption & { prefix?: string; tag?: string[] }) =>
      runWithClient(options, async (client, output) => {
        const models = await client.registry.models({
          ...(options.registry ? { registry: options.registry } : {}),
          ...(options.prefix ? { prefix: options.prefix } : {}),
          ...(options.tag ? { tags: options.tag } : {}),
        });
        output.result(models, (rows) =>
          table(
            ['model', 'versions', 'aliases', 'tags'],
            rows.map((row) => [
              row.ref,
              String(row.versionCount),
              Object.entries(row.aliases)
                .map(([alias, version]) => `${alias}→v${version}`)
                .join(','),
              row.tags.join(','),
            ]),
          ),
        );
        return 0;
      }),
    );

  withCommonOptions(model.command('rename'))
    .description('rename a registered model (its history follows it)')
    .argument('<model>', 'current name')
    .argument('<new-name>', 'new name')
    .option('--registry <name>', 'registry (default: model)')
    .action(async (name: string, newName: string, options: RegistryOption) =>
      runWithClient(options, async (client, output) => {
        output.result(
          await client.registry.rename(modelLocator(name, options.registry), newName),
          (value) => `renamed to ${value.ref}`,
        );
        return 0;
      }),
    );

  withCommonOptions(model.command('rm'))
    .description(
      'delete a registered model and its links (sources stay); refused while it holds a protected alias unless --force',
    )
    .argument('<model>', 'model name')
    .option('--registry <name>', 'registry (default: model)')
    .option('--force', 'delete even if it holds a protected alias')
    .action(async (name: string, options: RegistryOption & { force?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const deleted = await client.registry.deleteModel(modelLocator(name, options.registry), {
          force: options.force === true,
        });
        output.result({ deleted: deleted.ref }, (value) => `deleted ${value.deleted}`);
        return 0;
      }),
    );
  return model;
}

function aliasCommands(): Command {
  const alias = new Command('alias').description(
    'set, move or remove a registered model alias (protected ones need --force)',
  );

  withCommonOptions(alias.command('set'))
    .description('point an alias at a version (default: latest), moving it atomically')
    .argument('<model>', 'model name')
    .argument('<alias>', 'alias such as staging or production')
    .argument('[version]', 'vN, N or an alias (default: latest)')
    .option('--registry <name>', 'registry (default: model)')
    .option('--force', 'allowed to change a protected alias')
    .action(
      async (
        name: string,
        aliasName: string,
        version: string | undefined,
        options: RegistryOption & { force?: boolean },
      ) =>
        runWithClient(options, async (client, output) => {
          const result = await client.registry.setAlias(
            versionRef(modelLocator(name, options.registry), version),
            aliasName,
            { force: options.force === true },
          );
          output.result(result, (value) => `${value.ref} [${value.aliases.join(', ')}]`);
          return 0;
        }),
    );

  withCommonOptions(alias.command('rm'))
    .description('remove an alias from a registered model')
    .argument('<model>', 'model name')
    .argument('<alias>', 'alias')
    .option('--registry <name>', 'registry (default: model)')
    .option('--force', 'allowed to remove a protected alias')
    .action(async (name: string, aliasName: string, options: RegistryOption & { force?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const result = await client.registry.removeAlias(modelLocator(name, options.registry), aliasName, {
          force: options.force === true,
        });
        output.result(result, (value) => `removed '${aliasName}' from ${value.ref}`);
        return 0;
      }),
    );
  return alias;
}

export function registryCommand(): Command {
  const registry = new Command('registry').description(
    'the model registry: registries, registered models, links, aliases, cards, history',
  );

  withCommonOptions(registry.command('ls'))
    .description('list registries')
    .action(async (options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        output.result(await client.registry.registries(), (rows) =>
          table(
            ['registry', 'accepts', 'protected aliases', 'description'],
            rows.map((row) => [
              `${row.entity}/${row.name}`,
              row.acceptedTypes.join(','),
              row.protectedAliases.join(','),
              row.description,
            ]),
          ),
        );
        return 0;
      }),
    );

  withCommonOptions(registry.command('create'))
    .description('create a registry')
    .argument('<name>', 'registry name')
    .option('--description <text>', 'what it holds')
    .option('--types <list>', 'accepted artifact types, comma-separated', list)
    .option('--protected <list>', 'protected aliases, comma-separated (default: production)', list)
    .action(
      async (
        name: string,
        options: CommonOptions & { description?: string; types?: string[]; protected?: string[] },
      ) =>
        runWithClient(options, async (client, output) => {
          const created = await client.registry.createRegistry({
            name,
            ...(options.description ? { description: options.description } : {}),
            ...(options.types ? { acceptedTypes: options.types } : {}),
            ...(options.protected ? { protectedAliases: options.protected } : {}),
          });
          output.result(
            created,
            (value) =>
              `created registry ${value.entity}/${value.name} (accepts ${value.acceptedTypes.join(', ')})`,
          );
          return 0;
        }),
    );

  registry.addCommand(modelCommands());

  withCommonOptions(registry.command('link'))
    .description('bookmark an artifact version as the next version of a registered model (no bytes copied)')
    .argument('<artifact-ref>', 'the version to link, e.g. vision/mlp:best')
    .argument('<model>', 'registered model')
    .option('--registry <name>', 'registry (default: model)')
    .option('--alias <alias>', 'alias for the registry version (repeatable)', collect)
    .option('--create', 'create the registered model if it does not exist')
    .option('--force', 'allowed to set a protected alias')
    .action(
      async (
        source: string,
        name: string,
        options: RegistryOption & { alias?: string[]; create?: boolean; force?: boolean },
      ) =>
        runWithClient(options, async (client, output) => {
          const result = await client.registry.link(source, modelLocator(name, options.registry), {
            aliases: options.alias ?? [],
            create: options.create === true,
            force: options.force === true,
          });
          output.result(
            result,
            (value) =>
              `${value.linked ? 'linked' : 'already linked:'} ${value.version.source.ref} → ${value.version.ref} [${value.version.aliases.join(', ')}]`,
          );
          return 0;
        }),
    );

  withCommonOptions(registry.command('unlink'))
    .description('remove a registry version (the artifact version stays)')
    .argument('<model>', 'registered model')
    .argument('<version>', 'vN, N or an alias')
    .option('--registry <name>', 'registry (default: model)')
    .option('--force', 'allowed when it holds a protected alias')
    .action(async (name: string, version: string, options: RegistryOption & { force?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const removed = await client.registry.unlink(
          versionRef(modelLocator(name, options.registry), version),
          { force: options.force === true },
        );
        output.result(
          { unlinked: removed.ref, source: removed.source.ref },
          (value) => `unlinked ${value.unlinked} (${value.source} stays)`,
        );
        return 0;
      }),
    );

  registry.addCommand(aliasCommands());

  withCommonOptions(registry.command('tag'))
    .description('add tags to a registered model, or remove them with --rm')
    .argument('<model>', 'registered model')
    .argument('<tags...>', 'tags')
    .option('--registry <name>', 'registry (default: model)')
    .option('--rm', 'remove the tags instead')
    .action(async (name: string, tags: string[], options: RegistryOption & { rm?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const locator = modelLocator(name, options.registry);
        const result = options.rm
          ? await client.registry.tag(locator, [], tags)
          : await client.registry.tag(locator, tags);
        output.result(result, (value) => `${value.ref} tags: ${value.tags.join(', ') || '-'}`);
        return 0;
      }),
    );

  withCommonOptions(registry.command('card'))
    .description('print the model card, or replace it from a file (--file) or in $EDITOR (--edit)')
    .argument('<model>', 'registered model')
    .option('--registry <name>', 'registry (default: model)')
    .option('--file <path>', 'markdown file with the new card')
    .option('--edit', 'edit the card in $VISUAL / $EDITOR')
    .action(async (name: string, options: RegistryOption & { file?: string; edit?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const locator = modelLocator(name, options.registry);
        const current = await client.registry.model(locator);
        const card = readCardInput(options, current.card);
        if (card === undefined) {
          output.result(
            { model: current.ref, card: current.card },
            (value) => value.card || '(no model card)',
          );
          return 0;
        }
        const updated = await client.registry.updateCard(locator, card);
        output.result(
          { model: updated.ref, card: updated.card },
          (value) => `updated the card of ${value.model}`,
        );
        return 0;
      }),
    );

  withCommonOptions(registry.command('history'))
    .description('the audit history of a registered model: who changed what, when, before and after')
    .argument('<model>', 'registered model')
    .option('--registry <name>', 'registry (default: model)')
    .action(async (name: string, options: RegistryOption) =>
      runWithClient(options, async (client, output) => {
        output.result(
          await client.registry.history(modelLocator(name, options.registry)),
          (events) => events.map(describeEvent).join('\n') || '(no history)',
        );
        return 0;
      }),
    );

  return registry;
}
