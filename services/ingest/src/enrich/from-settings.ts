import type { Settings } from '@tokenwatch/shared/config/settings';
import { ConfigError, errorMessage } from '@tokenwatch/shared/errors';
import type { Logger } from '@tokenwatch/shared/log';
import { defaultDatabasePaths, openEnricher, type Enricher } from './enricher.js';

/** Opens the enricher the settings name; a bad database path stops start-up with one line. */
export async function openEnricherFromSettings(settings: Settings, logger: Logger): Promise<Enricher> {
  const asn = settings.TOKENWATCH_GEOIP_ASN_DB?.split(',').map((path) => path.trim()).filter(Boolean);
  try {
    const enricher = await openEnricher({
      ...(settings.TOKENWATCH_GEOIP_COUNTRY_DB ? { countryDbPath: settings.TOKENWATCH_GEOIP_COUNTRY_DB } : {}),
      ...(asn && asn.length > 0 ? { asnDbPath: asn } : {}),
    });
    logger.info({ databases: enricher.databases }, 'IP enrichment databases loaded');
    return enricher;
  } catch (error) {
    // The enricher's errors name the file; say which setting points at it.
    const countryPath = settings.TOKENWATCH_GEOIP_COUNTRY_DB ?? defaultDatabasePaths().country;
    const setting = errorMessage(error).includes(countryPath) ? 'TOKENWATCH_GEOIP_COUNTRY_DB' : 'TOKENWATCH_GEOIP_ASN_DB';
    throw new ConfigError(`invalid setting ${setting}: ${errorMessage(error)}`);
  }
}
