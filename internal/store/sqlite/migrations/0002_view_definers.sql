-- 0002: who defined a view and what its definition reads.
--
-- A view the planner recorded from an authorized CREATE or ALTER VIEW through
-- an engine is read with its definer's rights, for the objects it reads
-- only. definer is '' for tables and for views recorded any other way.
-- definer_groups is JSON ["g", …] and view_reads JSON
-- [{"database":…,"table":…,"uri":…}, …], NULL when empty.
ALTER TABLE tables ADD COLUMN definer TEXT NOT NULL DEFAULT '';
ALTER TABLE tables ADD COLUMN definer_groups TEXT;
ALTER TABLE tables ADD COLUMN view_reads TEXT;
