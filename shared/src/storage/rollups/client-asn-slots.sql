-- client_asn_slots (0013) from the requests that arrived in one window; the SELECT is
-- client_asn_slots_mv's as it was. Why the SETTINGS: refresh.ts.
INSERT INTO client_asn_slots SETTINGS insert_deduplication_token = {dedup_token:String}, min_insert_block_size_rows = 1000000000, min_insert_block_size_bytes = 0
SELECT tenant, client_id, toDate(time) AS day, if(credential_id != '', credential_id, assertion_kid) AS credential, asn,
       groupUniqArray(toUInt16(intDiv(toHour(time) * 60 + toMinute(time), 5))) AS slots,
       anyLast(as_org) AS as_org, anyLast(country) AS country,
       min(time) AS first_seen, max(time) AS last_seen, count() AS requests
FROM token_requests
WHERE outcome = 'success' AND asn != 0 AND ingested_at > {after:DateTime64(3, 'UTC')} AND ingested_at <= {until:DateTime64(3, 'UTC')}
GROUP BY tenant, client_id, day, credential, asn
