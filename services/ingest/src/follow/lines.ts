/** A newline-terminated line of the followed file, without its line break. */
export interface CompleteLine {
  readonly kind: 'line';
  /** File offset of its first byte. */
  readonly start: number;
  /** File offset after its line break: where to resume once it is published. */
  readonly end: number;
  readonly bytes: Buffer;
}

/** A line longer than the limit: only its first `maxLineBytes` are kept (`prefix`), never the whole. */
export interface OversizedLine {
  readonly kind: 'oversized';
  readonly start: number;
  readonly end: number;
  /** Its length without the line break. */
  readonly length: number;
  readonly prefix: Buffer;
}

export type SplitLine = CompleteLine | OversizedLine;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Cuts the bytes of a file, pushed chunk by chunk in file order, into lines. A line is
 * returned only once its newline arrived (a writer may be half-way through it); the bytes
 * after the last newline wait here. Memory is bounded by `maxLineBytes`: a line that grows
 * past it keeps only its first `maxLineBytes` and is returned as oversized when it ends.
 * Blank lines are skipped (as `produce` does) but their bytes count as consumed.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Length of the unfinished line so far, including bytes not kept once it is oversized. */
  private pendingLength = 0;
  /** File offset of the unfinished line's first byte. */
  private lineStart: number;
  /** File offset of the next byte pushed. */
  private offset: number;

  constructor(
    private readonly maxLineBytes: number,
    start: number,
  ) {
    this.lineStart = start;
    this.offset = start;
  }

  /**
   * Where to resume reading after every returned line is published: the start of the
   * unfinished line, so a restart reads it again whole.
   */
  get resumeOffset(): number {
    return this.lineStart;
  }

  /** File offset of the next byte expected. */
  get readOffset(): number {
    return this.offset;
  }

  /** The lines that `chunk` (the file's bytes at readOffset) completes. */
  push(chunk: Buffer): SplitLine[] {
    const lines: SplitLine[] = [];
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE, from); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      this.keep(chunk.subarray(from, newline));
      const line = this.finishLine(this.offset + newline + 1);
      if (line) lines.push(line);
      from = newline + 1;
    }
    this.keep(chunk.subarray(from));
    this.offset += chunk.length;
    return lines;
  }

  /**
   * The unfinished line as a last line, for a file that will not grow any more (rotated away
   * or truncated): its writer is done with it, and dropping it would lose it.
   */
  finish(): SplitLine | undefined {
    return this.pendingLength > 0 ? this.finishLine(this.offset) : undefined;
  }

  /** Starts again at `offset` (a truncated file: from 0; a new file after rotation: from 0). */
  restartAt(offset: number): void {
    this.clearPending();
    this.lineStart = offset;
    this.offset = offset;
  }

  private keep(bytes: Buffer): void {
    this.pendingLength += bytes.length;
    // One byte over the limit is kept: it may be the \r of a \r\n line that is just at the limit.
    const room = this.maxLineBytes + 1 - this.pendingBytes;
    if (room <= 0 || bytes.length === 0) return;
    // A copy: the caller may reuse its read buffer, and a kept slice would pin all of it.
    const kept = Buffer.from(bytes.subarray(0, room));
    this.pending.push(kept);
    this.pendingBytes += kept.length;
  }

  private finishLine(end: number): SplitLine | undefined {
    const start = this.lineStart;
    let bytes = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
    let length = this.pendingLength;
    const keptWhole = this.pendingBytes === this.pendingLength;
    if (keptWhole && bytes[bytes.length - 1] === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, bytes.length - 1);
      length -= 1;
    }
    this.clearPending();
    this.lineStart = end;
    if (length > this.maxLineBytes) return { kind: 'oversized', start, end, length, prefix: bytes.subarray(0, this.maxLineBytes) };
    if (isBlank(bytes)) return undefined;
    return { kind: 'line', start, end, bytes };
  }

  private clearPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingLength = 0;
  }
}

function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  return true;
}
