import { fileReferenceHandler } from './file-reference.js';
import { hfReferenceHandler } from './hf-reference.js';
import { httpReferenceHandler } from './http-reference.js';
import { registerReferenceHandler } from './reference-handler.js';
import { s3ReferenceHandler } from './s3-reference.js';

registerReferenceHandler(fileReferenceHandler);
registerReferenceHandler(httpReferenceHandler);
registerReferenceHandler(hfReferenceHandler);
registerReferenceHandler(s3ReferenceHandler);

export { formatHfUri, type HfLocation, hubConnection, hubError, parseHfUri } from './hf-reference.js';
export type {
  DescribeOptions,
  ExpandedReference,
  ReferenceDescription,
  ReferenceHandler,
} from './reference-handler.js';
export { redactUri, referenceHandlerFor, registerReferenceHandler } from './reference-handler.js';
export { type RetryOptions, retryingFetch } from './retrying-fetch.js';
export { DEFAULT_MAX_OBJECTS } from './s3-reference.js';
