import { describe, expect, it } from 'vitest';
import {
  BoundedLabel,
  createIngestMetrics,
  createNotifierMetrics,
  createRegistry,
  INPUT_LABEL_CAP,
  MAX_LABEL_VALUE_LENGTH,
  OTHER_LABEL,
} from '@tokenwatch/shared/metrics';

describe('BoundedLabel: input cannot grow a label set without limit', () => {
  it('reports the first values as they are, later new ones as other, and keeps reporting a seen value', () => {
    const label = new BoundedLabel(3);
    expect(['a', 'b', 'a', 'c'].map((value) => label.of(value))).toEqual(['a', 'b', 'a', 'c']);
    expect(label.of('d')).toBe(OTHER_LABEL);
    expect(label.of('e')).toBe(OTHER_LABEL);
    expect(label.of('b')).toBe('b');
  });

  it('cuts long values, so two long values with one prefix are one label value', () => {
    const label = new BoundedLabel(2);
    const long = 'x'.repeat(MAX_LABEL_VALUE_LENGTH);
    expect(label.of(`${long}1`)).toBe(long);
    expect(label.of(`${long}2`)).toBe(long);
    expect(label.of('y')).toBe('y');
    expect(label.of('z')).toBe(OTHER_LABEL);
  });

  it('keeps the ingest unknown auth-method counter to the cap plus other under many distinct values', async () => {
    const registry = createRegistry();
    const metrics = createIngestMetrics(registry);
    for (let i = 0; i < 1_000; i++) metrics.unknownAuthMethod.inc({ value: metrics.unknownAuthMethodValue.of(`method-${i}-${'z'.repeat(100)}`) });
    const { values } = await metrics.unknownAuthMethod.get();
    expect(values).toHaveLength(INPUT_LABEL_CAP + 1);
    expect(values.find((value) => value.labels.value === OTHER_LABEL)?.value).toBe(1_000 - INPUT_LABEL_CAP);
    expect(values.every((value) => String(value.labels.value).length <= MAX_LABEL_VALUE_LENGTH)).toBe(true);
    expect(await registry.getSingleMetricAsString('tokenwatch_ingest_unknown_auth_method_total')).toContain(`first ${INPUT_LABEL_CAP} distinct values`);
  });

  it('bounds the Slack error codes of the notifier failure counter, apart from the ingest one', () => {
    const registry = createRegistry();
    const ingest = createIngestMetrics(registry);
    const notifier = createNotifierMetrics(registry);
    for (let i = 0; i < INPUT_LABEL_CAP; i++) ingest.unknownAuthMethodValue.of(`m${i}`);
    expect(notifier.slackErrorCode.of('channel_not_found')).toBe('channel_not_found');
    for (let i = 0; i < 100; i++) notifier.slackErrorCode.of(`code_${i}`);
    expect(notifier.slackErrorCode.of('another_code')).toBe(OTHER_LABEL);
    expect(notifier.slackErrorCode.of('channel_not_found')).toBe('channel_not_found');
  });
});
