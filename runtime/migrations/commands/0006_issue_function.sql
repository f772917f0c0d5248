-- Issuing a command in one round trip: what command_store::issue did in seven statements (lock, idempotency,
-- lease, single flight, insert, transition, supersession) is one function, called in autocommit. The statements
-- and their order are the same; only the network round trips are gone (bench/commands-report.md).

-- One answer row: what happened (`role`), the lease holder for `controlled`, and a command in the column order of
-- command_store.cpp's `columns`.
CREATE FUNCTION commands.issue_row(p_role text, p_holder text, c commands.commands)
RETURNS TABLE (role text, holder text, id text, drone_id text, drone_group text, kind text, params text, state text,
               attempt integer, progress double precision, reason text, issued_by text, created_ms double precision,
               updated_ms double precision, expires_ms double precision)
LANGUAGE sql STABLE AS $$
  SELECT p_role, p_holder, (c).id::text, (c).drone_id, (c).drone_group, (c).kind, (c).params::text, (c).state,
         (c).attempt, coalesce((c).progress, -1), (c).reason, (c).issued_by,
         extract(epoch from (c).created_at) * 1000, extract(epoch from (c).updated_at) * 1000,
         extract(epoch from (c).expires_at) * 1000
$$;

-- Rows: `issued` (the new command) then `superseded` (each movement command it cancelled); or one of `repeated`,
-- `key_reused`, `in_flight` (the earlier command); or `controlled` (another user holds the lease: `holder`).
CREATE FUNCTION commands.issue(p_drone text, p_group text, p_kind text, p_params jsonb, p_issued_by text,
                               p_key text, p_ttl_ms bigint, p_deadline_ms bigint, p_lease_ttl_ms bigint,
                               p_system boolean, p_safety boolean, p_movement text[])
RETURNS TABLE (role text, holder text, id text, drone_id text, drone_group text, kind text, params text, state text,
               attempt integer, progress double precision, reason text, issued_by text, created_ms double precision,
               updated_ms double precision, expires_ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
  found_cmd commands.commands;
  new_cmd   commands.commands;
  lease_holder text;
  why text;
BEGIN
  -- Everything about one drone's commands happens one transaction at a time (single flight, supersession).
  PERFORM pg_advisory_xact_lock(hashtext('dccs-commands'), hashtext(p_drone));
  IF p_key <> '' THEN
    -- A key older than 24 h is free again.
    UPDATE commands.commands c SET idempotency_key = NULL
     WHERE c.issued_by = p_issued_by AND c.idempotency_key = p_key AND c.created_at < now() - interval '24 hours';
    SELECT * INTO found_cmd FROM commands.commands c WHERE c.issued_by = p_issued_by AND c.idempotency_key = p_key;
    IF FOUND THEN
      RETURN QUERY SELECT * FROM commands.issue_row(
        CASE WHEN found_cmd.drone_id = p_drone AND found_cmd.kind = p_kind AND found_cmd.params = p_params
             THEN 'repeated' ELSE 'key_reused' END, NULL, found_cmd);
      RETURN;
    END IF;
  END IF;
  -- The control lease: while one user holds it, only they command the drone; each of their commands renews it.
  IF NOT p_system THEN
    SELECT l.holder INTO lease_holder FROM commands.control_leases l
     WHERE l.drone_id = p_drone AND l.expires_at > now();
    IF FOUND THEN
      IF lease_holder <> p_issued_by THEN
        RETURN QUERY SELECT * FROM commands.issue_row('controlled', lease_holder, NULL::commands.commands);
        RETURN;
      END IF;
      UPDATE commands.control_leases l
         SET expires_at = greatest(l.expires_at, now() + p_lease_ttl_ms * interval '1 millisecond')
       WHERE l.drone_id = p_drone;
    END IF;
  END IF;
  IF NOT p_safety THEN
    SELECT * INTO found_cmd FROM commands.commands c
     WHERE c.drone_id = p_drone AND c.kind = p_kind AND c.state IN ('queued', 'sent', 'accepted', 'in_progress')
     ORDER BY c.created_at LIMIT 1;
    IF FOUND THEN
      RETURN QUERY SELECT * FROM commands.issue_row('in_flight', NULL, found_cmd);
      RETURN;
    END IF;
  END IF;
  INSERT INTO commands.commands (id, drone_id, drone_group, kind, params, state, issued_by, idempotency_key,
                                 expires_at, deadline)
  VALUES (gen_random_uuid(), p_drone, p_group, p_kind, p_params, 'queued', p_issued_by, nullif(p_key, ''),
          now() + p_ttl_ms * interval '1 millisecond', now() + p_deadline_ms * interval '1 millisecond')
  RETURNING * INTO new_cmd;
  INSERT INTO commands.transitions (command_id, state, cause) VALUES (new_cmd.id, 'queued', 'issued by ' || p_issued_by);
  RETURN QUERY SELECT * FROM commands.issue_row('issued', NULL, new_cmd);
  IF p_safety THEN
    -- Safety first: a land or rtl ends every other movement command in flight (and an earlier land or rtl).
    why := 'superseded by ' || p_kind || ' ' || new_cmd.id::text;
    FOR found_cmd IN
      UPDATE commands.commands c SET state = 'cancelled', reason = why, updated_at = now(), finished_at = now()
       WHERE c.drone_id = p_drone AND c.id <> new_cmd.id AND c.kind = ANY (p_movement)
         AND c.state IN ('queued', 'sent', 'accepted', 'in_progress')
      RETURNING c.*
    LOOP
      INSERT INTO commands.transitions (command_id, state, attempt, cause)
      VALUES (found_cmd.id, 'cancelled', found_cmd.attempt, why);
      RETURN QUERY SELECT * FROM commands.issue_row('superseded', NULL, found_cmd);
    END LOOP;
  END IF;
END $$;
