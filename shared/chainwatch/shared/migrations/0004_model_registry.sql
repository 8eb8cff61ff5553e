-- The trainer's record: every model version it stored, and every promotion gate decision.
-- Both are append-only, like the audit trail: a version or a decision is never rewritten.

CREATE TABLE model_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    version text NOT NULL,
    framework text NOT NULL,
    feature_set_version text NOT NULL,
    threshold double precision NOT NULL CHECK (threshold BETWEEN 0 AND 1),
    trained_at timestamptz NOT NULL,
    run_id text NOT NULL,
    stores text[] NOT NULL,             -- URI of every store that holds the version
    metrics jsonb NOT NULL,             -- held-out figures, as in the card
    card jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

-- One row per model per training run: promoted, or refused with the gate's reasons.
CREATE TABLE training_run (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text NOT NULL,
    trigger text NOT NULL,              -- schedule, drift, manual
    model_name text NOT NULL,
    candidate_version text NOT NULL,
    champion_version text,              -- what served when the gate judged
    decision text NOT NULL CHECK (decision IN ('promoted', 'refused')),
    reasons jsonb NOT NULL,
    decided_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, model_name)
);

CREATE INDEX training_run_model_decided ON training_run (model_name, decided_at DESC);

CREATE TRIGGER model_version_append_only BEFORE UPDATE OR DELETE ON model_version
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER training_run_append_only BEFORE UPDATE OR DELETE ON training_run
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER model_version_no_truncate BEFORE TRUNCATE ON model_version
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER training_run_no_truncate BEFORE TRUNCATE ON training_run
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_trainer_writer') THEN
        CREATE ROLE chainwatch_trainer_writer NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON model_version, training_run FROM PUBLIC;
GRANT SELECT, INSERT ON model_version, training_run TO chainwatch_trainer_writer;
