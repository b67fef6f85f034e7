-- What Slack already has of these alerts (or digests), for one Slack sink (slack, or
-- slack_copy: critical alerts copied to the default channel): the root message, an unanswered post
-- intent, the state last shown, and the last thread reply. One row per id with any rows;
-- the *If aggregates return '' or 1970 when no row matched.
SELECT
    alert_id,
    argMaxIf(channel, recorded_at, message IN ('root', 'digest') AND step = 'sent') AS root_channel,
    argMaxIf(ts, recorded_at, message IN ('root', 'digest') AND step = 'sent') AS root_ts,
    argMaxIf(thread_ts, recorded_at, message IN ('root', 'digest') AND step = 'sent') AS root_thread_ts,
    argMaxIf(channel, recorded_at, message IN ('root', 'digest') AND step = 'intent') AS intent_channel,
    argMaxIf(thread_ts, recorded_at, message IN ('root', 'digest') AND step = 'intent') AS intent_thread_ts,
    maxIf(recorded_at, message IN ('root', 'digest') AND step = 'intent') AS intent_at,
    argMaxIf(severity, recorded_at, step = 'sent' AND message IN ('root', 'update')) AS notified_severity,
    argMaxIf(status, recorded_at, step = 'sent' AND message IN ('root', 'update')) AS notified_status,
    argMaxIf(event_count, recorded_at, step = 'sent' AND message IN ('root', 'update')) AS notified_event_count,
    maxIf(recorded_at, message = 'reply' AND step = 'sent') AS last_reply_at,
    maxIf(alert_version, message = 'reply' AND step = 'sent') AS reply_sent_version,
    maxIf(alert_version, message = 'reply' AND step = 'intent') AS reply_intent_version,
    maxIf(recorded_at, message = 'reply' AND step = 'intent') AS reply_intent_at
FROM notifications
WHERE sink = {sink:String} AND alert_id IN {ids:Array(String)}
GROUP BY alert_id
