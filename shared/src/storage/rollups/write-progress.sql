INSERT INTO detector_watermarks (detector, watermark, updated_at)
VALUES ({name:String}, fromUnixTimestamp64Milli({watermark:Int64}, 'UTC'), now64(3))
