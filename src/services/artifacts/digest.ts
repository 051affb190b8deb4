import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Flux's `--artifact-digest-algo` default, and the only algorithm Flotilla writes. */
export const DIGEST_ALGORITHM = 'sha256';

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;

/** `sha256:<hex>`, the form of `status.artifact.digest`. */
export function formatDigest(hex: string): string {
  return `${DIGEST_ALGORITHM}:${hex}`;
}

/** The hex part of a `sha256:<64 hex>` digest, or undefined if it is not one. */
export function digestHex(digest: string): string | undefined {
  return SHA256_DIGEST.exec(digest)?.[1];
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestingStream extends Transform {
  #hash: Hash = createHash(DIGEST_ALGORITHM);
  #size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.#size;
  }

  /** The digest of everything seen; call once, after the stream has finished. */
  digest(): string {
    return formatDigest(this.#hash.digest('hex'));
  }
}

/** Digest and size of a file's bytes. */
export async function digestFile(file: string): Promise<{ digest: string; size: number }> {
  const hash = createHash(DIGEST_ALGORITHM);
  let size = 0;
  await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
    }
  });
  return { digest: formatDigest(hash.digest('hex')), size };
}
