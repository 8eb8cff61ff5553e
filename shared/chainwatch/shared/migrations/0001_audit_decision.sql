-- The audit trail of risk decisions: one row per transaction, never updated.
CREATE TABLE audit_decision (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid text NOT NULL UNIQUE CHECK (txid ~ '^[0-9a-f]{64}$'),
    decided_at timestamptz NOT NULL,
    risk_score double precision NOT NULL CHECK (risk_score BETWEEN 0 AND 1),
    band text NOT NULL CHECK (band IN ('Low', 'Medium', 'High', 'Severe')),
    flagged boolean NOT NULL,
    deciding_tier text NOT NULL CHECK (deciding_tier IN ('online', 'batch', 'heuristic')),
    tiers jsonb NOT NULL,
    rule_hits jsonb NOT NULL,
    value_out_sat bigint NOT NULL CHECK (value_out_sat >= 0),
    fee_sat bigint CHECK (fee_sat >= 0),
    vsize integer NOT NULL,
    input_count integer NOT NULL,
    output_count integer NOT NULL,
    source text NOT NULL,
    latency_ms double precision NOT NULL,
    stream_seq bigint,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_decision_decided_at ON audit_decision (decided_at DESC);
CREATE INDEX audit_decision_flagged ON audit_decision (decided_at DESC) WHERE flagged;
