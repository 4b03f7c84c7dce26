import { fileReferenceHandler } from './file-reference.js';
import { httpReferenceHandler } from './http-reference.js';
import { registerReferenceHandler } from './reference-handler.js';

registerReferenceHandler(fileReferenceHandler);
registerReferenceHandler(httpReferenceHandler);

export type { ReferenceDescription, ReferenceHandler } from './reference-handler.js';
export { referenceHandlerFor, registerReferenceHandler } from './reference-handler.js';
