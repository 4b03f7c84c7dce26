import type { ColumnType, Generated } from 'kysely';

/** Rows of the `runs` table. Times are ISO-8601 UTC strings so both dialects sort them alike. */
export interface RunTable {
  id: string;
  entity: string;
  project: string;
  name: string;
  job_type: string | null;
  group_name: string | null;
  tags: string;
  notes: string | null;
  config: string;
  summary: string;
  state: string;
  exit_code: number | null;
  host: string;
  pid: number;
  created_at: string;
  heartbeat_at: string;
  finished_at: string | null;
}

/** One row per logged step; `metrics` is a JSON object of the values logged at that step. */
export interface RunHistoryTable {
  run_id: string;
  step: number;
  metrics: string;
  logged_at: string;
}

export interface ArtifactTable {
  id: Generated<number>;
  entity: string;
  project: string;
  name: string;
  type: string;
  next_version: number;
  created_at: string;
}

export interface ArtifactVersionTable {
  id: Generated<number>;
  /** The public id (a ULID); `id` stays internal. */
  uid: string;
  artifact_id: number;
  version: number;
  digest: string;
  description: string | null;
  metadata: string;
  size: number;
  file_count: number;
  produced_by_run: string | null;
  state: string;
  created_at: string;
  deleted_at: string | null;
}

export interface ManifestEntryTable {
  version_id: number;
  path: string;
  sha256: string;
  size: number;
  /** Set for references: the URI recorded, not copied. */
  ref_uri: string | null;
}

export interface AliasTable {
  artifact_id: number;
  alias: string;
  version_id: number;
  updated_at: string;
}

export interface VersionTagTable {
  version_id: number;
  tag: string;
}

export interface ArtifactUsageTable {
  run_id: string;
  version_id: number;
  used_at: string;
}

export interface RegistryTable {
  id: Generated<number>;
  entity: string;
  name: string;
  description: string;
  /** JSON array of accepted artifact types. */
  accepted_types: string;
  /** JSON array of aliases that need force to set, move or remove. */
  protected_aliases: string;
  created_by: string;
  created_at: string;
}

export interface RegisteredModelTable {
  id: Generated<number>;
  /** The public id (a ULID). */
  uid: string;
  registry_id: number;
  name: string;
  card: string;
  next_version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface RegisteredModelTagTable {
  model_id: number;
  tag: string;
}

export interface RegistryLinkTable {
  id: Generated<number>;
  /** The public id (a ULID). */
  uid: string;
  model_id: number;
  version: number;
  source_version_id: number;
  linked_by: string;
  linked_at: string;
}

export interface RegistryAliasTable {
  model_id: number;
  alias: string;
  link_id: number;
  updated_by: string;
  updated_at: string;
}

export interface RegistryUsageTable {
  run_id: string;
  link_id: number;
  used_at: string;
}

/** The last number handed out per topic of the event log, and (`*`) over all topics. */
export interface EventHeadTable {
  topic: string;
  last_sequence: number;
}

/** The event log: one row per change, numbered without gaps in commit order (see QuiverEvent). */
export interface EventTable {
  position: number;
  uid: string;
  topic: string;
  sequence: number;
  action: string;
  entity: string;
  actor: string;
  at: string;
  subject: string;
  registry: string | null;
  /** Internal key of the registered model, so its history survives renames. */
  model_id: number | null;
  model_uid: string | null;
  model: string | null;
  before: string | null;
  after: string | null;
}

/** Where each named consumer of a topic (or of `*`, all) has read to. */
export interface EventConsumerTable {
  name: string;
  topic: string;
  cursor: number;
  updated_at: string;
  /** A batch handed out over HTTP and not yet acknowledged: its token, expiry and last cursor. */
  lease_token: ColumnType<string | null, string | null | undefined, string | null>;
  lease_until: ColumnType<string | null, string | null | undefined, string | null>;
  lease_end: ColumnType<number | null, number | null | undefined, number | null>;
}

/** A user of the team server. */
export interface UserTable {
  id: Generated<number>;
  uid: string;
  name: string;
  /** 1 for a server admin (manages users, teams and keys; admin of every entity). */
  is_admin: number;
  created_at: string;
  /** `scrypt$N$r$p$salt$hash` (base64url), or null for a user that signs in with keys only. */
  password_hash: string | null;
}

/** A browser session: the sha256 of its token, whose, and until when. */
export interface SessionTable {
  hash: string;
  user_id: number;
  /** The key it was started with (it ends when that key is revoked), or null for a password. */
  api_key_id: number | null;
  created_at: string;
  expires_at: string;
}

/** A team: an entity its members share. */
export interface TeamTable {
  id: Generated<number>;
  uid: string;
  name: string;
  created_by: string;
  created_at: string;
}

/** A user's role in a team: `viewer`, `member` or `admin`. */
export interface MembershipTable {
  team_id: number;
  user_id: number;
  role: string;
  added_at: string;
}

/** An API key: only the sha256 of the key is kept, and a hint of its last characters. */
export interface ApiKeyTable {
  id: Generated<number>;
  uid: string;
  user_id: number;
  name: string;
  hash: string;
  hint: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The stored answer to a write sent with an idempotency key (the team server's). */
export interface IdempotencyKeyTable {
  user_name: string;
  key: string;
  fingerprint: string;
  status: number;
  response: string;
  created_at: string;
}

/** An automation: trigger, scope and webhook target (secrets encrypted). */
export interface AutomationTable {
  id: Generated<number>;
  uid: string;
  entity: string;
  name: string;
  description: string;
  project: string | null;
  registry: string | null;
  model: string | null;
  trigger: string;
  filter: string | null;
  /** JSON of the metric threshold, or null. */
  threshold: string | null;
  url: string;
  template: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: string | null;
  secret_hint: string;
  bearer_token: string | null;
  state: string;
  disabled_reason: string | null;
  failures: Generated<number>;
  lease_token: ColumnType<string | null, string | null | undefined, string | null>;
  lease_until: ColumnType<string | null, string | null | undefined, string | null>;
  created_by: string;
  created_at: string;
}

/** One webhook of the outbox. */
export interface WebhookDeliveryTable {
  id: Generated<number>;
  uid: string;
  automation_id: number;
  event_uid: string | null;
  event_position: number | null;
  type: string;
  payload: string;
  state: string;
  attempts: Generated<number>;
  due_at: string;
  created_at: string;
  delivered_at: string | null;
}

/** One try at a delivery. */
export interface WebhookAttemptTable {
  delivery_id: number;
  attempt: number;
  started_at: string;
  duration_ms: number;
  status: number | null;
  error: string | null;
  response: string | null;
  next_attempt_at: string | null;
}

export interface Database {
  runs: RunTable;
  run_history: RunHistoryTable;
  artifacts: ArtifactTable;
  artifact_versions: ArtifactVersionTable;
  manifest_entries: ManifestEntryTable;
  aliases: AliasTable;
  version_tags: VersionTagTable;
  artifact_usage: ArtifactUsageTable;
  registries: RegistryTable;
  registered_models: RegisteredModelTable;
  registered_model_tags: RegisteredModelTagTable;
  registry_links: RegistryLinkTable;
  registry_aliases: RegistryAliasTable;
  registry_usage: RegistryUsageTable;
  event_heads: EventHeadTable;
  events: EventTable;
  event_consumers: EventConsumerTable;
  users: UserTable;
  teams: TeamTable;
  memberships: MembershipTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  idempotency_keys: IdempotencyKeyTable;
  automations: AutomationTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
}
