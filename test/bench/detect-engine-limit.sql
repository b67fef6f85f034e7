-- The memory limit the running engine enforces (MiB), read back from the engine itself so the
-- printed table states what the ticks ran under, not what the bench meant to pass.
SELECT intDiv(toUInt64(value), 1048576) AS limit_mb
FROM system.server_settings
WHERE name = 'max_server_memory_usage'
