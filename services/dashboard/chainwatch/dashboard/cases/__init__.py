"""Alerts and cases: the queue of flagged decisions, their state, verdicts and evidence.

An alert is a flagged decision of the audit trail. Its case is what analysts did about
it: ``alert_case`` holds the current status and assignee, ``case_event`` and
``review_verdict`` the history. The life of a case::

    open ──assign──► in_review ──true/false positive──► closed
      │                  │
      └──────────────────┴──escalate──► escalated ──(supervisor) true/false positive──► closed

A supervisor may also record a new verdict on a closed case; the trail keeps both.
"""
