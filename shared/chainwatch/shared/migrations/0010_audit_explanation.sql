-- The explanation of each explained decision (by default the flagged ones), stored beside
-- the decision: one row per txid, never updated, published on chainwatch.tx.explained only
-- once it is here.
--
-- Linked AND chained. decision_row_hash must equal the row_hash of the decision's own
-- audit_decision row (checked by the trigger on insert): an explanation names the exact
-- decision row it explains, so changing that decision later breaks both the decision chain
-- and this link. The link alone would not notice an explanation itself being edited or
-- removed, so explanations form a hash chain of their own, like audit_decision (migration
-- 0002): row_hash = sha256(prev_hash || canonical row), assigned under an advisory lock so
-- that explainer replicas still write one unbroken chain.

CREATE TABLE audit_explanation (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid text NOT NULL UNIQUE REFERENCES audit_decision (txid),
    decision_row_hash bytea NOT NULL,
    explained_at timestamptz NOT NULL,
    deciding_tier text NOT NULL CHECK (deciding_tier IN ('online', 'batch', 'heuristic')),
    attribution_method text CHECK (attribution_method IN ('treeshap', 'linear')),
    model_version text,
    narrative_path text NOT NULL CHECK (narrative_path IN ('claude', 'template')),
    fallback_reason text,
    narrative_latency_ms double precision NOT NULL CHECK (narrative_latency_ms >= 0),
    input_tokens integer CHECK (input_tokens >= 0),
    output_tokens integer CHECK (output_tokens >= 0),
    explanation jsonb NOT NULL,         -- the chainwatch.tx.explained message, as published
    stream_seq bigint,                  -- of the decision in CHAINWATCH_TX_SCORED
    chain_seq bigint NOT NULL UNIQUE,
    prev_hash bytea NOT NULL,
    row_hash bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_explanation_explained_at ON audit_explanation (explained_at DESC);

-- The canonical text of a row, as for decisions: every recorded field in a fixed order.
CREATE FUNCTION audit_explanation_canonical(e audit_explanation) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(concat_ws(E'\x1f',
        e.chain_seq::text,
        e.txid,
        encode(e.decision_row_hash, 'hex'),
        (extract(epoch FROM e.explained_at) * 1000000)::bigint::text,
        e.deciding_tier,
        coalesce(e.attribution_method, 'null'),
        coalesce(e.model_version, 'null'),
        e.narrative_path,
        coalesce(e.fallback_reason, 'null'),
        e.narrative_latency_ms::text,
        coalesce(e.input_tokens::text, 'null'),
        coalesce(e.output_tokens::text, 'null'),
        e.explanation::text,
        coalesce(e.stream_seq::text, 'null')
    ), 'UTF8')
$$;

CREATE FUNCTION audit_explanation_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    decision_hash bytea;
    last_seq bigint;
    last_hash bytea;
BEGIN
    SELECT row_hash INTO decision_hash FROM audit_decision WHERE txid = NEW.txid;
    IF decision_hash IS DISTINCT FROM NEW.decision_row_hash THEN
        RAISE EXCEPTION 'explanation of % does not link to its decision''s audit row', NEW.txid
            USING ERRCODE = 'foreign_key_violation';
    END IF;

    PERFORM pg_advisory_xact_lock(6584321908);
    SELECT chain_seq, row_hash INTO last_seq, last_hash
        FROM audit_explanation ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x00'::bytea);
    NEW.row_hash := sha256(NEW.prev_hash || audit_explanation_canonical(NEW));
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_explanation_chain BEFORE INSERT ON audit_explanation
    FOR EACH ROW EXECUTE FUNCTION audit_explanation_chain();

-- Append-only, with the function of migration 0002.
CREATE TRIGGER audit_explanation_append_only BEFORE UPDATE OR DELETE ON audit_explanation
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_explanation_no_truncate BEFORE TRUNCATE ON audit_explanation
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The role an explainer's login user is granted: append explanations and read them, read
-- the decisions they link to; nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_explainer_writer') THEN
        CREATE ROLE chainwatch_explainer_writer NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON audit_explanation FROM PUBLIC;
GRANT SELECT, INSERT ON audit_explanation TO chainwatch_explainer_writer;
GRANT SELECT ON audit_decision TO chainwatch_explainer_writer;
