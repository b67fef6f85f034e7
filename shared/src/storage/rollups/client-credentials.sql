-- client_credentials (0012) from the requests that arrived in one window; the SELECT is
-- client_credentials_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO client_credentials SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       anyLast(auth_method) AS auth_method, min(time) AS first_seen, max(time) AS last_seen, count() AS requests,
       groupUniqArrayState(32)(asn) AS asns, groupUniqArrayStateIf(16)(toString(country), country != '') AS countries
FROM token_requests
WHERE outcome = 'success' AND NOT assertion_unverified AND (credential_id != '' OR assertion_kid != '')
  AND ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, credential_source, credential
