-- Canonical TokenRequest JSON lines in, token_requests rows out (via token_requests_input_mv).
-- The token makes a retried insert of the same batch a no-op in token_requests too, which is
-- why deduplication must follow the block into the materialized view.
INSERT INTO token_requests_input
SETTINGS
    insert_deduplication_token = {dedup_token:String},
    deduplicate_blocks_in_dependent_materialized_views = 1,
    input_format_skip_unknown_fields = 1,
    input_format_json_read_numbers_as_strings = 1,
    input_format_json_read_arrays_as_strings = 1
FORMAT JSONEachRow
