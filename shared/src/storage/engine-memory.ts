import type { Settings } from '../config/settings.js';

/**
 * What the embedded engine (chDB) may hold in memory, given to it when it starts: these are
 * server settings, read once from its command line, not session settings a SET could change.
 * chDB's own defaults are sized for a dedicated server: 90% of the machine's RAM as the limit
 * and 5 GiB each for the mark, primary-index and index-mark caches, so on a 24 GiB machine
 * nothing stops the engine before the container's OOM killer does. docs/memory.md says why each
 * value is what it is and how to size a container.
 */
export type EngineMemorySettings = Pick<
  Settings,
  'TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB' | 'TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB' | 'TOKENWATCH_CLICKHOUSE_MERGE_THREADS'
>;

const MB = 1024 * 1024;

/**
 * The memory cap of one ad-hoc (investigation) query on the embedded engine: TOKENWATCH_SQL_MAX_MEMORY,
 * or half the engine's limit. Half, because the engine's limit covers everything it runs and
 * the service's own work goes on beside an investigation: inserts need 40-100 MB, a detector
 * tick more; an investigation allowed the whole limit would have them refused (and retried)
 * while it runs. A cap above the limit is refused at start-up (settings.ts).
 */
export function sqlMaxMemoryBytes(settings: Pick<Settings, 'TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB'> & Partial<Pick<Settings, 'TOKENWATCH_SQL_MAX_MEMORY'>>): number {
  return settings.TOKENWATCH_SQL_MAX_MEMORY ?? Math.floor((settings.TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB * MB) / 2);
}

/**
 * The primary-index cache holds only tables with `use_primary_key_cache`, which ours do not set
 * (each part keeps its primary index in memory itself); bounded like the unused ones below.
 */
const PRIMARY_INDEX_CACHE_BYTES = 16 * MB;

/**
 * Caches tokenwatch barely uses (index marks of token_requests' two bloom filters and one
 * minmax index, compiled expressions, the query condition cache) or never (vector and text
 * indexes, Parquet, Iceberg): a few MiB each, so that a stray query cannot fill them to chDB's
 * gigabyte defaults.
 */
const SMALL_CACHE_BYTES = 8 * MB;

/**
 * The engine's command-line arguments, `--name=value`, in a fixed order. Values are numbers
 * from validated settings or constants, never user text.
 */
export function engineMemoryArgs(settings: EngineMemorySettings): string[] {
  const limit = settings.TOKENWATCH_CLICKHOUSE_MEMORY_LIMIT_MB * MB;
  const args: [string, number][] = [
    // The engine's hard limit over all its queries, inserts and merges: past it, an allocation
    // fails with MEMORY_LIMIT_EXCEEDED (an insert is retried, never dead-lettered; see
    // insert-errors.ts). The ratio-of-RAM default would see the host's RAM, not our share.
    ['max_server_memory_usage', limit],
    // Merges stop being scheduled past half the limit, so that inserts and detector queries
    // keep the other half; merges already running finish.
    ['merges_mutations_memory_usage_soft_limit', Math.floor(limit / 2)],
    // Merges of token_requests' and the rollups' small parts, which an ingest makes several
    // of a second: chDB's default pool of 16 runs up to 32 at once (twice the pool), each with
    // its own read and write buffers, on a container's one or two cores. 2 lowered the peak
    // RSS of an ingest by 9-17 MB (docs/memory.md).
    ['background_pool_size', settings.TOKENWATCH_CLICKHOUSE_MERGE_THREADS],
    ['mark_cache_size', settings.TOKENWATCH_CLICKHOUSE_MARK_CACHE_MB * MB],
    ['primary_index_cache_size', PRIMARY_INDEX_CACHE_BYTES],
    ['index_mark_cache_size', SMALL_CACHE_BYTES],
    ['index_uncompressed_cache_size', 0],
    ['uncompressed_cache_size', 0],
    ['query_condition_cache_size', SMALL_CACHE_BYTES],
    ['compiled_expression_cache_size', SMALL_CACHE_BYTES],
    ['vector_similarity_index_cache_size', SMALL_CACHE_BYTES],
    ['text_index_tokens_cache_size', SMALL_CACHE_BYTES],
    ['text_index_header_cache_size', SMALL_CACHE_BYTES],
    ['text_index_postings_cache_size', SMALL_CACHE_BYTES],
    ['unique_key_index_cache_size_bytes', SMALL_CACHE_BYTES],
    ['parquet_metadata_cache_size', SMALL_CACHE_BYTES],
    ['iceberg_metadata_files_cache_size', SMALL_CACHE_BYTES],
  ];
  return args.map(([name, value]) => `--${name}=${String(value)}`);
}
