/** Options of the Hub push, each with its environment variable: explicit option > env > default. */
import { QuiverError } from '@quiver/core';
import type { ModelCardOptions } from './model-card.js';

/** When checkpoints go to the Hub, with the Hugging Face Trainer's `hub_strategy` semantics. */
export type HubStrategy = 'end' | 'every_save' | 'checkpoint' | 'all_checkpoints';
export const HUB_STRATEGIES: readonly HubStrategy[] = ['end', 'every_save', 'checkpoint', 'all_checkpoints'];

/** Which pushes are recorded as Quiver versions, as `WANDB_LOG_MODEL` in the W&B integration. */
export type HubLogModel = 'end' | 'checkpoint' | false;

export interface HubPushOptions {
  /** `owner/name` of the model repo (`QUIVER_HUB_REPO`). */
  repo?: string;
  /** The Hub's URL (`HF_ENDPOINT`, default https://huggingface.co). */
  hubUrl?: string;
  /** An access token (`HF_TOKEN`); sent to the Hub only, never printed or stored. */
  token?: string;
  /** The branch pushed to (`QUIVER_HUB_BRANCH`, default `main`); created if missing. */
  branch?: string;
  /** Create the repo as private when it does not exist (`QUIVER_HUB_PRIVATE`, default false). */
  private?: boolean;
  /** Create the repo when it does not exist (default true). */
  createRepo?: boolean;
  /** `end`, `every_save` (default), `checkpoint` or `all_checkpoints` (`QUIVER_HUB_STRATEGY`). */
  strategy?: HubStrategy;
  /** Push every save even while the previous push is in flight, in order (`QUIVER_HUB_ALWAYS_PUSH`). */
  alwaysPush?: boolean;
  /**
   * Which pushes become Quiver versions of `hf://` references (`QUIVER_LOG_MODEL`): `checkpoint`
   * (default: every push), `end` (the final push only) or `false` (none).
   */
  logModel?: HubLogModel;
  /** The Quiver artifact recording the pushes (default `hub-<repo name>`). */
  artifactName?: string;
  /** Model card metadata and text. */
  card?: ModelCardOptions;
  /** Background push failures warn (default) or make `finish()` throw. */
  onError?: 'warn' | 'throw';
  /** Progress of pushes: started, done, skipped, retried, failed. */
  onEvent?: (event: HubPushEvent) => void;
}

export type HubPushEvent =
  | { type: 'push-started'; step: number; paths: string[] }
  | { type: 'push-done'; step: number; commit: string; seconds: number }
  | { type: 'push-skipped'; step: number; reason: string }
  | { type: 'push-retry'; attempt: number; url: string; reason: string }
  | { type: 'push-failed'; step: number; error: Error };

export interface ResolvedHubOptions {
  repo: string;
  hubUrl: string;
  /** Whether a token was given (the token itself stays inside the pusher, never in options). */
  authenticated: boolean;
  branch: string;
  private: boolean;
  createRepo: boolean;
  strategy: HubStrategy;
  alwaysPush: boolean;
  logModel: HubLogModel;
  artifactName: string;
  card: ModelCardOptions;
  onError: 'warn' | 'throw';
  onEvent: ((event: HubPushEvent) => void) | undefined;
}

function envError(variable: string, value: string, allowed: string): QuiverError {
  return new QuiverError(
    'E_INVALID_ENV',
    `${variable}=${JSON.stringify(value)} is not valid; use ${allowed}.`,
    {
      details: { variable, allowed },
    },
  );
}

function optionError(option: string, value: unknown, allowed: string): QuiverError {
  return new QuiverError(
    'E_INVALID_OPTION',
    `${option}: ${JSON.stringify(value)} is not valid; use ${allowed}.`,
    {
      details: { option, allowed },
    },
  );
}

function booleanEnv(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const value = env[variable];
  if (value === undefined || value === '') return undefined;
  const normalised = value.trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(normalised)) return true;
  if (['0', 'false', 'no'].includes(normalised)) return false;
  throw envError(variable, value, 'true or false');
}

function logModelFrom(value: string, variable: string): HubLogModel {
  const normalised = value.trim().toLowerCase();
  // As WANDB_LOG_MODEL: `true` is the older spelling of `end`.
  if (normalised === 'end' || normalised === 'true') return 'end';
  // The TF.js callback's `all` and `best` log every (or every improving) checkpoint: each is pushed.
  if (['checkpoint', 'all', 'best'].includes(normalised)) return 'checkpoint';
  if (['false', '0', ''].includes(normalised)) return false;
  throw envError(variable, value, 'end, checkpoint or false');
}

const REPO_NAME = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** The token (`token` option, else `HF_TOKEN`; empty means none), checked to be an `hf_…` token. */
export function resolveHubToken(
  options: Pick<HubPushOptions, 'token'>,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const token = options.token ?? (env.HF_TOKEN || undefined);
  if (token !== undefined && !token.startsWith('hf_'))
    throw new QuiverError(
      'E_INVALID_OPTION',
      `The Hub token ${options.token !== undefined ? '(token option)' : '(HF_TOKEN)'} does not start with "hf_"; use an access token from your Hub settings.`,
      { details: { option: options.token !== undefined ? 'token' : 'HF_TOKEN' } },
    );
  return token;
}

/** Resolves options against the environment; errors name the variable or option and what is allowed. */
export function resolveHubOptions(
  options: HubPushOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedHubOptions {
  const repo = options.repo ?? env.QUIVER_HUB_REPO;
  if (!repo)
    throw new QuiverError(
      'E_INVALID_OPTION',
      'No Hub repo: pass { repo: "owner/name" } or set QUIVER_HUB_REPO.',
      {
        details: { option: 'repo' },
      },
    );
  if (!REPO_NAME.test(repo))
    throw options.repo !== undefined
      ? optionError('repo', repo, '"owner/name"')
      : envError('QUIVER_HUB_REPO', repo, 'owner/name');
  const strategyEnv = env.QUIVER_HUB_STRATEGY;
  const strategy =
    options.strategy ?? (strategyEnv ? (strategyEnv.trim().toLowerCase() as HubStrategy) : 'every_save');
  if (!HUB_STRATEGIES.includes(strategy))
    throw options.strategy !== undefined
      ? optionError('strategy', strategy, HUB_STRATEGIES.join(', '))
      : envError('QUIVER_HUB_STRATEGY', strategyEnv ?? '', HUB_STRATEGIES.join(', '));
  const logModel =
    options.logModel !== undefined
      ? options.logModel
      : env.QUIVER_LOG_MODEL !== undefined
        ? logModelFrom(env.QUIVER_LOG_MODEL, 'QUIVER_LOG_MODEL')
        : 'checkpoint';
  if (![false, 'end', 'checkpoint'].includes(logModel))
    throw optionError('logModel', logModel, "'end', 'checkpoint' or false");
  const token = resolveHubToken(options, env);
  const onError = options.onError ?? 'warn';
  if (onError !== 'warn' && onError !== 'throw') throw optionError('onError', onError, "'warn' or 'throw'");
  return {
    repo,
    hubUrl: (options.hubUrl ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, ''),
    authenticated: token !== undefined,
    branch: options.branch ?? env.QUIVER_HUB_BRANCH ?? 'main',
    private: options.private ?? booleanEnv(env, 'QUIVER_HUB_PRIVATE') ?? false,
    createRepo: options.createRepo ?? true,
    strategy,
    alwaysPush: options.alwaysPush ?? booleanEnv(env, 'QUIVER_HUB_ALWAYS_PUSH') ?? false,
    logModel,
    artifactName: options.artifactName ?? `hub-${repo.split('/')[1]}`,
    card: options.card ?? {},
    onError,
    onEvent: options.onEvent,
  };
}
