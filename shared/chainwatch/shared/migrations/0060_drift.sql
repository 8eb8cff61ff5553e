-- The drift service's record: the references it compared with, every check it ran, every
-- drift event with its evidence, and every step of retraining on drift. All append-only,
-- like the audit trail: a row is never rewritten; a later row supersedes an earlier one.

-- A reference: a champion's training data (its card) or the first decisions (bootstrap).
CREATE TABLE drift_reference (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference_id text NOT NULL UNIQUE,      -- card:<model>:<version> or bootstrap:<seqs>
    source text NOT NULL CHECK (source IN ('card', 'bootstrap')),
    model_name text,
    model_version text,
    row_count integer NOT NULL CHECK (row_count >= 0),
    description text NOT NULL,
    first_seq bigint,                       -- a bootstrap's decisions (tx.scored sequences)
    last_seq bigint,
    first_at timestamptz,
    last_at timestamptz,
    summary jsonb NOT NULL,                 -- per feature: kind, edges, proportions, missing
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every check of a window, drifted or not: the dashboard's charts over time.
CREATE TABLE drift_check (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('feature', 'prediction', 'performance', 'anomaly')),
    tier text,                              -- performance: online or batch
    checked_at timestamptz NOT NULL,
    reference_id text,                      -- null for ADWIN (the stream's own past)
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    window_size integer NOT NULL,
    drifted boolean NOT NULL,
    headline double precision,              -- largest PSI (feature, prediction) or ADWIN mean
    drifted_subjects text[] NOT NULL,       -- what moved, strongest first
    figures jsonb NOT NULL                  -- subject -> {psi, statistic, p_adjusted, ...}
);

CREATE INDEX drift_check_kind_time ON drift_check (kind, checked_at DESC);

-- A drift event: a check that began (or renewed) a drift, with the evidence as published
-- on chainwatch.drift.detected.
CREATE TABLE drift_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('feature', 'prediction', 'performance', 'anomaly')),
    tier text,
    detected_at timestamptz NOT NULL,
    summary text NOT NULL,
    subjects text[] NOT NULL,               -- what moved, strongest first
    reference_id text,
    first_seq bigint NOT NULL,
    last_seq bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    window_size integer NOT NULL,
    retrain boolean NOT NULL,               -- crosses the retraining policy
    evidence jsonb NOT NULL,                -- the DriftDetected message
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX drift_event_detected ON drift_event (detected_at DESC);

-- Retraining on drift, one row per step: requested (a RetrainRequest was published),
-- suppressed (the policy was crossed but a run was outstanding or in cool-down), then one
-- outcome: promoted, refused (the promotion gate said no) or timed_out; and serving (the
-- first decision served by the promoted version). Rows of one request share request_id.
CREATE TABLE drift_retrain (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id text,                        -- null for a suppressed request
    event_id text,                          -- the drift event that asked
    step text NOT NULL CHECK (
        step IN ('requested', 'suppressed', 'promoted', 'refused', 'timed_out', 'serving')
    ),
    model_name text,
    model_version text,                     -- promoted / refused candidate / serving version
    run_id text,                            -- the trainer's run, when known
    detail text NOT NULL,
    at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, step)
);

CREATE INDEX drift_retrain_at ON drift_retrain (at DESC);

CREATE TRIGGER drift_reference_append_only BEFORE UPDATE OR DELETE ON drift_reference
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_reference_no_truncate BEFORE TRUNCATE ON drift_reference
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_check_append_only BEFORE UPDATE OR DELETE ON drift_check
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_check_no_truncate BEFORE TRUNCATE ON drift_check
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_event_append_only BEFORE UPDATE OR DELETE ON drift_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_event_no_truncate BEFORE TRUNCATE ON drift_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_retrain_append_only BEFORE UPDATE OR DELETE ON drift_retrain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER drift_retrain_no_truncate BEFORE TRUNCATE ON drift_retrain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_drift_writer') THEN
        CREATE ROLE chainwatch_drift_writer NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON drift_reference, drift_check, drift_event, drift_retrain FROM PUBLIC;
GRANT SELECT, INSERT ON drift_reference, drift_check, drift_event, drift_retrain
    TO chainwatch_drift_writer;
GRANT SELECT ON training_run, model_version, audit_decision TO chainwatch_drift_writer;
