import { fileReferenceHandler } from './file-reference.js';
import { hfReferenceHandler } from './hf-reference.js';
import { httpReferenceHandler } from './http-reference.js';
import { registerReferenceHandler } from './reference-handler.js';

registerReferenceHandler(fileReferenceHandler);
registerReferenceHandler(httpReferenceHandler);
registerReferenceHandler(hfReferenceHandler);

export { formatHfUri, type HfLocation, hubConnection, hubError, parseHfUri } from './hf-reference.js';
export type { ReferenceDescription, ReferenceHandler } from './reference-handler.js';
export { referenceHandlerFor, registerReferenceHandler } from './reference-handler.js';
export { type RetryOptions, retryingFetch } from './retrying-fetch.js';
