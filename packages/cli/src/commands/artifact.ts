import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  Artifact,
  type ArtifactVersion,
  ensureFolder,
  type JsonObject,
  parseArtifactRef,
  QuiverError,
  removeCreated,
} from '@quiver/core';
import { Command, Option } from 'commander';
import { type CommonOptions, runWithClient, withCommonOptions } from '../context.js';
import { formatBytes, table } from '../output.js';
import { byteProgress } from '../progress.js';
import { wholeNumber } from '../usage.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface OnnxSignatureLike {
  inputs?: Array<{ name?: string; dtype?: string; shape?: Array<number | string> }>;
  outputs?: Array<{ name?: string; dtype?: string; shape?: Array<number | string> }>;
}

/** Lines describing `metadata.onnx` (written by @quiver/onnx): file, opset, signature, parity. */
function describeOnnx(onnx: Record<string, unknown>): string[] {
  const producer = onnx.producer as { name?: string; version?: string } | undefined;
  const facts = [
    typeof onnx.file === 'string' ? onnx.file : undefined,
    onnx.opset != null ? `opset ${onnx.opset}` : undefined,
    onnx.irVersion != null ? `IR ${onnx.irVersion}` : undefined,
    typeof onnx.fileSize === 'number' ? formatBytes(onnx.fileSize) : undefined,
    typeof onnx.parameterCount === 'number'
      ? `${onnx.parameterCount.toLocaleString('en-US')} parameters`
      : undefined,
    producer?.name ? `by ${producer.name}${producer.version ? ` ${producer.version}` : ''}` : undefined,
  ].filter((fact): fact is string => fact !== undefined);
  const lines = [`  onnx:     ${facts.join(', ')}`];
  const signature = (onnx.signature ?? {}) as OnnxSignatureLike;
  const listed = (value: unknown): Array<{ name?: string; dtype?: string; shape?: unknown }> =>
    Array.isArray(value) ? value.filter((item) => item !== null && typeof item === 'object') : [];
  const rows = [
    ...listed(signature.inputs).map((tensor) => ['input', tensor]),
    ...listed(signature.outputs).map((tensor) => ['output', tensor]),
  ] as Array<[string, { name?: string; dtype?: string; shape?: unknown }]>;
  for (const [kind, tensor] of rows)
    lines.push(
      `    ${kind.padEnd(6)} ${tensor.name ?? '?'}  ${tensor.dtype ?? '?'} [${Array.isArray(tensor.shape) ? tensor.shape.join(', ') : '?'}]`,
    );
  const parity = onnx.parity as
    | {
        passed?: boolean;
        maxAbsoluteDifference?: number | null;
        samples?: number;
        inputSource?: string;
        runtime?: string;
      }
    | undefined;
  if (parity)
    lines.push(
      `    parity ${parity.passed ? 'passed' : 'FAILED'}: max |onnx − tfjs| ${typeof parity.maxAbsoluteDifference === 'number' ? parity.maxAbsoluteDifference.toExponential(2) : '∞'} on ${parity.samples} ${parity.inputSource} samples (${parity.runtime})`,
    );
  return lines;
}

/** Human text for one version (`artifact show`). */
export function describeVersion(
  version: ArtifactVersion,
  entries?: ReadonlyArray<{ path: string; size: number; sha256: string; ref?: string }>,
): string {
  const lines = [
    `${version.ref}  (${version.type})`,
    `  aliases:  ${version.aliases.join(', ') || '-'}`,
    `  tags:     ${version.tags.join(', ') || '-'}`,
    `  size:     ${formatBytes(version.size)} in ${version.fileCount} file${version.fileCount === 1 ? '' : 's'}`,
    `  digest:   ${version.digest}`,
    `  created:  ${version.createdAt}${version.producedBy ? ` by run ${version.producedBy}` : ''}`,
  ];
  if (version.description) lines.push(`  description: ${version.description}`);
  const { onnx, ...metadata } = version.metadata;
  if (Object.keys(metadata).length > 0) lines.push(`  metadata: ${JSON.stringify(metadata)}`);
  if (onnx && typeof onnx === 'object' && !Array.isArray(onnx)) lines.push(...describeOnnx(onnx));
  if (entries) {
    lines.push(
      '',
      table(
        ['path', 'size', 'sha256', 'reference'],
        entries.map((entry) => [
          entry.path,
          formatBytes(entry.size),
          entry.sha256.slice(0, 12),
          entry.ref ?? '',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

function parseMetadata(text: string | undefined): JsonObject | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new QuiverError(
      'E_INVALID_METADATA',
      `--metadata is not JSON: ${(error as Error).message}. Pass an object such as '{"epoch": 3}'.`,
      { cause: error },
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new QuiverError(
      'E_INVALID_METADATA',
      `--metadata must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}. Pass an object such as '{"epoch": 3}'.`,
    );
  return value as JsonObject;
}

/** `https://…`, `hf://…`, `file://…`: a reference to store by URL, not a local path. */
const URL_LIKE = /^[a-z][a-z0-9+.-]+:\/\//i;

interface PutOptions extends CommonOptions {
  type: string;
  alias?: string[];
  tag?: string[];
  description?: string;
  metadata?: string;
  checksum?: boolean;
  maxObjects?: number;
}

/** `quiver get <ref> [dir]`: a verified download (also `quiver artifact get`). */
export function getCommand(name: string): Command {
  return withCommonOptions(new Command(name))
    .description('download a version into a folder, verifying every file (default ./artifacts/<name>-vN)')
    .argument('<ref>', '[entity/]project/name[:vN|:alias]')
    .argument('[dir]', 'destination folder')
    .action(async (ref: string, dir: string | undefined, options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const version = await client.artifact(ref);
        // The target is made (and checked writable) here, one folder at a time: a target that
        // cannot exist, such as one under /proc, fails at once instead of hanging, and a file in
        // the way or a read-only file system is reported before any byte moves.
        const target = resolve(dir ?? `artifacts/${version.name}-v${version.version}`);
        const created = ensureFolder(target, { side: 'target', writable: true });
        const bar = byteProgress(`get ${version.ref}`, !output.json);
        try {
          await version.download(target, { onProgress: (progress) => bar.update(progress) });
          output.result(
            { ref: version.ref, dir: target, files: version.fileCount, size: version.size },
            (value) =>
              `${value.ref} → ${value.dir} (${value.files} files, ${formatBytes(value.size)}, verified)`,
          );
        } catch (error) {
          removeCreated(created); // the folders this get made, if the failed download left them empty
          throw error;
        } finally {
          bar.stop();
        }
        return 0;
      }),
    );
}

export function artifactCommand(): Command {
  const artifact = new Command('artifact').description('log, list, inspect and manage artifact versions');

  withCommonOptions(artifact.command('put'))
    .description('log files or folders as a new version of an artifact')
    .argument('<target>', '[entity/]project/name')
    .argument('<paths...>', 'files or folders to add, or reference URLs (https://…, hf://…, file://…)')
    .option('--type <type>', 'artifact type', 'model')
    .option('--alias <alias>', 'alias for the new version (repeatable)', collect)
    .option('--tag <tag>', 'tag for the new version (repeatable)', collect)
    .option('--description <markdown>', 'description of the version')
    .option('--metadata <json>', 'JSON metadata of the version')
    .option(
      '--checksum',
      'read s3:// and gs:// references once for their sha256 (else size, ETag and version id)',
    )
    .addOption(
      new Option(
        '--max-objects <n>',
        'the most objects an s3:// or gs:// prefix may hold (default 10000)',
      ).argParser(wholeNumber('--max-objects', 1, 10_000_000)),
    )
    .action(async (target: string, paths: string[], options: PutOptions) =>
      runWithClient(options, async (client, output) => {
        const parsed = parseArtifactRef(target);
        if (target.includes(':'))
          throw new QuiverError(
            'E_INVALID_REF',
            `'${target}' names a version; 'artifact put' takes [entity/]project/name.`,
          );
        const metadata = parseMetadata(options.metadata);
        const draft = new Artifact(parsed.name, options.type, {
          ...(options.description !== undefined ? { description: options.description } : {}),
          ...(metadata !== undefined ? { metadata } : {}),
        });
        for (const path of paths) {
          if (URL_LIKE.test(path)) {
            // Refuses credentials in the URL, never quoting them.
            draft.addReference(path, {
              ...(options.checksum ? { checksum: true } : {}),
              ...(options.maxObjects !== undefined ? { maxObjects: options.maxObjects } : {}),
            });
            continue;
          }
          let isDirectory = false;
          try {
            isDirectory = statSync(path).isDirectory();
          } catch {
            // addFile reports the missing path with its typed error
          }
          if (isDirectory) draft.addDir(path);
          else draft.addFile(path);
        }
        const bar = byteProgress(`put ${parsed.project}/${parsed.name}`, !output.json);
        let version: ArtifactVersion;
        try {
          version = await client.commit(draft, {
            ...(parsed.entity ? { entity: parsed.entity } : {}),
            project: parsed.project,
            aliases: options.alias ?? [],
            tags: options.tag ?? [],
            onProgress: (progress) => bar.update(progress),
          });
        } finally {
          bar.stop();
        }
        output.result(
          version,
          (value) =>
            `${value.deduplicated ? 'unchanged, same content as' : 'logged'} ${value.ref} [${value.aliases.join(', ')}] ${formatBytes(value.size)} in ${value.fileCount} files`,
        );
        return 0;
      }),
    );

  withCommonOptions(artifact.command('ls'))
    .description('list artifacts (no argument: everything), of a project, or the versions of one artifact')
    .argument('[scope]', 'project or project/name')
    .action(async (scope: string | undefined, options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const parts = scope?.split('/') ?? [];
        if (parts.length === 2 || parts.length === 3) {
          const [project, name, entity] =
            parts.length === 2 ? [parts[0]!, parts[1]!, undefined] : [parts[1]!, parts[2]!, parts[0]!];
          const versions = await client.versions(project, name, entity);
          output.result(versions, (rows) =>
            table(
              ['version', 'aliases', 'tags', 'size', 'files', 'run', 'created'],
              rows.map((row) => [
                `v${row.version}`,
                row.aliases.join(','),
                row.tags.join(','),
                formatBytes(row.size),
                String(row.fileCount),
                row.producedBy ?? '-',
                row.createdAt,
              ]),
            ),
          );
          return 0;
        }
        const artifacts = await client.artifacts(parts[0] ? { project: parts[0] } : {});
        output.result(artifacts, (rows) =>
          table(
            ['artifact', 'type', 'versions', 'latest', 'created'],
            rows.map((row) => [
              `${row.entity}/${row.project}/${row.name}`,
              row.type,
              String(row.versions),
              row.latest === null ? '-' : `v${row.latest}`,
              row.createdAt,
            ]),
          ),
        );
        return 0;
      }),
    );

  withCommonOptions(artifact.command('show'))
    .description('show a version: aliases, tags, metadata, producing run and entries')
    .argument('<ref>', '[entity/]project/name[:vN|:alias]')
    .action(async (ref: string, options: CommonOptions) =>
      runWithClient(options, async (client, output) => {
        const version = await client.artifact(ref);
        const entries = await version.entries();
        output.result({ ...version.toJSON(), entries }, () => describeVersion(version, entries));
        return 0;
      }),
    );

  artifact.addCommand(getCommand('get'));

  withCommonOptions(artifact.command('alias'))
    .description('point an alias at a version (moving it), or remove it with --rm')
    .argument('<ref>', 'the version')
    .argument('<alias>', 'alias such as best or staging')
    .option('--rm', 'remove the alias from the version instead')
    .action(async (ref: string, alias: string, options: CommonOptions & { rm?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const version = options.rm ? await client.removeAlias(ref, alias) : await client.setAlias(ref, alias);
        output.result(version, (value) => `${value.ref} [${value.aliases.join(', ')}]`);
        return 0;
      }),
    );

  withCommonOptions(artifact.command('tag'))
    .description('add tags to a version, or remove them with --rm')
    .argument('<ref>', 'the version')
    .argument('<tags...>', 'tags')
    .option('--rm', 'remove the tags instead')
    .action(async (ref: string, tags: string[], options: CommonOptions & { rm?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const version = options.rm ? await client.tag(ref, [], tags) : await client.tag(ref, tags);
        output.result(version, (value) => `${value.ref} tags: ${value.tags.join(', ') || '-'}`);
        return 0;
      }),
    );

  withCommonOptions(artifact.command('rm'))
    .description('delete a version (refused while it holds an alias, unless --force); run gc to free space')
    .argument('<ref>', 'the version')
    .option('--force', 'delete even if it holds aliases')
    .action(async (ref: string, options: CommonOptions & { force?: boolean }) =>
      runWithClient(options, async (client, output) => {
        const version = await client.deleteVersion(ref, { force: options.force === true });
        output.result(
          { deleted: version.ref },
          (value) => `deleted ${value.deleted}; run 'quiver gc' to free its space`,
        );
        return 0;
      }),
    );

  return artifact;
}
