SELECT toUnixTimestamp64Milli(watermark) AS watermark
FROM detector_watermarks FINAL
WHERE detector = {detector:String}
