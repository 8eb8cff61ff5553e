-- Outputs that carry exposure to an illicit category, so that a transaction spending one
-- inherits it (indirect exposure). Shared by every scorer replica. This is working state,
-- not the audit trail: rows older than the scorer's retention are pruned.
CREATE TABLE exposure_taint (
    outpoint text PRIMARY KEY,          -- '<txid>:<vout>'
    taints jsonb NOT NULL,              -- [{category, hops, share, source_txid, value_sat}]
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX exposure_taint_created_at ON exposure_taint (created_at);

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_scorer_state') THEN
        CREATE ROLE chainwatch_scorer_state NOLOGIN;
    END IF;
END;
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON exposure_taint TO chainwatch_scorer_state;
