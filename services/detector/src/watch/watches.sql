-- Every watch, newest version of each (removed ones too: `watch list` shows who removed them).
SELECT watch_id, tenant, client_id, credential_id, since, until, reason, added_by, added_at,
       removed, removed_by, removed_at, updated_at
FROM watch_list FINAL
ORDER BY added_at, watch_id
