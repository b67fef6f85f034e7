import { openEnricherFromSettings } from '@tokenwatch/ingest/enrich/from-settings';
import { FORMATS } from '@tokenwatch/ingest/formats/registry';
import { decodeMessage, type FormatChoice } from '@tokenwatch/ingest/decode';
import { describeImport, importLines, type ImportCounts } from '@tokenwatch/ingest/import-file';
import { openStorage } from '@tokenwatch/server/storage';
import { readLineChunks } from '../lines.js';
import type { CommandContext } from '../run.js';

const CHUNK_LINES = 10_000;

/** `tokenwatch import <file|->`: opens the enrichment and storage, imports, prints the counts. */
export async function importCommand(context: CommandContext, path: string, format: FormatChoice): Promise<ImportCounts> {
  const { settings, logger } = context;
  const rejectsPath = `${path === '-' ? 'stdin' : path}.rejects.jsonl`;
  const enricher = await openEnricherFromSettings(settings, logger);
  const storage = await openStorage(settings, logger, { serveQueries: false });
  let counts: ImportCounts;
  try {
    counts = await importLines(readLineChunks(path, CHUNK_LINES), {
      clickhouse: storage.client,
      decode: (text) => decodeMessage(text, { adapters: FORMATS, format, enrich: enricher.enrich }),
      retentionDays: settings.TOKENWATCH_RETENTION_DAYS,
      rejectsPath,
    });
  } finally {
    await storage.close();
  }
  process.stdout.write(`${describeImport(counts, rejectsPath, settings.TOKENWATCH_RETENTION_DAYS)}\n`);
  return counts;
}
