import { DeadLetterLimitError } from '@tokenwatch/shared/errors';

/**
 * Stops a consumer whose input is mostly bad (a wrong topic, a new IdP format) before it
 * dead-letters a whole topic. It looks at the most recent `window` messages and trips when
 * more than `maxRatio` of them were rejected. `check` runs before a batch has any effect,
 * so the batch that trips it is neither stored, dead-lettered nor committed.
 */
export class DeadLetterGuard {
  private readonly recent: { total: number; rejected: number }[] = [];
  private total = 0;
  private rejected = 0;

  constructor(
    private readonly maxRatio: number,
    private readonly window: number,
    private readonly describeSource: string,
  ) {}

  check(total: number, rejected: number): void {
    this.recent.push({ total, rejected });
    this.total += total;
    this.rejected += rejected;
    // Drop whole batches from the front while the rest still covers the window.
    while (this.recent.length > 1 && this.total - (this.recent[0]?.total ?? 0) >= this.window) {
      const oldest = this.recent.shift();
      this.total -= oldest?.total ?? 0;
      this.rejected -= oldest?.rejected ?? 0;
    }
    if (this.total >= this.window && this.rejected / this.total > this.maxRatio) {
      throw new DeadLetterLimitError(
        `stopped: ${this.rejected} of the last ${this.total} messages from ${this.describeSource} were invalid ` +
          `(more than TOKENWATCH_DLQ_MAX_RATIO=${this.maxRatio}); nothing from that batch was stored or committed. ` +
          'Check that the topic carries token-request logs in a supported format, then restart.',
      );
    }
  }
}
