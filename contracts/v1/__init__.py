"""Version 1 payload models, one module per topic family.

Released versions are frozen: a model here may only gain optional fields. Anything else is a
new ``contracts.v2`` model on a ``.v2`` topic.
"""

from contracts.v1.common import ChatKind, Citation, Leg, PostRef, Usage, post_id, split_post_id
from contracts.v1.deadletter import DeadLetter
from contracts.v1.digest import DigestCompleted, DigestItem, GenerateDigest
from contracts.v1.lifecycle import LifecycleEvent
from contracts.v1.posts import Entity, PostIndexed, PostIngested, PostsDeleted
from contracts.v1.queries import AnswerQuery, Budget, QueryAnswered
from contracts.v1.retrieval import (
    DocumentsRetrieved,
    RetrievalFilters,
    RetrievedDocument,
    RetrieveDocuments,
)
from contracts.v1.trend import ReportTrends, TrendDetected, TrendsReported

__all__ = [
    "AnswerQuery",
    "Budget",
    "ChatKind",
    "Citation",
    "DeadLetter",
    "DigestCompleted",
    "DigestItem",
    "DocumentsRetrieved",
    "Entity",
    "GenerateDigest",
    "Leg",
    "LifecycleEvent",
    "PostIndexed",
    "PostIngested",
    "PostRef",
    "PostsDeleted",
    "QueryAnswered",
    "ReportTrends",
    "RetrievalFilters",
    "RetrieveDocuments",
    "RetrievedDocument",
    "TrendDetected",
    "TrendsReported",
    "Usage",
    "post_id",
    "split_post_id",
]
