"""The retrieval service over Kafka request/reply (``retrieval.requested.v1`` with a
``reply-to`` header; the reply is a ``retrieval.completed.v1`` envelope)."""

from __future__ import annotations

from contracts.v1.retrieval import DocumentsRetrieved, RetrieveDocuments
from servicekit.publisher import Publisher
from servicekit.rpc import RequestReplyClient, RequestTimeout
from services.router.errors import RetrievalUnavailable

TOPIC = "retrieval.requested.v1"


class KafkaRetriever:
    """:class:`~services.router.ports.Retriever` over the kit's request/reply client."""

    def __init__(self, publisher: Publisher, rpc: RequestReplyClient) -> None:
        self._publisher = publisher
        self._rpc = rpc

    async def retrieve(
        self,
        tenant_id: str,
        request: RetrieveDocuments,
        *,
        correlation_id: str,
        timeout_s: float,
    ) -> DocumentsRetrieved:
        envelope = self._publisher.envelope(
            request, topic=TOPIC, tenant_id=tenant_id, correlation_id=correlation_id
        )
        try:
            reply = await self._rpc.request(
                envelope, key=f"{tenant_id}:{request.request_id}", timeout_s=timeout_s
            )
        except RequestTimeout as exc:
            raise RetrievalUnavailable(str(exc)) from None
        except Exception as exc:  # the broker refused the request: same outcome for the caller
            raise RetrievalUnavailable(f"retrieval request not sent: {exc!r}"[:300]) from exc
        payload = reply.payload
        if not isinstance(payload, DocumentsRetrieved) or reply.tenant_id != tenant_id:
            raise RetrievalUnavailable(f"unexpected reply {reply.event_type} for {tenant_id}")
        return payload
