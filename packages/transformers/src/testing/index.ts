/**
 * Test helpers of `@quiver/transformers`: a Hugging Face Hub stand-in that the real
 * `@huggingface/hub` client can push to and read from.
 */
export { HubServer, startHubServer } from './hub-server.js';
export type {
  CommitSummary,
  DelayHandle,
  DelayOptions,
  DropOptions,
  FailOptions,
  HubEndpoint,
  HubRepoSeed,
  HubRequestInfo,
  HubServerOptions,
  HubTokenOptions,
  PreuploadFile,
  RepoType,
  RequestLogEntry,
  RequestMatcher,
  TamperOptions,
  TokenRole,
  TreeFile,
  UploadMode,
} from './hub-types.js';
