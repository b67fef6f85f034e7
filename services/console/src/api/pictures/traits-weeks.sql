-- A client's scopes and audiences, or its software (user-agent families), with successful
-- requests per week of [from, to) (from is a Monday), from client_traits (0011): what new_scope
-- and new_user_agent compare with. First and last seen over the whole retention. The marked
-- values first, then the most recent. At most 41 rows: the reader shows 40 and says it cut.
SELECT toString(kind) AS kind, toString(value) AS value, anyLast(example) AS example,
       toUnixTimestamp64Milli(min(first_seen)) AS first_ms, toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
       sumIf(client_traits.requests, week >= {from:Date}) AS requests,
       sumMapIf([toUInt32(intDiv(dateDiff('day', {from:Date}, week), 7))], [toUInt64(client_traits.requests)], week >= {from:Date}) AS per_week,
       has({marked:Array(String)}, toString(value)) AS marked
FROM client_traits
WHERE tenant = {tenant:String} AND client_id = {client:String} AND kind IN {kinds:Array(String)} AND week < {to:Date}
GROUP BY kind, value
HAVING max(week) >= {from:Date}
ORDER BY marked DESC, last_ms DESC, requests DESC
LIMIT 41
