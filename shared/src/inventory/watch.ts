import { readFile, stat } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { ConfigError, errorMessage } from '../errors.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../log.js';
import { createInventoryMetrics } from '../metrics.js';
import { EMPTY_INVENTORY, MAX_INVENTORY_BYTES, parseInventory, type Inventory } from './inventory.js';

/** How often the file is checked for a change: an owner edit reaches the next alerts within this. */
export const INVENTORY_POLL_MS = 10_000;

/** The inventory in use now, reloaded when its file changes. */
export interface InventorySource {
  current(): Inventory;
  /** Stops polling. */
  close(): void;
}

/** No TOKENWATCH_INVENTORY: every client is simply not in it. */
export const NO_INVENTORY: InventorySource = { current: () => EMPTY_INVENTORY, close: () => undefined };

/** Reads and parses the file once; a problem is a ConfigError of one line (start-up stops). */
export async function loadInventory(path: string, options: { requireComplete?: boolean } = {}): Promise<Inventory> {
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.size > MAX_INVENTORY_BYTES) throw new ConfigError(`invalid inventory ${path}: larger than ${MAX_INVENTORY_BYTES} bytes`);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read TOKENWATCH_INVENTORY=${path}: ${errorMessage(error)}`);
  }
  return parseInventory(bytes, path, options);
}

/**
 * Loads the inventory (throwing a ConfigError at start-up when it is bad) and polls the file:
 * a changed size or mtime triggers a read, and a changed content hash a reload. A bad file on
 * reload keeps the last good inventory, logs one error line and counts it in
 * tokenwatch_inventory_reload_errors_total; the same bad content is not reported again.
 */
export async function watchInventory(options: {
  path: string;
  requireComplete?: boolean;
  logger: Logger;
  registry: Registry;
  pollMs?: number;
}): Promise<InventorySource> {
  const { path, logger } = options;
  const parseOptions = { requireComplete: options.requireComplete ?? false };
  const metrics = createInventoryMetrics(options.registry);
  let inventory = await loadInventory(path, parseOptions);
  let stamp = await fileStamp(path);
  let lastBad = '';
  metrics.clients.set(inventory.size);
  logger.info({ path, clients: inventory.size, complete: inventory.complete }, 'client inventory loaded');

  const check = async (): Promise<void> => {
    const next = await fileStamp(path).catch(() => 'missing');
    if (next === stamp) return;
    stamp = next;
    try {
      const loaded = await loadInventory(path, parseOptions);
      if (loaded.hash === inventory.hash) return;
      inventory = loaded;
      lastBad = '';
      metrics.clients.set(inventory.size);
      metrics.reloads.inc();
      logger.info({ path, clients: inventory.size, complete: inventory.complete }, 'client inventory reloaded');
    } catch (error) {
      const message = errorMessage(error);
      if (message === lastBad) return;
      lastBad = message;
      metrics.reloadErrors.inc();
      logger.error({ path, err: message, clients: inventory.size }, 'client inventory not reloaded: keeping the last good one');
    }
  };

  let checking: Promise<void> | undefined;
  const timer = setInterval(() => {
    checking ??= check().finally(() => {
      checking = undefined;
    });
  }, options.pollMs ?? INVENTORY_POLL_MS);
  timer.unref();
  return { current: () => inventory, close: () => clearInterval(timer) };
}

async function fileStamp(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.size}:${info.mtimeMs}:${info.ino}`;
}

/** The inventory TOKENWATCH_INVENTORY names, watched; NO_INVENTORY when it is unset. */
export async function openInventory(
  settings: Pick<Settings, 'TOKENWATCH_INVENTORY' | 'TOKENWATCH_INVENTORY_REQUIRE'>,
  logger: Logger,
  registry: Registry,
): Promise<InventorySource> {
  if (!settings.TOKENWATCH_INVENTORY) {
    if (settings.TOKENWATCH_INVENTORY_REQUIRE) throw new ConfigError('invalid setting TOKENWATCH_INVENTORY_REQUIRE: it needs TOKENWATCH_INVENTORY (the file that lists every client)');
    return NO_INVENTORY;
  }
  return watchInventory({ path: settings.TOKENWATCH_INVENTORY, requireComplete: settings.TOKENWATCH_INVENTORY_REQUIRE, logger, registry });
}
