SELECT watch_id, tenant, client_id, credential_id, since, until, reason, added_by, added_at,
       removed, removed_by, removed_at, updated_at
FROM watch_list FINAL
WHERE watch_id = {watch_id:String}
