/**
 * Automations of a team server: a trigger on the event log, a scope, and a webhook that a relay
 * delivers from an outbox. Plain JSON, as every record of the contract.
 */

/**
 * What starts an automation. Registry: a version linked or unlinked, an alias added (set, or moved
 * onto a version) or removed, a card or the tags changed. Artifacts: a version created or deleted,
 * an alias or a tag added. Runs: finished (exit 0), crashed (or failed), and a metric of the run's
 * summary crossing a threshold when it finishes.
 */
export type AutomationTrigger =
  | 'registry.link'
  | 'registry.unlink'
  | 'registry.alias.added'
  | 'registry.alias.removed'
  | 'registry.card.changed'
  | 'registry.tags.changed'
  | 'artifact.version.created'
  | 'artifact.version.deleted'
  | 'artifact.alias.added'
  | 'artifact.tag.added'
  | 'run.finished'
  | 'run.crashed'
  | 'run.metric';

/** Every trigger, in the order listings show them. */
export const AUTOMATION_TRIGGERS: readonly AutomationTrigger[] = [
  'registry.link',
  'registry.unlink',
  'registry.alias.added',
  'registry.alias.removed',
  'registry.card.changed',
  'registry.tags.changed',
  'artifact.version.created',
  'artifact.version.deleted',
  'artifact.alias.added',
  'artifact.tag.added',
  'run.finished',
  'run.crashed',
  'run.metric',
];

/** A metric of the run's summary, compared when the run finishes (`val_loss < 0.1`). */
export interface MetricThreshold {
  metric: string;
  op: '<' | '<=' | '>' | '>=';
  value: number;
  /** Which summary figure: the last logged value (default), or the run's min or max. */
  of?: 'last' | 'min' | 'max';
}

/**
 * Where an automation listens: always one entity (a user or a team); optionally one project (for
 * artifacts and runs), one registry, or one registered model of a registry.
 */
export interface AutomationScope {
  entity: string;
  project?: string;
  registry?: string;
  model?: string;
}

/** What `automations.create` takes. */
export interface CreateAutomationInput {
  name: string;
  /** Default: the principal's entity, nothing narrower. */
  scope?: Partial<AutomationScope>;
  trigger: AutomationTrigger;
  /** A regular expression the alias or tag must match (`^production$`); alias and tag triggers only. */
  filter?: string;
  /** For `run.metric`: the comparison made at finish. */
  threshold?: MetricThreshold;
  /** Where the webhook goes: an `https://` (or, for allowed local receivers, `http://`) URL. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; stored encrypted, never shown again. */
  bearerToken?: string;
  /**
   * The body to send instead of the standard payload: JSON text with `${name}` variables
   * (`${event_type}`, `${alias}`, `${artifact_version_string}`, `${event_author}` …).
   */
  template?: string;
  description?: string;
}

/** An automation as listings show it: never its secret or token, only whether it has a token. */
export interface AutomationInfo {
  id: string;
  name: string;
  description: string;
  scope: AutomationScope;
  trigger: AutomationTrigger;
  filter: string | null;
  threshold: MetricThreshold | null;
  url: string;
  hasBearerToken: boolean;
  template: string | null;
  /** `active` delivers; `paused` keeps its deliveries queued; `disabled` was stopped by failures or a 410. */
  state: 'active' | 'paused' | 'disabled';
  /** Why it was disabled (the last answer), or null. */
  disabledReason: string | null;
  createdBy: string;
  createdAt: string;
  /** A hint of the signing secret (its last characters), so a receiver's copy can be checked. */
  secretHint: string;
}

/** An automation just made, or its secret just rotated: `secret` (`whsec_…`) is shown this once. */
export interface CreatedAutomation extends AutomationInfo {
  secret: string;
}

/** One try at delivering a webhook. */
export interface DeliveryAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** The receiver's HTTP status, or null when no answer came (then `error` says why). */
  status: number | null;
  error: string | null;
  /** The first bytes of the receiver's answer. */
  response: string | null;
  /** When the next try is due, or null when there is none. */
  nextAttemptAt: string | null;
}

/** One webhook of the outbox: an event (or a test) for one automation. */
export interface DeliveryInfo {
  /** The `webhook-id`: the same on every attempt and redelivery. */
  id: string;
  automationId: string;
  /** The event that caused it (null for a test delivery). */
  eventId: string | null;
  type: string;
  /** `pending` (queued or retrying), `delivered`, `failed` (gave up), `skipped` (dropped on resume). */
  state: 'pending' | 'delivered' | 'failed' | 'skipped';
  attempts: number;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  /** The body as sent. */
  payload: string;
  log: DeliveryAttempt[];
}
