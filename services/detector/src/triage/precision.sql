-- Precision per finding from on-call's verdicts (`tokenwatch report`): of the alerts raised
-- since a time that have a verdict, the share judged true positives. needs_tuning counts
-- against precision (the alert was not worth a page as it is). NULL precision: no verdict yet.
SELECT
    finding,
    count() AS alerts,
    countIf(verdict = 'true_positive') AS true_positive,
    countIf(verdict = 'benign') AS benign,
    countIf(verdict = 'needs_tuning') AS needs_tuning,
    countIf(verdict = '') AS without_verdict,
    if(alerts = without_verdict, NULL, round(true_positive / (alerts - without_verdict), 4)) AS precision
FROM alerts FINAL
WHERE created_at >= {since:DateTime64(3, 'UTC')}
GROUP BY finding
ORDER BY finding
