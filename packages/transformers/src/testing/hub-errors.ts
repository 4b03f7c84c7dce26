/**
 * The errors the stand-in answers with, shaped as the Hub shapes them: a JSON body
 * `{ "error": message }`, and for the not-found family the `X-Error-Code` header the clients
 * branch on (`fileDownloadInfo` returns null only for `404` + `X-Error-Code: EntryNotFound`).
 */

/** Values of the `X-Error-Code` header the Hub sends. */
export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo';

/** An HTTP error answer; thrown anywhere in a handler, turned into the response by the server. */
export class HubHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: HubErrorCode,
  ) {
    super(message);
    this.name = 'HubHttpError';
  }
}

/**
 * A repo that does not exist or that the caller may not see. Like the Hub, an anonymous caller
 * gets 401 and an authenticated one 404, so a private repo cannot be told from a missing one.
 */
export function repoNotFound(anonymous: boolean): HubHttpError {
  return new HubHttpError(anonymous ? 401 : 404, 'Repository not found', 'RepoNotFound');
}

export function revisionNotFound(revision: string): HubHttpError {
  return new HubHttpError(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
}

export function entryNotFound(path: string): HubHttpError {
  return new HubHttpError(404, `Entry not found: ${path}`, 'EntryNotFound');
}

export function badRequest(message: string): HubHttpError {
  return new HubHttpError(400, message);
}

/** What the Hub answers to a request with a token it does not know. */
export function invalidCredentials(): HubHttpError {
  return new HubHttpError(401, 'Invalid credentials in Authorization header');
}

/** What the Hub answers to an anonymous request that needs a user. */
export function authenticationRequired(): HubHttpError {
  return new HubHttpError(401, 'Invalid username or password.');
}

export function forbidden(message: string): HubHttpError {
  return new HubHttpError(403, message);
}
