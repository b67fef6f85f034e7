-- Where the rollups got to ('rollups') and the window being rolled up ('rollups:pending'),
-- epoch ms of ingested_at, in detector_watermarks (0003) beside the detectors' own.
SELECT detector AS name, toUnixTimestamp64Milli(watermark) AS watermark
FROM detector_watermarks FINAL
WHERE detector IN ('rollups', 'rollups:pending')
