-- One burst's requests per ASN, read by the primary key (tenant, client_id, time): where they
-- came from, with which credentials, how many. {credential} '' means the whole client.
SELECT asn, any(as_org) AS as_org, any(country) AS country,
       toUnixTimestamp64Milli(min(time)) AS first_ms, toUnixTimestamp64Milli(max(time)) AS last_ms,
       uniqExact(event_id) AS requests,
       groupUniqArray(5)(replaceRegexpOne(toString(source_ip), '^::ffff:', '')) AS ips,
       groupUniqArray(10)(if(credential_id != '', credential_id, assertion_kid)) AS credentials,
       groupArray(20)(event_id) AS event_ids
FROM token_requests
WHERE tenant = {tenant:String} AND client_id = {client_id:String}
  AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
  AND outcome = 'success' AND asn != 0
  AND ({credential:String} = '' OR if(credential_id != '', credential_id, assertion_kid) = {credential:String})
GROUP BY asn
ORDER BY requests DESC
LIMIT 20
