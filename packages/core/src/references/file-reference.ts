import { copyFile, open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { hashHandle } from '../blobs/copy-and-hash.js';
import { QuiverError } from '../contract/errors.js';
import type { ReferenceHandler } from './reference-handler.js';

/** `file://` references: a local or mounted file recorded by size and sha256. */
export const fileReferenceHandler: ReferenceHandler = {
  schemes: ['file'],
  async describe(uri) {
    const path = fileURLToPath(uri);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new QuiverError(
        'E_REFERENCE_FAILED',
        `Cannot read the referenced file ${path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      if (!(await handle.stat()).isFile()) {
        throw new QuiverError(
          'E_NOT_A_FILE',
          `The reference ${uri.href} is not a regular file; reference each file, or use addDir to copy a folder.`,
        );
      }
      return await hashHandle(handle);
    } finally {
      await handle.close();
    }
  },
  async download(uri, target) {
    await copyFile(fileURLToPath(uri), target);
  },
};
