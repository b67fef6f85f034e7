import { Writable } from 'node:stream';

/**
 * The status line on stderr: rewritten in place on a terminal, a plain line each time
 * otherwise (a log file). Notes (attacks injected, back-fill done) and alerts printed on stdout
 * go above it: the line is cleared first and redrawn after.
 */
export class StatusLine {
  private current = '';
  private readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.tty = stream.isTTY === true;
  }

  show(line: string): void {
    if (!this.tty) {
      this.stream.write(`tokenwatch demo: ${line}\n`);
      return;
    }
    this.current = line.slice(0, Math.max(20, (this.stream.columns ?? 120) - 1));
    this.stream.write(`\r\x1b[K${this.current}`);
  }

  note(text: string): void {
    this.around(() => this.stream.write(`tokenwatch demo: ${text}\n`));
  }

  clear(): void {
    if (this.tty && this.current) this.stream.write('\r\x1b[K');
    this.current = '';
  }

  /** A stream for the terminal sink that keeps alerts and the status line apart. */
  passThrough(target: NodeJS.WriteStream): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        this.around(() => target.write(chunk, (error) => callback(error ?? null)));
      },
    });
  }

  private around(write: () => void): void {
    const line = this.current;
    this.clear();
    write();
    if (this.tty && line) this.show(line);
  }
}
