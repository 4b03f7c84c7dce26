import type { FileHandle } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { copyAndHash } from './copy-and-hash.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('copyAndHash when the disk fills up', () => {
  it('a write that fails while the next read is in flight rejects the copy, never as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      let reads = 0;
      // Reads are slow (a disk), writes fail at once (ENOSPC): the failed write sits unawaited
      // while the loop waits for the next read.
      const source = {
        read: async (buffer: Buffer) => {
          await sleep(30);
          reads++;
          buffer.fill(1);
          return { bytesRead: reads <= 4 ? 1024 : 0, buffer };
        },
      } as unknown as FileHandle;
      const target = {
        write: async () => {
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        },
      } as unknown as FileHandle;
      await expect(copyAndHash(source, target, undefined, { chunkBytes: 1024 })).rejects.toMatchObject({
        code: 'ENOSPC',
      });
      await sleep(100); // past the turn in which Node reports unhandled rejections
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
