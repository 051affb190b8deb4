/**
 * Byte-stable tar headers for artifacts. Written by hand rather than through node-tar's
 * packer so that the bytes depend only on the path, type, mode and size we pass in:
 * no uid/gid, user or group names, timestamps, or library-version drift.
 */

export const TAR_BLOCK_SIZE = 512;

/** Largest size the 11-digit octal field holds (8 GiB - 1). */
export const MAX_TAR_ENTRY_SIZE = 8 ** 11 - 1;

export interface TarEntryHeader {
  /** `/`-separated, relative; directories are written with a trailing `/`. */
  path: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
}

const NAME_LENGTH = 100;
const PREFIX_LENGTH = 155;
const PAX_HEADER_NAME = 'PaxHeader';

/** The header block(s) for one entry: a PAX extended header first when the path needs it. */
export function encodeTarHeader(entry: TarEntryHeader): Buffer {
  if (!Number.isSafeInteger(entry.size) || entry.size < 0 || entry.size > MAX_TAR_ENTRY_SIZE) {
    throw new RangeError(`tar entry '${entry.path}' has an unsupported size ${entry.size}`);
  }
  const fullPath = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
  const split = splitUstarPath(fullPath);
  const typeflag = entry.type === 'directory' ? '5' : '0';
  if (split !== undefined) {
    return ustarBlock({ name: split.name, prefix: split.prefix, mode: entry.mode, size: entry.size, typeflag });
  }
  const body = paxRecord('path', fullPath);
  const paxHeader = ustarBlock({ name: PAX_HEADER_NAME, prefix: '', mode: 0o644, size: body.length, typeflag: 'x' });
  return Buffer.concat([
    paxHeader,
    body,
    Buffer.alloc(paddingFor(body.length)),
    ustarBlock({ name: asciiFallbackName(fullPath), prefix: '', mode: entry.mode, size: entry.size, typeflag }),
  ]);
}

/** Zero bytes that round `size` up to a whole block. */
export function paddingFor(size: number): number {
  const rem = size % TAR_BLOCK_SIZE;
  return rem === 0 ? 0 : TAR_BLOCK_SIZE - rem;
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * TAR_BLOCK_SIZE);
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** ustar name/prefix for plain ASCII paths that fit; undefined when PAX is needed. */
function splitUstarPath(p: string): { name: string; prefix: string } | undefined {
  if (!isAscii(p)) return undefined;
  if (p.length <= NAME_LENGTH) return { name: p, prefix: '' };
  // Split at a '/' so that the prefix and the name both fit (a directory's trailing '/' stays in the name).
  const searchEnd = p.endsWith('/') ? p.length - 2 : p.length - 1;
  for (let i = p.lastIndexOf('/', searchEnd); i > 0; i = p.lastIndexOf('/', i - 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (name.length > NAME_LENGTH) return undefined;
    if (prefix.length <= PREFIX_LENGTH) return { name, prefix };
  }
  return undefined;
}

function asciiFallbackName(p: string): string {
  return p.replace(/[^\x20-\x7e]/g, '_').slice(-NAME_LENGTH);
}

/** `"<len> key=value\n"`, where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let length = rest + 1;
  while (String(length).length + rest !== length) length = String(length).length + rest;
  return Buffer.from(`${length} ${key}=${value}\n`, 'utf8');
}

function ustarBlock(h: { name: string; prefix: string; mode: number; size: number; typeflag: string }): Buffer {
  const block = Buffer.alloc(TAR_BLOCK_SIZE);
  block.write(h.name, 0, NAME_LENGTH, 'utf8');
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, 0); // mtime
  block.fill(0x20, 148, 156); // checksum placeholder: spaces while summing
  block.write(h.typeflag, 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  writeOctal(block, 329, 8, 0); // devmajor
  writeOctal(block, 337, 8, 0); // devminor
  block.write(h.prefix, 345, PREFIX_LENGTH, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}
