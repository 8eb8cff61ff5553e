-- The dashboard's tables: who may sign in, their sessions, the state of each alert, and the
-- analysts' verdicts.
--
-- What is a record stays append-only like the audit trail (verdicts, case events, user
-- events): a row is never changed or removed. What is working state may change: a user's
-- password or role, a session, an alert's current status and assignee, the outbox.

-- People who may sign in. A password is stored only as a salted scrypt hash.
CREATE TABLE dashboard_user (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name text NOT NULL DEFAULT '',
    role text NOT NULL CHECK (role IN ('analyst', 'supervisor', 'admin')),
    password_hash text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);

-- Every change to a user, by whom: created, role changed, deactivated, password set.
CREATE TABLE dashboard_user_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,
    action text NOT NULL,
    actor text NOT NULL,            -- a username, or 'cli' for the command line
    detail jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT now()
);

-- Signed-in sessions. The cookie holds a random token; the table holds only its HMAC under
-- the session secret, so neither a read of this table nor the secret alone opens a session.
CREATE TABLE dashboard_session (
    key bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES dashboard_user (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    client_ip text NOT NULL DEFAULT ''
);

CREATE INDEX dashboard_session_expires ON dashboard_session (expires_at);

-- Failed sign-ins, kept for the throttle's window; pruned as they age out.
CREATE TABLE dashboard_login_failure (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,
    client_ip text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dashboard_login_failure_user ON dashboard_login_failure (username, failed_at);
CREATE INDEX dashboard_login_failure_ip ON dashboard_login_failure (client_ip, failed_at);

-- The current state of an alert (a flagged decision). No row means open and unassigned.
CREATE TABLE alert_case (
    txid text PRIMARY KEY REFERENCES audit_decision (txid),
    status text NOT NULL CHECK (status IN ('open', 'in_review', 'escalated', 'closed')),
    disposition text CHECK (disposition IN ('true_positive', 'false_positive')),
    assignee text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (disposition IS NOT NULL))
);

CREATE INDEX alert_case_status ON alert_case (status);
CREATE INDEX alert_case_assignee ON alert_case (assignee) WHERE assignee IS NOT NULL;

-- What happened to a case, in order: assignments and verdicts, by whom and when.
CREATE TABLE case_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid text NOT NULL REFERENCES audit_decision (txid),
    action text NOT NULL,
    actor text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX case_event_txid ON case_event (txid, id);

-- Every verdict an analyst or supervisor recorded. verdict_id is chosen when the form is
-- drawn, so a form sent twice records one verdict.
CREATE TABLE review_verdict (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    verdict_id uuid NOT NULL UNIQUE,
    txid text NOT NULL REFERENCES audit_decision (txid),
    verdict text NOT NULL CHECK (verdict IN ('true_positive', 'false_positive', 'escalate')),
    reason_code text NOT NULL,
    note text NOT NULL DEFAULT '',
    analyst text NOT NULL,
    analyst_role text NOT NULL,
    decided_at timestamptz NOT NULL,
    status_before text NOT NULL,
    status_after text NOT NULL
);

CREATE INDEX review_verdict_txid ON review_verdict (txid, id);
CREATE INDEX review_verdict_analyst ON review_verdict (analyst, decided_at DESC);

-- Verdicts waiting to be published on chainwatch.review.verdict. Written in the same
-- transaction as the verdict, so a verdict is never recorded without being sent, however
-- long NATS is away; the dashboard's drainer publishes each one (Nats-Msg-Id = verdict_id)
-- and stamps published_at.
CREATE TABLE verdict_outbox (
    verdict_id uuid PRIMARY KEY REFERENCES review_verdict (verdict_id),
    subject text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text NOT NULL DEFAULT '',
    published_at timestamptz
);

CREATE INDEX verdict_outbox_pending ON verdict_outbox (next_attempt_at) WHERE published_at IS NULL;

-- The transaction behind a flagged decision, copied from the raw stream (which keeps a
-- week) so that a case and its report stay complete for as long as the audit trail.
CREATE TABLE case_transaction (
    txid text PRIMARY KEY REFERENCES audit_decision (txid),
    tx jsonb NOT NULL,
    addresses text[] NOT NULL,
    archived_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX case_transaction_addresses ON case_transaction USING gin (addresses);

-- The alert queue filters flagged decisions by rule and category.
CREATE INDEX audit_decision_flagged_rules ON audit_decision
    USING gin (rule_hits jsonb_path_ops) WHERE flagged;

CREATE TRIGGER review_verdict_append_only BEFORE UPDATE OR DELETE ON review_verdict
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER review_verdict_no_truncate BEFORE TRUNCATE ON review_verdict
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER dashboard_user_event_append_only BEFORE UPDATE OR DELETE ON dashboard_user_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER dashboard_user_event_no_truncate BEFORE TRUNCATE ON dashboard_user_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The role a dashboard's login user is granted: read the audit trail, append to the
-- records, change only the working state.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chainwatch_dashboard') THEN
        CREATE ROLE chainwatch_dashboard NOLOGIN;
    END IF;
END;
$$;
REVOKE ALL ON dashboard_user, dashboard_user_event, dashboard_session, dashboard_login_failure,
    alert_case, case_event, review_verdict, verdict_outbox, case_transaction FROM PUBLIC;
GRANT SELECT ON audit_decision TO chainwatch_dashboard;
GRANT SELECT, INSERT ON dashboard_user_event, case_event, review_verdict, case_transaction
    TO chainwatch_dashboard;
GRANT SELECT, INSERT, UPDATE, DELETE ON dashboard_user, dashboard_session,
    dashboard_login_failure, alert_case, verdict_outbox TO chainwatch_dashboard;
