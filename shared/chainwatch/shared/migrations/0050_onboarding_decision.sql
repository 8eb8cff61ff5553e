-- The onboarding service's audit trail: one row per decision on an applicant, append-only
-- and hash-chained like audit_decision (0002), in a chain of its own.
--
-- row_hash = sha256(prev_hash || onboarding_decision_canonical(row)), set by a trigger under
-- a transaction-scoped advisory lock, so replicas writing at once still form one chain.
-- `chainwatch-onboarding verify-audit` checks these functions against digests pinned in its
-- code, then walks the chain and names the first row that breaks it.

CREATE TABLE onboarding_decision (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id uuid NOT NULL UNIQUE,
    application_id text,                  -- the client's reference, when it gave one
    decided_at timestamptz NOT NULL,
    channel text NOT NULL CHECK (channel IN ('nats', 'http')),
    outcome text NOT NULL CHECK (outcome IN ('accept', 'refuse')),
    risk_proba double precision NOT NULL CHECK (risk_proba BETWEEN 0 AND 1),
    threshold double precision NOT NULL CHECK (threshold BETWEEN 0 AND 1),
    model_name text NOT NULL,
    model_version text NOT NULL,
    applicant jsonb NOT NULL,             -- every attribute as submitted (validated)
    base_log_odds double precision NOT NULL,
    output_log_odds double precision NOT NULL,
    reasons jsonb NOT NULL,               -- per attribute: value and log-odds contribution
    narrative text NOT NULL,
    narrative_path text NOT NULL CHECK (narrative_path IN ('claude', 'template')),
    narrative_meta jsonb NOT NULL,        -- fallback reason, model asked, tokens, latency
    latency_ms double precision NOT NULL CHECK (latency_ms >= 0),
    chain_seq bigint NOT NULL UNIQUE,
    prev_hash bytea NOT NULL,
    row_hash bytea NOT NULL
);

CREATE INDEX onboarding_decision_decided_at ON onboarding_decision (decided_at DESC);
CREATE INDEX onboarding_decision_application ON onboarding_decision (application_id)
    WHERE application_id IS NOT NULL;

-- Every recorded field in a fixed order; jsonb in its normalised text, timestamps as epoch
-- microseconds, floats in PostgreSQL's shortest exact text. The function fixes
-- extra_float_digits (like 0005 for audit_decision), so no session setting changes a hash.
CREATE FUNCTION onboarding_decision_canonical(d onboarding_decision) RETURNS bytea
LANGUAGE sql STABLE
SET extra_float_digits = 1
AS $$
    SELECT convert_to(concat_ws(E'\x1f',
        d.chain_seq::text,
        d.decision_id::text,
        coalesce(d.application_id, 'null'),
        (extract(epoch FROM d.decided_at) * 1000000)::bigint::text,
        d.channel,
        d.outcome,
        d.risk_proba::text,
        d.threshold::text,
        d.model_name,
        d.model_version,
        d.applicant::text,
        d.base_log_odds::text,
        d.output_log_odds::text,
        d.reasons::text,
        d.narrative,
        d.narrative_path,
        d.narrative_meta::text,
        d.latency_ms::text
    ), 'UTF8')
$$;

CREATE FUNCTION onboarding_decision_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(6584321950);
    SELECT chain_seq, row_hash INTO last_seq, last_hash
        FROM onboarding_decision ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x00'::bytea);
    NEW.row_hash := sha256(NEW.prev_hash || onboarding_decision_canonical(NEW));
    RETURN NEW;
END;
$$;

CREATE TRIGGER onboarding_decision_chain BEFORE INSERT ON onboarding_decision
    FOR EACH ROW EXECUTE FUNCTION onboarding_decision_chain();

-- Append-only (audit_refuse_change comes from 0002).
CREATE TRIGGER onboarding_decision_append_only BEFORE UPDATE OR DELETE ON onboarding_decision
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER onboarding_decision_no_truncate BEFORE TRUNCATE ON onboarding_decision
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The role an onboarding service's login user is granted: read and append, nothing else.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_onboarding_writer') THEN
        CREATE ROLE chainwatch_onboarding_writer NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON onboarding_decision FROM PUBLIC;
GRANT SELECT, INSERT ON onboarding_decision TO chainwatch_onboarding_writer;
