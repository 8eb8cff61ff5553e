"""The NATS users of chainwatch, one per service, each allowed only its own subjects.

Run from the repository root to write ``deploy/nats/accounts.conf``, which every NATS
configuration here includes::

    .venv/bin/python deploy/nats/accounts.py > deploy/nats/accounts.conf

A test fails when the committed file differs from what this prints, so subjects are named
once, in ``chainwatch.shared``, and the permissions follow them.

What a service may do is stated as a ``Role``: the subjects it publishes, the streams it
declares at start-up, the streams it reads by sequence or through short-lived consumers,
the durable consumers it pulls from, and whether it reads or moves the model pointers.
``publish_allow`` and ``subscribe_allow`` turn that into the subjects the server checks,
JetStream's API included:

* a JetStream publish is a request: the subject itself, and the reply on the user's inbox;
* declaring stream S: ``$JS.API.STREAM.{INFO,CREATE,UPDATE}.S`` (never DELETE or PURGE);
* pulling from durable D of S: ``$JS.API.CONSUMER.{INFO,CREATE,DURABLE.CREATE,MSG.NEXT}.S.D``
  and the acks ``$JS.ACK.S.D.>``;
* reading S by sequence or with an ephemeral consumer: ``$JS.API.STREAM.MSG.GET.S``,
  ``$JS.API.DIRECT.GET.S``, and creating, inspecting and pulling from unnamed consumers;
* the model pointers (KV bucket ``chainwatch_models``, stream ``KV_chainwatch_models``):
  reading is direct get and watch (an ordered consumer with flow control); moving a pointer
  is a publish on ``$KV.chainwatch_models.<model>``, for the models the service owns only.

Replies come back on ``_INBOX.<user>.>`` only: the services set that inbox prefix from their
user name (``NatsSettings.inbox``), so no service can read another's replies.

Passwords are not here: each user's is the server's environment variable
``CHAINWATCH_NATS_<USER>_PASSWORD`` (compose and Kubernetes fill them from secrets), and the
server refuses to start while one is missing. The ``admin`` user has the whole account, for
operators and the ``nats`` command-line tool; no service runs as it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chainwatch.shared import subjects
from chainwatch.shared.drift import DRIFT_DETECTED, DRIFT_STREAM
from chainwatch.shared.fee_events import FEES_ESTIMATE, FEES_STREAM
from chainwatch.shared.lightning import LIGHTNING_HEALTH, LIGHTNING_STREAM
from chainwatch.shared.onboarding import ONBOARDING_SCORE
from chainwatch.shared.registry import (
    MODEL_CHALLENGER,
    MODEL_CHAMPION,
    MODEL_ONLINE,
    MODELS_KV_BUCKET,
)
from chainwatch.shared.retraining import RETRAIN_REQUESTED, RETRAIN_STREAM
from chainwatch.shared.subjects import StreamSpec
from chainwatch.shared.verdicts import REVIEW_STREAM, REVIEW_VERDICT

ACCOUNT = "CHAINWATCH"
ADMIN_USER = "admin"
KV_STREAM = f"KV_{MODELS_KV_BUCKET}"
API = "$JS.API"

# Named by their services (chainwatch.fees.model, chainwatch.onboarding.settings), which
# import machine-learning libraries this script does without; a test checks they agree.
MODEL_FEES = "fees-lgbm"
MODEL_ONBOARDING = "onboarding-gbm"


@dataclass(frozen=True)
class Consumer:
    """A durable pull consumer: the stream and the durable name the service's settings use."""

    stream: StreamSpec
    durable: str


@dataclass(frozen=True)
class Role:
    """What one service does on the bus; everything else is refused to its user.

    ``reads``: streams read by sequence or through short-lived pull consumers.
    ``follows``: streams followed with ordered push consumers (flow control included).
    ``answers``: subjects served as request/reply (a queue subscription, replies allowed).
    """

    user: str
    publishes: tuple[str, ...] = ()
    subscribes: tuple[str, ...] = ()
    declares: tuple[StreamSpec, ...] = ()
    reads: tuple[StreamSpec, ...] = ()
    follows: tuple[StreamSpec, ...] = ()
    consumes: tuple[Consumer, ...] = ()
    answers: tuple[str, ...] = ()
    reads_models: bool = False
    moves_models: tuple[str, ...] = ()

    @property
    def password_env(self) -> str:
        return password_env(self.user)

    @property
    def inbox(self) -> str:
        return f"_INBOX.{self.user}"


def password_env(user: str) -> str:
    """The server's environment variable that holds ``user``'s password."""
    return f"CHAINWATCH_NATS_{user.upper()}_PASSWORD"


def _deadletter(stage: str) -> str:
    return subjects.deadletter_subject(stage)


MEMPOOL_EVENTS = (
    subjects.TX_CONFIRMED,
    subjects.TX_REPLACED,
    subjects.TX_EVICTED,
    subjects.BLOCK_CONNECTED,
    subjects.MEMPOOL_SNAPSHOT,
)

ROLES: tuple[Role, ...] = (
    Role(
        user="ingest",
        publishes=(subjects.TX_RAW, *MEMPOOL_EVENTS, _deadletter("ingest")),
        declares=(*subjects.ALL_STREAMS, subjects.MEMPOOL_EVENTS_STREAM),
        # At start-up it remembers the txids and blocks already published.
        reads=(subjects.TX_RAW_STREAM, subjects.MEMPOOL_EVENTS_STREAM),
    ),
    Role(
        user="scorer",
        publishes=(subjects.TX_SCORED, _deadletter("scorer")),
        declares=subjects.ALL_STREAMS,
        consumes=(Consumer(subjects.TX_RAW_STREAM, "scorer"),),
        reads_models=True,
    ),
    Role(
        user="explainer",
        publishes=(subjects.TX_EXPLAINED, _deadletter("explainer")),
        declares=subjects.ALL_STREAMS,
        consumes=(Consumer(subjects.TX_SCORED_STREAM, "explainer"),),
        reads_models=True,
    ),
    Role(
        user="dashboard",
        publishes=(REVIEW_VERDICT,),
        # The live feed is core subscriptions; a case view fetches its raw transaction.
        subscribes=(subjects.TX_SCORED, REVIEW_VERDICT, subjects.TX_EXPLAINED),
        declares=(REVIEW_STREAM,),
        reads=(subjects.TX_RAW_STREAM,),
        reads_models=True,
    ),
    Role(
        user="learner",
        publishes=(_deadletter("learner"),),
        declares=(REVIEW_STREAM,),
        consumes=(Consumer(REVIEW_STREAM, "learner"),),
        reads_models=True,
        moves_models=(MODEL_ONLINE,),
    ),
    Role(
        user="drift",
        publishes=(DRIFT_DETECTED, RETRAIN_REQUESTED, _deadletter("drift")),
        declares=(*subjects.ALL_STREAMS, REVIEW_STREAM, DRIFT_STREAM, RETRAIN_STREAM),
        consumes=(
            Consumer(subjects.TX_SCORED_STREAM, "drift"),
            Consumer(REVIEW_STREAM, "drift-verdicts"),
        ),
        reads_models=True,
    ),
    Role(
        user="trainer",
        declares=(RETRAIN_STREAM,),
        reads=(RETRAIN_STREAM,),
        reads_models=True,
        moves_models=(MODEL_CHAMPION, MODEL_CHALLENGER, MODEL_ONBOARDING),
    ),
    Role(
        user="fees",
        publishes=(FEES_ESTIMATE, _deadletter("fees")),
        declares=(
            subjects.TX_RAW_STREAM,
            subjects.DEADLETTER_STREAM,
            subjects.MEMPOOL_EVENTS_STREAM,
            FEES_STREAM,
        ),
        follows=(subjects.TX_RAW_STREAM, subjects.MEMPOOL_EVENTS_STREAM),
        reads_models=True,
        # It trains and promotes a first version when none is current.
        moves_models=(MODEL_FEES,),
    ),
    Role(
        user="onboarding",
        answers=(ONBOARDING_SCORE,),
        reads_models=True,
        moves_models=(MODEL_ONBOARDING,),
    ),
    Role(
        user="lightning",
        publishes=(LIGHTNING_HEALTH,),
        declares=(LIGHTNING_STREAM,),
    ),
    # Not a service: what an integrator's system may do. It reads the published results
    # (live or replayed from their streams) and asks for onboarding decisions.
    Role(
        user="integrator",
        publishes=(ONBOARDING_SCORE,),
        subscribes=(subjects.TX_SCORED, subjects.TX_EXPLAINED, DRIFT_DETECTED),
        reads=(subjects.TX_SCORED_STREAM, subjects.TX_EXPLAINED_STREAM, DRIFT_STREAM),
    ),
)


def publish_allow(role: Role) -> list[str]:
    """Every subject ``role``'s user may publish on, JetStream API included."""
    allowed = list(role.publishes)
    for stream in role.declares:
        allowed += [f"{API}.STREAM.{verb}.{stream.name}" for verb in ("INFO", "CREATE", "UPDATE")]
    for stream in role.reads:
        allowed += _read_stream(stream.name)
    for stream in role.follows:
        allowed += _follow_stream(stream.name)
    for consumer in role.consumes:
        allowed += _pull_durable(consumer.stream.name, consumer.durable)
    if role.reads_models or role.moves_models:
        allowed += _read_models()
    allowed += [f"$KV.{MODELS_KV_BUCKET}.{model}" for model in role.moves_models]
    return _unique(allowed)


def subscribe_allow(role: Role) -> list[str]:
    """Every subject ``role``'s user may subscribe to: its own inbox and its core feeds."""
    return _unique([f"{role.inbox}.>", *role.subscribes, *role.answers])


def _read_stream(stream: str) -> list[str]:
    return [
        f"{API}.STREAM.INFO.{stream}",
        f"{API}.STREAM.MSG.GET.{stream}",
        f"{API}.DIRECT.GET.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}.*",
        f"{API}.CONSUMER.CREATE.{stream}.*.>",
        f"{API}.CONSUMER.INFO.{stream}.*",
        f"{API}.CONSUMER.MSG.NEXT.{stream}.*",
    ]


def _follow_stream(stream: str) -> list[str]:
    return [
        f"{API}.STREAM.INFO.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}.*",
        f"{API}.CONSUMER.CREATE.{stream}.*.>",
        f"{API}.CONSUMER.INFO.{stream}.*",
        f"$JS.FC.{stream}.>",
    ]


def _pull_durable(stream: str, durable: str) -> list[str]:
    return [
        f"{API}.CONSUMER.INFO.{stream}.{durable}",
        f"{API}.CONSUMER.CREATE.{stream}.{durable}",
        f"{API}.CONSUMER.CREATE.{stream}.{durable}.>",
        f"{API}.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"{API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def _read_models() -> list[str]:
    # Creating the bucket is allowed too: whichever service starts first declares it, with
    # the configuration every service names (chainwatch.shared.registry.models_kv).
    return [
        f"{API}.STREAM.INFO.{KV_STREAM}",
        f"{API}.STREAM.CREATE.{KV_STREAM}",
        f"{API}.STREAM.MSG.GET.{KV_STREAM}",
        f"{API}.DIRECT.GET.{KV_STREAM}.>",
        f"{API}.CONSUMER.CREATE.{KV_STREAM}",
        f"{API}.CONSUMER.CREATE.{KV_STREAM}.*",
        f"{API}.CONSUMER.CREATE.{KV_STREAM}.*.>",
        f"{API}.CONSUMER.INFO.{KV_STREAM}.*",
        f"$JS.FC.{KV_STREAM}.>",
    ]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def render(roles: Sequence[Role] = ROLES) -> str:
    """The ``accounts`` block of a nats-server configuration, as the server reads it."""
    lines = [
        "# Generated by deploy/nats/accounts.py from the subjects in chainwatch.shared;",
        "# do not edit. One user per service, allowed only its own subjects; passwords come",
        "# from the server's environment (CHAINWATCH_NATS_<USER>_PASSWORD).",
        "",
        "accounts {",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
        f"      # Operators and the nats CLI: the whole account. No service runs as {ADMIN_USER}.",
        f"      {{ user: {ADMIN_USER}, password: ${password_env(ADMIN_USER)} }}",
    ]
    for role in roles:
        lines += [
            "      {",
            f"        user: {role.user}",
            f"        password: ${role.password_env}",
            "        permissions {",
            "          publish { allow: [",
            *(f'            "{subject}"' for subject in publish_allow(role)),
            "          ] }",
            "          subscribe { allow: [",
            *(f'            "{subject}"' for subject in subscribe_allow(role)),
            "          ] }",
            *(
                ["          # Replies to the requests it answers, and only those."]
                if role.answers
                else []
            ),
            *(["          allow_responses: true"] if role.answers else []),
            "        }",
            "      }",
        ]
    lines += ["    ]", "  }", "}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
