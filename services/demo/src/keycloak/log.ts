import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** The most read from the log in one call: a burst is shipped in several reads, never held whole. */
const MAX_READ_BYTES = 4 * 1024 * 1024;

/**
 * Reads what Keycloak appended to its log file (keycloak.sh's JSON console log) after a byte
 * offset, in complete lines: a line still being written stays for the next read. keycloak.sh
 * truncates the file when it starts the server, so an offset past the end starts over at 0.
 */
export class AppendedLines {
  private position: number;

  /** From `offset`, or from the current end of the file (what is already there is not read). */
  constructor(readonly path: string, offset?: number) {
    this.position = offset ?? AppendedLines.size(path);
  }

  static size(path: string): number {
    return statSync(path).size;
  }

  get offset(): number {
    return this.position;
  }

  /** The complete lines appended since the last read (empty lines left out). */
  read(): string[] {
    const size = AppendedLines.size(this.path);
    if (size < this.position) this.position = 0;
    const length = Math.min(size - this.position, MAX_READ_BYTES);
    if (length === 0) return [];
    const buffer = Buffer.alloc(length);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, length, this.position);
    } finally {
      closeSync(fd);
    }
    const end = buffer.lastIndexOf(0x0a);
    if (end < 0) {
      if (length < MAX_READ_BYTES) return [];
      // A "line" longer than any read: passed on in pieces, each dead-lettered downstream for its
      // length, rather than stalling every line after it.
      this.position += length;
      return [buffer.toString('utf8')];
    }
    this.position += end + 1;
    return buffer.subarray(0, end).toString('utf8').split('\n').filter((line) => line.trim() !== '');
  }
}
