import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { canonicalEvent } from '../helpers/events.js';
import { readTopic } from '../helpers/kafka.js';
import { testEnv } from '../helpers/settings.js';

describe('tokenwatch produce', () => {
  it('cuts sends by size, so 5,000 lines of 1.5 KB (7 MB, past the broker\'s 1 MB batch limit) all arrive', async () => {
    const env = testEnv('produce-bytes', { TOKENWATCH_TOPIC_PARTITIONS: '1' });
    const file = join(mkdtempSync(join(tmpdir(), 'tokenwatch-produce-')), 'events.jsonl');
    const lines = Array.from({ length: 5_000 }, (_, i) => JSON.stringify(canonicalEvent(i, { user_agent: 'u'.repeat(1_000) })));
    expect(lines.reduce((sum, line) => sum + line.length, 0)).toBeGreaterThan(5_000_000);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const result = await runCli(['produce', file], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`produced 5000 messages to ${env.TOKENWATCH_TOPIC}\n`);
    expect(await readTopic(env.TOKENWATCH_TOPIC as string, 5_000)).toHaveLength(5_000);
  });
});
