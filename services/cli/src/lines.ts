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
