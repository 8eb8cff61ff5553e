-- The canonical text of an audit row must not depend on the session that computes it:
-- float8 to text follows extra_float_digits, so the function now fixes it (1, the
-- server default under which every existing row was hashed: shortest exact digits). It is
-- STABLE, not IMMUTABLE, since it reads a setting. The body is unchanged, so every stored
-- hash still verifies; `chainwatch-audit verify` checks this definition against a digest
-- pinned in its code, so a replaced function is reported rather than trusted.
CREATE OR REPLACE FUNCTION audit_decision_canonical(d audit_decision) RETURNS bytea
LANGUAGE sql STABLE
SET extra_float_digits = 1
AS $$
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
