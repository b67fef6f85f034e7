-- The window's successful uses of named credentials, per client and credential (what 0012's
-- rollups count as a credential: credential_id, else the assertion's kid; verified claims only).
SELECT tenant, client_id, any(client_name) AS client_name,
       if(credential_id != '', 'credential_id', 'assertion_kid') AS credential_source,
       if(credential_id != '', toString(credential_id), toString(assertion_kid)) AS credential,
       argMin(asn, time) AS first_asn, argMin(as_org, time) AS first_as_org, argMin(country, time) AS first_country,
       any(auth_method) AS auth_method,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       groupUniqArray(10)(asn) AS asns,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE ingested_at > {ingested_after:DateTime64(3, 'UTC')} AND ingested_at <= {ingested_until:DateTime64(3, 'UTC')}
  AND time >= {time_from:DateTime64(3, 'UTC')} AND time < {time_to:DateTime64(3, 'UTC')}
  AND outcome = 'success' AND NOT assertion_unverified
  AND (credential_id != '' OR assertion_kid != '')
GROUP BY tenant, client_id, credential_source, credential
