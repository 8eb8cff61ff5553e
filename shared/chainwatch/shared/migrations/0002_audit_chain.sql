-- The audit trail becomes tamper-evident and append-only, and records the evidence of each
-- decision: the feature vector, the models that took part, exposure and the anomaly score.
--
-- Every row is chained to the one before it: row_hash = sha256(prev_hash || canonical row),
-- computed by a trigger under a transaction-scoped advisory lock, so that concurrent
-- writers (scorer replicas) still form one unbroken chain. A row changed or removed after
-- the fact no longer matches its hash or breaks the link to the next row; `chainwatch-audit
-- verify` names the first such row.

ALTER TABLE audit_decision
    ADD COLUMN decision_reason text NOT NULL DEFAULT '',
    ADD COLUMN features jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN feature_set_version text NOT NULL DEFAULT '',
    ADD COLUMN model_versions jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN exposure jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN anomaly_score double precision,
    ADD COLUMN chain_seq bigint,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN row_hash bytea;

-- The canonical text of a row: every recorded field, in a fixed order, jsonb in its
-- normalised form, timestamps as epoch microseconds. Used by the trigger and by verify.
CREATE FUNCTION audit_decision_canonical(d audit_decision) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws(E'\x1f',
        d.chain_seq::text,
        d.txid,
        (extract(epoch FROM d.decided_at) * 1000000)::bigint::text,
        d.risk_score::text,
        d.band,
        d.flagged::text,
        d.deciding_tier,
        d.decision_reason,
        d.tiers::text,
        d.rule_hits::text,
        d.value_out_sat::text,
        coalesce(d.fee_sat::text, 'null'),
        d.vsize::text,
        d.input_count::text,
        d.output_count::text,
        d.source,
        d.latency_ms::text,
        coalesce(d.stream_seq::text, 'null'),
        d.features::text,
        d.feature_set_version,
        d.model_versions::text,
        d.exposure::text,
        coalesce(d.anomaly_score::text, 'null')
    ), 'UTF8')
$$;

CREATE FUNCTION audit_decision_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(6584321907);
    SELECT chain_seq, row_hash INTO last_seq, last_hash
        FROM audit_decision ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x00'::bytea);
    NEW.row_hash := sha256(NEW.prev_hash || audit_decision_canonical(NEW));
    RETURN NEW;
END;
$$;

-- Chain the rows written before this migration, in the order they were written.
DO $$
DECLARE
    r record;
    seq bigint := 0;
    last_hash bytea := '\x00'::bytea;
    this audit_decision;
BEGIN
    FOR r IN SELECT id FROM audit_decision ORDER BY id LOOP
        seq := seq + 1;
        UPDATE audit_decision SET chain_seq = seq, prev_hash = last_hash WHERE id = r.id
            RETURNING * INTO this;
        last_hash := sha256(last_hash || audit_decision_canonical(this));
        UPDATE audit_decision SET row_hash = last_hash WHERE id = r.id;
    END LOOP;
END;
$$;

ALTER TABLE audit_decision
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN row_hash SET NOT NULL,
    ADD CONSTRAINT audit_decision_chain_seq_key UNIQUE (chain_seq);

CREATE TRIGGER audit_decision_chain BEFORE INSERT ON audit_decision
    FOR EACH ROW EXECUTE FUNCTION audit_decision_chain();

-- Append-only, for everyone who does not disable triggers (which takes the table's owner
-- or a superuser, and is exactly what verify exists to catch).
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_decision_append_only BEFORE UPDATE OR DELETE ON audit_decision
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_decision_no_truncate BEFORE TRUNCATE ON audit_decision
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The role a scorer's login user is granted: read and append, nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_audit_writer') THEN
        CREATE ROLE chainwatch_audit_writer NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON audit_decision FROM PUBLIC;
GRANT SELECT, INSERT ON audit_decision TO chainwatch_audit_writer;
