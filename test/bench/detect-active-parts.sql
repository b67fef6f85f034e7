-- How many active parts token_requests has when the ticks start: the load's parts are merged
-- in the background while the ticks run, under the same engine limit.
SELECT count() AS parts
FROM system.parts
WHERE database = currentDatabase() AND table = 'token_requests' AND active
