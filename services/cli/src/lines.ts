import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';

export interface Line {
  readonly number: number;
  readonly text: string;
}

/** Non-empty lines of a file (or stdin for `-`), in chunks, with their 1-based line numbers. */
export async function* readLineChunks(path: string, chunkSize: number): AsyncGenerator<Line[]> {
  const input = path === '-' ? process.stdin : createReadStream(path);
  const opened = new Promise<void>((resolve, reject) => {
    if (path === '-') resolve();
    input.once('open', () => resolve());
    input.once('error', (error: Error) => reject(new ConfigError(`cannot read ${path}: ${errorMessage(error)}`)));
  });
  await opened;
  let chunk: Line[] = [];
  let number = 0;
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    number += 1;
    if (text.trim() === '') continue;
    chunk.push({ number, text });
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A whole file (or stdin for `-`) as UTF-8 text, refused with one line when it is larger than maxBytes. */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  const input = path === '-' ? process.stdin : createReadStream(path);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of input) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        if (path !== '-') (input as ReturnType<typeof createReadStream>).destroy();
        throw new ConfigError(`${path === '-' ? 'stdin' : path} is larger than ${maxBytes.toLocaleString('en')} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
