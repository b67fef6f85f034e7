-- Which of these event ids are stored already; the bloom-filter index on event_id prunes granules.
SELECT DISTINCT event_id
FROM token_requests
WHERE event_id IN {ids:Array(String)}
