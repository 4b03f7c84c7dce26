import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Selectable } from 'kysely';
import {
  AUTOMATION_TRIGGERS,
  type AutomationInfo,
  type AutomationScope,
  type AutomationTrigger,
  type CreateAutomationInput,
  type CreatedAutomation,
  type DeliveryAttempt,
  type DeliveryInfo,
  type MetricThreshold,
} from '../../contract/automations.js';
import { QuiverError } from '../../contract/errors.js';
import type { EventAction, JsonValue, MetricSummary, Principal } from '../../contract/records.js';
import { assertName } from '../../names.js';
import type { DatabaseConnection, Executor } from './database/connection.js';
import type { AutomationTable, EventTable, WebhookDeliveryTable } from './database/schema.js';
import { newUid } from './events.js';
import type { SecretBox } from './secret-box.js';

/** Emits `enqueued` after a transaction that queued deliveries committed (a relay in this process wakes). */
export const outboxSignal = new EventEmitter();
outboxSignal.setMaxListeners(100);

/** How long the secret a rotation replaced still signs beside the new one. */
export const SECRET_ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
const MAX_URL = 2048;
const MAX_TEMPLATE = 64 * 1024;
const MAX_TOKEN = 4096;

type AutomationRow = Selectable<AutomationTable>;
type DeliveryRow = Selectable<WebhookDeliveryTable>;

const now = (): string => new Date().toISOString();

/** Which event actions each trigger listens to. */
const ACTIONS: Record<AutomationTrigger, readonly EventAction[]> = {
  'registry.link': ['link'],
  'registry.unlink': ['unlink'],
  'registry.alias.added': ['alias.set', 'alias.move'],
  'registry.alias.removed': ['alias.remove'],
  'registry.card.changed': ['model.card'],
  'registry.tags.changed': ['model.tag', 'model.untag'],
  'artifact.version.created': ['version.create'],
  'artifact.version.deleted': ['version.delete'],
  'artifact.alias.added': ['artifact.alias.set', 'artifact.alias.move'],
  'artifact.tag.added': ['version.tag'],
  'run.finished': ['run.finish'],
  'run.crashed': ['run.crash', 'run.fail'],
  'run.metric': ['run.finish'],
};
const FILTERED: readonly AutomationTrigger[] = [
  'registry.alias.added',
  'registry.alias.removed',
  'artifact.alias.added',
  'artifact.tag.added',
];

function assertTrigger(value: unknown): AutomationTrigger {
  if (typeof value !== 'string' || !(AUTOMATION_TRIGGERS as readonly string[]).includes(value))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `An automation's trigger is one of ${AUTOMATION_TRIGGERS.join(', ')}; got ${JSON.stringify(value)}.`,
    );
  return value as AutomationTrigger;
}

/** A webhook URL: http(s), no credentials in it, no fragment, bounded. */
export function assertWebhookUrl(value: unknown): URL {
  if (typeof value !== 'string' || value.length > MAX_URL)
    throw new QuiverError('E_INVALID_OPTION', `A webhook URL is text of at most ${MAX_URL} characters.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new QuiverError(
      'E_INVALID_OPTION',
      `'${value}' is not a URL; give one such as https://hooks.example.com/quiver.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new QuiverError('E_INVALID_OPTION', `A webhook URL is http:// or https://; got ${url.protocol}.`);
  if (url.username !== '' || url.password !== '')
    throw new QuiverError(
      'E_INVALID_OPTION',
      'A webhook URL may not carry a user or password; use bearerToken (stored encrypted) instead.',
    );
  if (url.hash !== '') throw new QuiverError('E_INVALID_OPTION', 'A webhook URL has no #fragment.');
  return url;
}

function assertFilter(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 500)
    throw new QuiverError('E_INVALID_OPTION', 'A filter is a regular expression of 1–500 characters.');
  try {
    new RegExp(value);
  } catch (error) {
    throw new QuiverError(
      'E_INVALID_OPTION',
      `The filter is not a valid regular expression: ${(error as Error).message}.`,
    );
  }
  return value;
}

function assertThreshold(value: unknown): MetricThreshold {
  const threshold = value as Partial<MetricThreshold> | undefined;
  if (
    threshold === null ||
    typeof threshold !== 'object' ||
    typeof threshold.metric !== 'string' ||
    threshold.metric.length === 0 ||
    threshold.metric.length > 256 ||
    !['<', '<=', '>', '>='].includes(threshold.op as string) ||
    typeof threshold.value !== 'number' ||
    !Number.isFinite(threshold.value) ||
    (threshold.of !== undefined && !['last', 'min', 'max'].includes(threshold.of))
  )
    throw new QuiverError(
      'E_INVALID_OPTION',
      "A run.metric automation needs threshold { metric, op ('<', '<=', '>', '>='), value (a finite number), of? ('last', 'min', 'max') }, e.g. val_loss < 0.1.",
    );
  return {
    metric: threshold.metric,
    op: threshold.op!,
    value: threshold.value,
    ...(threshold.of ? { of: threshold.of } : {}),
  };
}

/** The variables a payload template may use, with the value each has for an event. */
export type TemplateVariables = Record<string, string | number | null>;

/** Example values: a template is rendered with them at creation, so a broken one is refused then. */
const SAMPLE_VARIABLES: TemplateVariables = {
  event_type: 'registry.alias.added',
  event_id: '01J0000000000000000000000',
  event_author: 'mia',
  timestamp: '2026-01-01T00:00:00.000Z',
  entity: 'team',
  project: 'project',
  alias: 'production',
  version: 3,
  version_ref: 'team/registry/classifier:v3',
  registered_model: 'team/registry/classifier',
  artifact_version_string: 'team/project/weights:v7',
  artifact_type: 'model',
  artifact_digest: 'a'.repeat(64),
  run_path: 'team/project/abc123',
  run_state: 'finished',
};

/**
 * Renders a JSON template: each `${name}` becomes the variable's value, escaped for inside a JSON
 * string (numbers and null as they are when the variable stands alone, `"${version}"` stays text).
 * The result must be JSON.
 */
export function renderTemplate(template: string, variables: TemplateVariables): string {
  const rendered = template.replace(/\$\{([a-z_]+)\}/g, (whole, name: string) => {
    if (!(name in SAMPLE_VARIABLES)) return whole;
    const value = variables[name];
    return value === null || value === undefined ? '' : JSON.stringify(String(value)).slice(1, -1);
  });
  return rendered;
}

function assertTemplate(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_TEMPLATE)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `A payload template is JSON text of at most ${MAX_TEMPLATE} characters.`,
    );
  const unknown = [...value.matchAll(/\$\{([^}]*)\}/g)]
    .map((m) => m[1]!)
    .filter((name) => !(name in SAMPLE_VARIABLES));
  if (unknown.length > 0)
    throw new QuiverError(
      'E_INVALID_OPTION',
      `The template uses unknown variable(s) ${unknown.map((name) => `\${${name}}`).join(', ')}; known: ${Object.keys(SAMPLE_VARIABLES).join(', ')}.`,
    );
  try {
    JSON.parse(renderTemplate(value, SAMPLE_VARIABLES));
  } catch (error) {
    throw new QuiverError(
      'E_INVALID_OPTION',
      `The template is not JSON once its variables are filled in (${(error as Error).message}); put variables inside strings, e.g. {"text": "\${alias} moved"}.`,
    );
  }
  return value;
}

/** A signing secret as Standard Webhooks writes them: `whsec_` and the base64 of 24 random bytes. */
const newSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;
const hintOf = (secret: string): string => `…${secret.slice(-4)}`;

function toInfo(row: AutomationRow): AutomationInfo {
  const scope: AutomationScope = { entity: row.entity };
  if (row.project !== null) scope.project = row.project;
  if (row.registry !== null) scope.registry = row.registry;
  if (row.model !== null) scope.model = row.model;
  return {
    id: row.uid,
    name: row.name,
    description: row.description,
    scope,
    trigger: row.trigger as AutomationTrigger,
    filter: row.filter,
    threshold: row.threshold === null ? null : (JSON.parse(row.threshold) as MetricThreshold),
    url: row.url,
    hasBearerToken: row.bearer_token !== null,
    template: row.template,
    state: row.state as AutomationInfo['state'],
    disabledReason: row.disabled_reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
    secretHint: row.secret_hint,
  };
}

// ---- matching events, in the event's transaction ------------------------------------------------

/** The event as the appender wrote it. */
type AppendedEvent = Omit<Selectable<EventTable>, 'before' | 'after'> & {
  before: JsonValue | null;
  after: JsonValue | null;
};

const field = (value: JsonValue | null, name: string): JsonValue | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? value[name] : undefined;

/** The project of an artifact or run subject (`entity/project/...`). */
const projectOf = (subject: string): string | undefined => subject.split('/')[1];

/** The alias or tags an event is about, for filters. */
function labelsOf(event: AppendedEvent): string[] {
  if (event.action === 'version.tag') {
    const before = new Set((field(event.before, 'tags') as string[] | undefined) ?? []);
    return ((field(event.after, 'tags') as string[] | undefined) ?? []).filter((tag) => !before.has(tag));
  }
  const alias = field(event.after, 'alias') ?? field(event.before, 'alias');
  return typeof alias === 'string' ? [alias] : [];
}

function compare(value: number, threshold: MetricThreshold): boolean {
  switch (threshold.op) {
    case '<':
      return value < threshold.value;
    case '<=':
      return value <= threshold.value;
    case '>':
      return value > threshold.value;
    default:
      return value >= threshold.value;
  }
}

/** The source artifact version behind a registry version (by key), or an artifact version by ref. */
async function versionData(
  trx: Executor,
  where: { link: { modelKey: number; version: number } } | { ref: string },
): Promise<Record<string, JsonValue> | null> {
  let query = trx
    .selectFrom('artifact_versions as v')
    .innerJoin('artifacts as a', 'a.id', 'v.artifact_id')
    .select([
      'a.entity',
      'a.project',
      'a.name',
      'a.type',
      'v.version',
      'v.uid',
      'v.digest',
      'v.size',
      'v.file_count',
      'v.metadata',
      'v.produced_by_run',
    ]);
  if ('link' in where) {
    query = query
      .innerJoin('registry_links as l', 'l.source_version_id', 'v.id')
      .where('l.model_id', '=', where.link.modelKey)
      .where('l.version', '=', where.link.version);
  } else {
    const match = /^([^/]+)\/([^/]+)\/([^:]+):v(\d+)$/.exec(where.ref);
    if (!match) return null;
    query = query
      .where('a.entity', '=', match[1]!)
      .where('a.project', '=', match[2]!)
      .where('a.name', '=', match[3]!)
      .where('v.version', '=', Number(match[4]));
  }
  const row = await query.executeTakeFirst();
  if (!row) return null;
  return {
    ref: `${row.entity}/${row.project}/${row.name}:v${Number(row.version)}`,
    id: row.uid,
    type: row.type,
    digest: row.digest,
    size: Number(row.size),
    fileCount: Number(row.file_count),
    metadata: JSON.parse(row.metadata) as JsonValue,
    runId: row.produced_by_run,
  };
}

/** The payload's `type`: the trigger's name, or the event's action where a trigger is broader. */
const typeOf = (trigger: AutomationTrigger): string => trigger;

/**
 * Queues the webhooks an event causes, in the event's transaction: every automation of the
 * event's entity whose trigger, scope, filter and threshold match gets one delivery, with the
 * payload made now (so what is sent is what was true at commit). Returns how many were queued.
 */
export async function enqueueDeliveries(
  trx: Executor,
  automations: AutomationRow[],
  event: AppendedEvent,
): Promise<number> {
  const matching: AutomationRow[] = [];
  for (const automation of automations) {
    if (automation.entity !== event.entity) continue;
    const trigger = automation.trigger as AutomationTrigger;
    if (!ACTIONS[trigger]?.includes(event.action as EventAction)) continue;
    if (automation.registry !== null && event.registry !== automation.registry) continue;
    if (automation.model !== null && event.model !== automation.model) continue;
    if (
      automation.project !== null &&
      (event.topic === 'registry' || projectOf(event.subject) !== automation.project)
    )
      continue;
    if (automation.filter !== null && FILTERED.includes(trigger)) {
      const pattern = new RegExp(automation.filter);
      if (!labelsOf(event).some((label) => pattern.test(label))) continue;
    }
    matching.push(automation);
  }
  if (matching.length === 0) return 0;
  const data = await eventData(trx, event);
  let queued = 0;
  for (const automation of matching) {
    const trigger = automation.trigger as AutomationTrigger;
    let metric: JsonValue | undefined;
    if (trigger === 'run.metric') {
      const threshold = JSON.parse(automation.threshold!) as MetricThreshold;
      const summary = (data.run as Record<string, JsonValue> | null)?.summary as
        | Record<string, MetricSummary>
        | undefined;
      const figure = summary?.[threshold.metric]?.[threshold.of ?? 'last'];
      if (typeof figure !== 'number' || !compare(figure, threshold)) continue;
      metric = { ...threshold, observed: figure };
    }
    const timestamp = event.at;
    const body =
      automation.template !== null
        ? renderTemplate(automation.template, variablesOf(trigger, event, data))
        : JSON.stringify({
            type: typeOf(trigger),
            timestamp,
            data: {
              ...data,
              automation: { id: automation.uid, name: automation.name },
              ...(metric ? { metric } : {}),
            },
          });
    await trx
      .insertInto('webhook_deliveries')
      .values({
        uid: `msg_${newUid()}`,
        automation_id: automation.id,
        event_uid: event.uid,
        event_position: event.position,
        type: typeOf(trigger),
        payload: body,
        state: 'pending',
        due_at: now(),
        created_at: now(),
        delivered_at: null,
      })
      .execute();
    queued++;
  }
  return queued;
}

/** The standard payload's `data`: the event, the version it is about, and the actor. */
async function eventData(trx: Executor, event: AppendedEvent): Promise<Record<string, JsonValue>> {
  const alias = labelsOf(event)[0] ?? null;
  const data: Record<string, JsonValue> = {
    event: {
      id: event.uid,
      action: event.action,
      topic: event.topic,
      position: Number(event.position),
      at: event.at,
    },
    actor: event.actor,
    entity: event.entity,
    subject: event.subject,
    alias,
    before: event.before,
    after: event.after,
  };
  if (event.topic === 'registry') {
    const registeredModel = event.subject;
    const version = field(event.after, 'version') ?? field(event.before, 'version');
    data.registry = event.registry;
    data.registeredModel = registeredModel;
    data.model = event.model;
    data.version = typeof version === 'number' ? version : null;
    data.versionRef = typeof version === 'number' ? `${registeredModel}:v${version}` : null;
    data.artifact =
      typeof version === 'number' && event.model_id !== null
        ? await versionData(trx, { link: { modelKey: Number(event.model_id), version } })
        : null;
  } else if (event.topic === 'artifacts') {
    data.versionRef = event.subject;
    data.artifact = await versionData(trx, { ref: event.subject });
  } else {
    const runId = event.subject.split('/')[2] ?? '';
    const run = await trx
      .selectFrom('runs')
      .select(['id', 'entity', 'project', 'name', 'state', 'exit_code', 'summary', 'config'])
      .where('id', '=', runId)
      .executeTakeFirst();
    data.run = run
      ? {
          id: run.id,
          path: event.subject,
          name: run.name,
          state: run.state,
          exitCode: run.exit_code === null ? null : Number(run.exit_code),
          summary: JSON.parse(run.summary) as JsonValue,
          config: JSON.parse(run.config) as JsonValue,
        }
      : null;
  }
  return data;
}

function variablesOf(
  trigger: AutomationTrigger,
  event: AppendedEvent,
  data: Record<string, JsonValue>,
): TemplateVariables {
  const artifact = data.artifact as Record<string, JsonValue> | null | undefined;
  const run = data.run as Record<string, JsonValue> | null | undefined;
  return {
    event_type: trigger,
    event_id: event.uid,
    event_author: event.actor,
    timestamp: event.at,
    entity: event.entity,
    project: event.topic === 'registry' ? null : (projectOf(event.subject) ?? null),
    alias: (data.alias as string | null) ?? null,
    version: (data.version as number | null | undefined) ?? null,
    version_ref: (data.versionRef as string | null | undefined) ?? null,
    registered_model: (data.registeredModel as string | undefined) ?? null,
    artifact_version_string: (artifact?.ref as string | undefined) ?? null,
    artifact_type: (artifact?.type as string | undefined) ?? null,
    artifact_digest: (artifact?.digest as string | undefined) ?? null,
    run_path: run ? event.subject : null,
    run_state: (run?.state as string | undefined) ?? null,
  };
}

/** The automations of an entity events may match (paused and disabled ones queue too). */
export function automationsOf(trx: Executor, entity: string): Promise<AutomationRow[]> {
  return trx.selectFrom('automations').selectAll().where('entity', '=', entity).execute();
}

// ---- the relay's side --------------------------------------------------------------------------

/** An automation a relay holds under a lease, with its secrets opened. */
export interface ClaimedAutomation {
  key: number;
  id: string;
  url: string;
  /** Every secret that signs now: the current one, and during a rotation the one it replaced. */
  secrets: string[];
  bearerToken: string | null;
  lease: string;
}

/** A delivery as the relay sends it. */
export interface OutboxDelivery {
  key: number;
  id: string;
  payload: string;
  attempts: number;
  dueAt: string;
}

/** What one attempt came to, as the relay records it. */
export interface AttemptOutcome {
  startedAt: string;
  durationMs: number;
  status: number | null;
  error: string | null;
  response: string | null;
  /** `delivered`; `retry` at `nextAttemptAt`; `failed` (not retried); `gone` (410: disable the automation). */
  result: 'delivered' | 'retry' | 'failed' | 'gone';
  nextAttemptAt?: string;
  /** Set when this failure disables the automation (the retries ran out). */
  disable?: string;
}

/**
 * A team server's automations: created, listed, paused, resumed, tested and deleted for the
 * principal (the server checks roles first), and the outbox a relay claims and records into.
 */
export class Automations {
  constructor(
    private readonly connection: DatabaseConnection,
    private readonly secrets: SecretBox,
    private readonly principal: Principal,
  ) {}

  private get db() {
    return this.connection.db;
  }

  /** Makes an automation; its signing secret is in the answer this once. */
  async create(input: CreateAutomationInput): Promise<CreatedAutomation> {
    const name = assertName(input.name, 'automation');
    const trigger = assertTrigger(input.trigger);
    const entity = assertName(input.scope?.entity ?? this.principal.entity, 'entity');
    const project = input.scope?.project === undefined ? null : assertName(input.scope.project, 'project');
    const registry =
      input.scope?.registry === undefined ? null : assertName(input.scope.registry, 'registry');
    const model = input.scope?.model === undefined ? null : assertName(input.scope.model, 'model');
    if (model !== null && registry === null)
      throw new QuiverError(
        'E_INVALID_OPTION',
        "A model scope needs its registry too (scope.registry, e.g. 'model').",
      );
    const filter = assertFilter(input.filter);
    if (filter !== null && !FILTERED.includes(trigger))
      throw new QuiverError(
        'E_INVALID_OPTION',
        `A filter applies to alias and tag triggers (${FILTERED.join(', ')}), not ${trigger}.`,
      );
    if (trigger === 'run.metric' && input.threshold === undefined)
      throw new QuiverError(
        'E_INVALID_OPTION',
        'A run.metric automation needs a threshold, e.g. { metric: "val_loss", op: "<", value: 0.1 }.',
      );
    if (trigger !== 'run.metric' && input.threshold !== undefined)
      throw new QuiverError('E_INVALID_OPTION', 'A threshold applies to the run.metric trigger only.');
    const threshold = input.threshold === undefined ? null : JSON.stringify(assertThreshold(input.threshold));
    const url = assertWebhookUrl(input.url).href;
    const template = assertTemplate(input.template);
    if (
      input.bearerToken !== undefined &&
      (typeof input.bearerToken !== 'string' ||
        input.bearerToken.length === 0 ||
        input.bearerToken.length > MAX_TOKEN ||
        /\s/.test(input.bearerToken))
    )
      throw new QuiverError(
        'E_INVALID_OPTION',
        `A bearer token is 1–${MAX_TOKEN} characters without spaces.`,
      );
    const description = input.description ?? '';
    if (typeof description !== 'string' || description.length > 10_000)
      throw new QuiverError('E_INVALID_OPTION', 'A description is text of at most 10,000 characters.');
    const uid = `aut_${newUid()}`;
    const secret = newSecret();
    try {
      await this.db
        .insertInto('automations')
        .values({
          uid,
          entity,
          name,
          description,
          project,
          registry,
          model,
          trigger,
          filter,
          threshold,
          url,
          template,
          secret: this.secrets.seal(secret, uid),
          previous_secret: null,
          previous_secret_until: null,
          secret_hint: hintOf(secret),
          bearer_token:
            input.bearerToken === undefined ? null : this.secrets.seal(input.bearerToken, `${uid}:token`),
          state: 'active',
          disabled_reason: null,
          created_by: this.principal.actor,
          created_at: now(),
        })
        .execute();
    } catch (error) {
      if (/unique|duplicate/i.test((error as Error).message))
        throw new QuiverError(
          'E_ALREADY_EXISTS',
          `'${entity}' has an automation named '${name}' already; pick another name.`,
        );
      throw error;
    }
    return { ...(await this.get(uid)), secret };
  }

  private async row(id: string): Promise<AutomationRow> {
    const row =
      typeof id === 'string'
        ? await this.db.selectFrom('automations').selectAll().where('uid', '=', id).executeTakeFirst()
        : undefined;
    if (!row) throw new QuiverError('E_NOT_FOUND', `No automation '${String(id)}' that this key can reach.`);
    return row;
  }

  /** The entity an automation belongs to, or undefined (a server's access checks). */
  async entityOf(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('automations')
      .select('entity')
      .where('uid', '=', id)
      .executeTakeFirst();
    return row?.entity;
  }

  async get(id: string): Promise<AutomationInfo> {
    return toInfo(await this.row(id));
  }

  /** The automations of one entity, oldest first. */
  async list(entity: string = this.principal.entity): Promise<AutomationInfo[]> {
    const rows = await this.db
      .selectFrom('automations')
      .selectAll()
      .where('entity', '=', entity)
      .orderBy('id')
      .execute();
    return rows.map(toInfo);
  }

  /** Stops delivering; events keep queuing (resume delivers or skips them). */
  async pause(id: string): Promise<AutomationInfo> {
    const row = await this.row(id);
    await this.db.updateTable('automations').set({ state: 'paused' }).where('id', '=', row.id).execute();
    return this.get(id);
  }

  /**
   * Delivers again (also after it was disabled). `skip`: the webhooks queued meanwhile are dropped
   * (state `skipped`) instead of delivered.
   */
  async resume(id: string, options: { skip?: boolean } = {}): Promise<AutomationInfo> {
    const row = await this.row(id);
    await this.connection.writeTransaction(async (trx) => {
      if (options.skip)
        await trx
          .updateTable('webhook_deliveries')
          .set({ state: 'skipped' })
          .where('automation_id', '=', row.id)
          .where('state', '=', 'pending')
          .execute();
      await trx
        .updateTable('automations')
        .set({ state: 'active', disabled_reason: null, failures: 0 })
        .where('id', '=', row.id)
        .execute();
    });
    outboxSignal.emit('enqueued');
    return this.get(id);
  }

  /** Deletes the automation, its queue and its log. */
  async delete(id: string): Promise<AutomationInfo> {
    const row = await this.row(id);
    await this.connection.writeTransaction(async (trx) => {
      const deliveries = trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('automation_id', '=', row.id);
      await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', deliveries).execute();
      await trx.deleteFrom('webhook_deliveries').where('automation_id', '=', row.id).execute();
      await trx.deleteFrom('automations').where('id', '=', row.id).execute();
    });
    return toInfo(row);
  }

  /** A new signing secret, shown this once; the old one keeps signing beside it for 24 h. */
  async rotateSecret(id: string): Promise<CreatedAutomation> {
    const row = await this.row(id);
    const secret = newSecret();
    await this.db
      .updateTable('automations')
      .set({
        secret: this.secrets.seal(secret, row.uid),
        previous_secret: row.secret,
        previous_secret_until: new Date(Date.now() + SECRET_ROTATION_OVERLAP_MS).toISOString(),
        secret_hint: hintOf(secret),
      })
      .where('id', '=', row.id)
      .execute();
    return { ...(await this.get(id)), secret };
  }

  /** Queues a test webhook (type `automation.test`) now, whatever the trigger. */
  async test(id: string): Promise<DeliveryInfo> {
    const row = await this.row(id);
    const uid = `msg_${newUid()}`;
    const timestamp = now();
    await this.db
      .insertInto('webhook_deliveries')
      .values({
        uid,
        automation_id: row.id,
        event_uid: null,
        event_position: null,
        type: 'automation.test',
        payload: JSON.stringify({
          type: 'automation.test',
          timestamp,
          data: {
            automation: { id: row.uid, name: row.name },
            actor: this.principal.actor,
            entity: row.entity,
          },
        }),
        state: 'pending',
        due_at: timestamp,
        created_at: timestamp,
        delivered_at: null,
      })
      .execute();
    outboxSignal.emit('enqueued');
    return this.delivery(uid);
  }

  private async deliveryRow(id: string): Promise<DeliveryRow & { automation_uid: string }> {
    const row = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('automations as a', 'a.id', 'd.automation_id')
      .selectAll('d')
      .select('a.uid as automation_uid')
      .where('d.uid', '=', id)
      .executeTakeFirst();
    if (!row) throw new QuiverError('E_NOT_FOUND', `No delivery '${id}' that this key can reach.`);
    return row;
  }

  /** The automation a delivery belongs to, or undefined (a server's access checks). */
  async automationOfDelivery(id: string): Promise<string | undefined> {
    return (await this.deliveryRow(id).catch(() => undefined))?.automation_uid;
  }

  private async withLog(rows: Array<DeliveryRow & { automation_uid: string }>): Promise<DeliveryInfo[]> {
    const attempts =
      rows.length === 0
        ? []
        : await this.db
            .selectFrom('webhook_attempts')
            .selectAll()
            .where(
              'delivery_id',
              'in',
              rows.map((row) => row.id),
            )
            .orderBy('attempt')
            .execute();
    return rows.map((row) => ({
      id: row.uid,
      automationId: row.automation_uid,
      eventId: row.event_uid,
      type: row.type,
      state: row.state as DeliveryInfo['state'],
      attempts: Number(row.attempts),
      nextAttemptAt: row.state === 'pending' ? row.due_at : null,
      createdAt: row.created_at,
      deliveredAt: row.delivered_at,
      payload: row.payload,
      log: attempts
        .filter((attempt) => attempt.delivery_id === row.id)
        .map(
          (attempt): DeliveryAttempt => ({
            attempt: Number(attempt.attempt),
            startedAt: attempt.started_at,
            durationMs: Number(attempt.duration_ms),
            status: attempt.status === null ? null : Number(attempt.status),
            error: attempt.error,
            response: attempt.response,
            nextAttemptAt: attempt.next_attempt_at,
          }),
        ),
    }));
  }

  async delivery(id: string): Promise<DeliveryInfo> {
    return (await this.withLog([await this.deliveryRow(id)]))[0]!;
  }

  /** An automation's deliveries, newest first, with every attempt. */
  async deliveries(
    id: string,
    options: { limit?: number; state?: DeliveryInfo['state'] } = {},
  ): Promise<DeliveryInfo[]> {
    const automation = await this.row(id);
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    let query = this.db
      .selectFrom('webhook_deliveries as d')
      .selectAll('d')
      .select((eb) => eb.val(automation.uid).as('automation_uid'))
      .where('d.automation_id', '=', automation.id);
    if (options.state) query = query.where('d.state', '=', options.state);
    const rows = await query.orderBy('d.id', 'desc').limit(limit).execute();
    return this.withLog(rows as Array<DeliveryRow & { automation_uid: string }>);
  }

  /** Sends a delivery again, with its id (the receiver can tell it is the same webhook). */
  async redeliver(deliveryId: string): Promise<DeliveryInfo> {
    const row = await this.deliveryRow(deliveryId);
    await this.db
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', due_at: now() })
      .where('id', '=', row.id)
      .execute();
    outboxSignal.emit('enqueued');
    return this.delivery(deliveryId);
  }

  /**
   * Claims up to `limit` active automations that have a delivery due and that no relay holds, for
   * `leaseMs`: one relay (of any replica) delivers an automation's queue at a time, in order.
   */
  async claim(
    limit: number,
    leaseMs: number,
    onUnreadable?: (automation: string, error: Error) => void,
  ): Promise<ClaimedAutomation[]> {
    const at = now();
    const rows = await this.connection.writeTransaction(async (trx) => {
      const candidates = await this.connection
        .forUpdateSkipLocked(
          trx
            .selectFrom('automations as a')
            .selectAll('a')
            .where('a.state', '=', 'active')
            .where((eb) => eb.or([eb('a.lease_until', 'is', null), eb('a.lease_until', '<', at)]))
            .where((eb) =>
              eb.exists(
                eb
                  .selectFrom('webhook_deliveries as d')
                  .select('d.id')
                  .whereRef('d.automation_id', '=', 'a.id')
                  .where('d.state', '=', 'pending')
                  .where('d.due_at', '<=', at),
              ),
            )
            .orderBy('a.id')
            .limit(limit),
        )
        .execute();
      const until = new Date(Date.now() + leaseMs).toISOString();
      const claimed: Array<AutomationRow & { lease: string }> = [];
      for (const row of candidates) {
        const lease = newUid();
        await trx
          .updateTable('automations')
          .set({ lease_token: lease, lease_until: until })
          .where('id', '=', row.id)
          .execute();
        claimed.push({ ...row, lease });
      }
      return claimed;
    });
    const claimed: ClaimedAutomation[] = [];
    for (const row of rows) {
      const held = { key: row.id, id: row.uid, lease: row.lease, url: row.url };
      try {
        const secrets = [this.secrets.open(row.secret, row.uid)];
        if (
          row.previous_secret !== null &&
          row.previous_secret_until !== null &&
          row.previous_secret_until > at
        )
          secrets.push(this.secrets.open(row.previous_secret, row.uid));
        const bearerToken =
          row.bearer_token === null ? null : this.secrets.open(row.bearer_token, `${row.uid}:token`);
        claimed.push({ ...held, secrets, bearerToken });
      } catch (error) {
        // This process's key does not open them (a replica with another key): leave it to one that can.
        await this.release({ ...held, secrets: [], bearerToken: null });
        onUnreadable?.(row.uid, error as Error);
      }
    }
    return claimed;
  }

  /**
   * Deletes what the delivery log keeps of webhooks that ended (delivered, failed, skipped) before
   * `before`; pending ones stay whatever their age. Returns how many deliveries went.
   */
  async purge(before: Date): Promise<number> {
    const cutoff = before.toISOString();
    return this.connection.writeTransaction(async (trx) => {
      const ended = trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('state', 'in', ['delivered', 'failed', 'skipped'])
        .where('created_at', '<', cutoff);
      await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ended).execute();
      const deleted = await trx
        .deleteFrom('webhook_deliveries')
        .where('state', 'in', ['delivered', 'failed', 'skipped'])
        .where('created_at', '<', cutoff)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
  }

  /** The next pending deliveries of a claimed automation, oldest first. */
  async pending(automationKey: number, limit: number): Promise<OutboxDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['id', 'uid', 'payload', 'attempts', 'due_at'])
      .where('automation_id', '=', automationKey)
      .where('state', '=', 'pending')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      key: row.id,
      id: row.uid,
      payload: row.payload,
      attempts: Number(row.attempts),
      dueAt: row.due_at,
    }));
  }

  /**
   * Records an attempt and its result, and extends the lease by `leaseMs`; returns the
   * automation's state after it. `lost` when the lease was lost (it expired and another relay
   * holds the automation): nothing is recorded, and the caller stops.
   */
  async record(
    claimed: ClaimedAutomation,
    delivery: OutboxDelivery,
    outcome: AttemptOutcome,
    leaseMs: number,
  ): Promise<AutomationInfo['state'] | 'lost'> {
    return this.connection.writeTransaction(async (trx) => {
      const held = await this.connection
        .forUpdate(
          trx
            .selectFrom('automations')
            .select(['lease_token', 'failures', 'state'])
            .where('id', '=', claimed.key),
        )
        .executeTakeFirst();
      if (!held || held.lease_token !== claimed.lease) return 'lost';
      const attempt = delivery.attempts + 1;
      await trx
        .insertInto('webhook_attempts')
        .values({
          delivery_id: delivery.key,
          attempt,
          started_at: outcome.startedAt,
          duration_ms: Math.round(outcome.durationMs),
          status: outcome.status,
          error: outcome.error,
          response: outcome.response,
          next_attempt_at: outcome.result === 'retry' ? (outcome.nextAttemptAt ?? null) : null,
        })
        .onConflict((conflict) => conflict.columns(['delivery_id', 'attempt']).doNothing())
        .execute();
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempts: attempt,
          state:
            outcome.result === 'delivered' ? 'delivered' : outcome.result === 'retry' ? 'pending' : 'failed',
          due_at: outcome.result === 'retry' ? (outcome.nextAttemptAt ?? now()) : now(),
          delivered_at: outcome.result === 'delivered' ? now() : null,
        })
        .where('id', '=', delivery.key)
        .execute();
      const disabled =
        outcome.result === 'gone'
          ? `The receiver answered 410 Gone: it asked for no more webhooks. Resume the automation once it wants them again.`
          : (outcome.disable ?? null);
      await trx
        .updateTable('automations')
        .set({
          failures: outcome.result === 'delivered' ? 0 : Number(held.failures) + 1,
          lease_until: new Date(Date.now() + leaseMs).toISOString(),
          ...(disabled !== null ? { state: 'disabled', disabled_reason: disabled } : {}),
        })
        .where('id', '=', claimed.key)
        .execute();
      return disabled !== null ? 'disabled' : (held.state as AutomationInfo['state']);
    });
  }

  /** Ends a relay's lease on an automation (another relay may claim it at once). */
  async release(claimed: ClaimedAutomation): Promise<void> {
    await this.db
      .updateTable('automations')
      .set({ lease_token: null, lease_until: null })
      .where('id', '=', claimed.key)
      .where('lease_token', '=', claimed.lease)
      .execute();
  }
}
