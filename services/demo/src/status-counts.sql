-- The demo's status line, every 2 s: requests stored and the newest event time among them (how
-- far the history back-fill has got). Without FINAL: a redelivered batch not merged yet counts
-- twice for a moment, where FINAL would re-read the whole table every 2 s while the back-fill
-- needs the CPU.
SELECT count() AS stored, toUnixTimestamp64Milli(max(time)) AS newest_ms
FROM token_requests
