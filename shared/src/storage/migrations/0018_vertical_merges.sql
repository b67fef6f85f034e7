-- Merges of token_requests column by column (ClickHouse's vertical merge), whatever their size.
--
-- A horizontal merge reads and writes every column at once, each of its ~45 column streams
-- (LowCardinality keys and dictionaries, Nullable maps, array sizes) with its own read,
-- compression and write buffers: a merge of two parts of 15 marks (about 120,000 rows) held
-- 213-218 MB of the engine's memory, the largest single allocation of a demo day and more than
-- any query or insert (bench:memory, docs/memory.md). A vertical merge merges the sort key's
-- columns first, then each other column alone, so it holds about one column's buffers at a
-- time. ClickHouse picks it only from 131,072 rows (vertical_merge_algorithm_min_rows_to_activate)
-- and some bytes; these two settings make it the rule for every merge that can use it (a part
-- written wide, with at least 11 columns besides the key: all of token_requests').
ALTER TABLE token_requests MODIFY SETTING
    vertical_merge_algorithm_min_rows_to_activate = 1,
    vertical_merge_algorithm_min_bytes_to_activate = 0;
