-- Where the requests of one anomalous bucket came from: the evidence an on-call engineer reads first.
SELECT replaceRegexpOne(toString(source_ip), '^::ffff:', '') AS ip, any(asn) AS asn, any(as_org) AS as_org,
       any(country) AS country, any(hosting_provider) AS hosting_provider, uniqExact(event_id) AS requests,
       groupArray(20)(event_id) AS sample_event_ids
FROM token_requests
WHERE tenant = {tenant:String} AND client_id = {client_id:String}
  AND time >= {from:DateTime64(3, 'UTC')} AND time < {to:DateTime64(3, 'UTC')}
  AND outcome = {outcome:String}
  AND (outcome = 'success' OR error_code IN {failure_codes:Array(String)})
GROUP BY ip
ORDER BY requests DESC
LIMIT 5
