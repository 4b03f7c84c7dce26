/**
 * The `README.md` model card pushed with checkpoints: YAML metadata the Hub reads (library, tags,
 * pipeline tag, base model, metrics) and a Quiver section. A card already in the repo is merged:
 * its metadata keys and text are kept, tags and metrics are united, and only the section between
 * Quiver's markers is replaced.
 */
import { parse, stringify } from 'yaml';

export interface ModelCardOptions {
  /** `library_name` (default `tfjs`). */
  libraryName?: string;
  tags?: readonly string[];
  /** `pipeline_tag`, e.g. `text-classification`. */
  pipelineTag?: string;
  /** `base_model`, e.g. the repo a model was fine-tuned from. */
  baseModel?: string;
  license?: string;
  /** Extra text for the card. */
  text?: string;
  /** A registered model whose card text (from the run's registry) goes into the pushed card. */
  registryModel?: string;
}

/** What the Quiver section reports about the pushed checkpoint. */
export interface CardFacts {
  run: { id: string; name: string; project: string };
  step: number;
  epoch?: number | undefined;
  metrics: Record<string, number>;
  strategy: string;
  artifact?: string | undefined;
}

const BEGIN = '<!-- quiver:begin -->';
const END = '<!-- quiver:end -->';
const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;

function union(existing: unknown, added: readonly string[]): string[] | undefined {
  const base = Array.isArray(existing)
    ? existing.filter((item): item is string => typeof item === 'string')
    : [];
  const merged = [...new Set([...base, ...added])];
  return merged.length > 0 ? merged : undefined;
}

function quiverSection(facts: CardFacts, text: string | undefined): string {
  const metrics = Object.entries(facts.metrics);
  return [
    BEGIN,
    '## Training (logged with Quiver)',
    '',
    `Run \`${facts.run.name}\` (\`${facts.run.id}\`) in project \`${facts.run.project}\`, step ${facts.step}${
      facts.epoch === undefined ? '' : `, epoch ${facts.epoch}`
    }, pushed with strategy \`${facts.strategy}\`${facts.artifact ? `; tracked as \`${facts.artifact}\`` : ''}.`,
    ...(metrics.length > 0
      ? [
          '',
          '| metric | value |',
          '| --- | --- |',
          ...metrics.map(([name, value]) => `| ${name} | ${Number(value.toPrecision(6))} |`),
        ]
      : []),
    ...(text ? ['', text.trim()] : []),
    END,
  ].join('\n');
}

/** The card to push, merged into `existing` (the repo's README.md, if any). */
export function mergeModelCard(existing: string | null, options: ModelCardOptions, facts: CardFacts): string {
  const match = existing ? FRONT_MATTER.exec(existing) : null;
  let metadata: Record<string, unknown> = {};
  if (match) {
    let parsed: unknown;
    try {
      parsed = parse(match[1] ?? '');
    } catch {
      // Metadata Quiver cannot read is not rewritten: the card stays as its authors left it.
      return existing as string;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      metadata = parsed as Record<string, unknown>;
  }
  let body = existing ? existing.slice(match ? match[0].length : 0) : '';
  const merged: Record<string, unknown> = { ...metadata };
  merged.library_name ??= options.libraryName ?? 'tfjs';
  if (options.pipelineTag) merged.pipeline_tag = options.pipelineTag;
  if (options.baseModel) merged.base_model = options.baseModel;
  if (options.license) merged.license ??= options.license;
  const tags = union(metadata.tags, ['quiver', ...(options.tags ?? [])]);
  if (tags) merged.tags = tags;
  const metrics = union(metadata.metrics, Object.keys(facts.metrics));
  if (metrics) merged.metrics = metrics;

  const section = quiverSection(facts, options.text);
  const begin = body.indexOf(BEGIN);
  const end = body.indexOf(END);
  if (begin >= 0 && end > begin) body = `${body.slice(0, begin)}${section}${body.slice(end + END.length)}`;
  else if (body.trim().length > 0) body = `${body.replace(/\s*$/, '')}\n\n${section}\n`;
  else body = `# ${facts.run.project}\n\n${section}\n`;
  return `---\n${stringify(merged).trimEnd()}\n---\n\n${body.replace(/^\s+/, '')}`;
}
