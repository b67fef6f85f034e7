-- The networks (ASNs) these clients minted from up to {to}, with any credential or none, and
-- when each was first used, from the client_locations rollup (retained
-- TOKENWATCH_RETENTION_DAYS): one row per client and ASN, so the read is bounded by the
-- networks a client uses, not by its requests.
SELECT tenant, client_id, asn, toUnixTimestamp64Milli(min(first_seen)) AS first_ms
FROM client_locations
WHERE tenant IN {tenants:Array(String)} AND client_id IN {clients:Array(String)}
  AND day <= {to:Date}
  AND outcome = 'success' AND asn > 0
GROUP BY tenant, client_id, asn
