-- credential_days (0012) from the requests that arrived in one window; the SELECT is
-- credential_days_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO credential_days SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id, toDate(time) AS day,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       asn, country, anyLast(as_org) AS as_org, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips
FROM token_requests
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
  AND ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, day, credential_source, credential, asn, country
