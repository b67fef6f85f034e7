import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { detectorsConfigSchema } from '@tokenwatch/detector/config';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import { notifyConfigSchema } from '@tokenwatch/notifier/config';

/**
 * The configuration file (YAML or JSON, path in TOKENWATCH_CONFIG): detector thresholds,
 * per-client overrides, allowlists and alert routing. Everything has a default, so no file is
 * a valid configuration. Unknown keys are errors: a misspelt threshold silently ignored
 * would leave a detector at a value nobody chose.
 */
export const configFileSchema = z.strictObject({
  detectors: detectorsConfigSchema.prefault({}),
  notify: notifyConfigSchema.prefault({}),
});

export type ConfigFile = z.output<typeof configFileSchema>;

export function loadConfigFile(path: string | undefined): ConfigFile {
  if (!path) return parseConfig({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read TOKENWATCH_CONFIG=${path}: ${errorMessage(error)}`);
  }
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    document = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`TOKENWATCH_CONFIG=${path} is not valid YAML or JSON: ${errorMessage(error).split('\n')[0]}`);
  }
  return parseConfig(document, path);
}

/** Validates a parsed document; the error names the first wrong key by its path. */
export function parseConfig(document: unknown, source: string): ConfigFile {
  const result = configFileSchema.safeParse(document);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const keys = issue && 'keys' in issue && Array.isArray(issue.keys) ? `.${String(issue.keys[0])}` : '';
  const path = [...(issue?.path ?? []), ...(keys ? [keys.slice(1)] : [])].map(String).join('.') || '(top level)';
  throw new ConfigError(`invalid configuration in ${source} at ${path}: ${issue?.message ?? 'invalid value'}`);
}
