/**
 * The Quiver team server: the backend contract over HTTP on the embedded backend, with users,
 * teams, roles and API keys. Start it with `quiver server start`; point clients at it with
 * `QUIVER_BASE_URL` and `QUIVER_API_KEY` (or `quiver login`).
 *
 * @module
 */
export { buildServer, type FastifyInstance, type ServerOptions } from './app.js';
export { type Needs, needsOf } from './authorize.js';
export {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  CORS_MAX_AGE_SECONDS,
  CORS_METHODS,
  corsOriginsFromEnv,
  parseCorsOrigin,
  parseCorsOrigins,
} from './cors.js';
export { openApiDocument } from './openapi.js';
export {
  type LocalUiOptions,
  type RunningServer,
  type StartOptions,
  startLocalUi,
  startServer,
  webhookSettingsFromEnv,
} from './start.js';
export {
  CONTENT_SECURITY_POLICY,
  CSRF_HEADER,
  csrfTokenOf,
  type LocalMode,
  SESSION_COOKIE,
} from './web-ui.js';
export { EgressPolicy, type Resolver } from './webhooks/egress.js';
export { type RelayLog, type RelayOptions, WebhookRelay } from './webhooks/relay.js';
