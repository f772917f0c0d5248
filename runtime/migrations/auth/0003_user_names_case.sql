-- User names are unique regardless of case: "Admin" and "admin" would be two accounts that people (and the audit
-- log's readers) take for one. Names keep the spelling they were created with; lookups stay exact.
DO $$
DECLARE clash text;
BEGIN
  SELECT string_agg(names, '; ') INTO clash FROM (
    SELECT string_agg(name, ', ' ORDER BY name) AS names FROM auth.users GROUP BY lower(name) HAVING count(*) > 1
  ) c;
  IF clash IS NOT NULL THEN
    RAISE EXCEPTION 'user names that differ only in case: %; disable all but one of each and delete the others (DELETE FROM auth.users WHERE name = ...) before upgrading', clash;
  END IF;
END $$;
CREATE UNIQUE INDEX users_name_ci ON auth.users (lower(name));
