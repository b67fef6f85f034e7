/**
 * How many arrivals one window holds at most (about: one insert's rows share their ingested_at),
 * for the detectors' windows and the rollup refresh's alike: the default of the detectors'
 * max_window_events (services/detector/src/config.ts) and the refresh's bound when its caller
 * does not say (shared/src/storage/rollups/refresh.ts). Every detector query and every rollup
 * insert holds engine memory in proportion to its window (docs/memory.md): at 250,000 the
 * jti_use_hours insert alone held 169 MB and `tokenwatch start` peaked at 682-685 MB RSS in
 * bench:memory, at 100,000 612-657 MB, at 50,000 563 MB (2026-11-30).
 */
export const DEFAULT_MAX_WINDOW_EVENTS = 50_000;
