import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** This package's version, recorded as the ONNX `producer_version`. */
export const PACKAGE_VERSION: string = (require('../package.json') as { version: string }).version;

/** The ONNX `producer_name` of models exported by Quiver. */
export const PRODUCER_NAME = 'quiver-onnx';
