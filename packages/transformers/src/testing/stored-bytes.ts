/**
 * File content kept in memory as the list of chunks it arrived in: a 200 MB upload is stored
 * without ever being concatenated, and a range of it is served by walking the chunks.
 */
export class StoredBytes {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  /** Content made of the given chunks (kept as they are, not copied). */
  static of(...chunks: readonly Uint8Array[]): StoredBytes {
    const bytes = new StoredBytes();
    for (const chunk of chunks) bytes.append(chunk);
    return bytes;
  }

  /** Content made of several others, in order (their chunks are shared, not copied). */
  static concat(parts: readonly StoredBytes[]): StoredBytes {
    const bytes = new StoredBytes();
    for (const part of parts) for (const chunk of part.#chunks) bytes.append(chunk);
    return bytes;
  }

  get size(): number {
    return this.#size;
  }

  append(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#chunks.push(buffer);
    this.#size += buffer.byteLength;
  }

  /** The chunks covering bytes [start, end), sliced (without copying) at both ends. */
  *range(start = 0, end = this.#size): Generator<Buffer> {
    let offset = 0;
    for (const chunk of this.#chunks) {
      const chunkEnd = offset + chunk.byteLength;
      if (chunkEnd > start && offset < end) {
        yield chunk.subarray(Math.max(0, start - offset), Math.min(chunk.byteLength, end - offset));
      }
      if (chunkEnd >= end) return;
      offset = chunkEnd;
    }
  }

  /** The whole content in one Buffer (a copy, unless it is a single chunk). */
  toBuffer(): Buffer {
    return this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size);
  }
}
