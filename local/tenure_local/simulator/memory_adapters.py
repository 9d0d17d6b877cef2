"""The memory engine's stand-ins for SQS and SES: plain objects in this process, offering the
calls Tenure's functions and the simulator make, with the behaviour those rely on."""

import hashlib
import heapq
import itertools
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, overload

from tenure.notify.mailers import MailRejected

SQS_BATCH_LIMIT = 10  # entries per SendMessageBatch, messages per ReceiveMessage


class QueueRequestError(ValueError):
    """A request SQS itself would refuse (the whole call, before any message is touched)."""


@dataclass
class _Message:
    seq: int  # send order: a standard queue here hands messages out oldest first, as moto does
    message_id: str
    body: str
    receive_count: int = 0
    handle: str = ""

    def __lt__(self, other: "_Message") -> bool:
        return self.seq < other.seq


@dataclass
class InProcessQueue:
    """The renewal queue as a list in memory, through SQS's own calls and answers.

    Messages are handed out in the order they were sent. A received message stays in flight
    until it is deleted or its visibility is set to 0: the simulator plays visibility
    timeouts out in simulated time (as it does on moto, whose timers run in wall time).
    A message received more than `max_receive_count` times goes to `dead_letters` instead,
    as the queue's redrive policy sends it to the DLQ."""

    url: str
    max_receive_count: int
    dead_letters: list[str] = field(default_factory=list)  # the bodies, in the order moved
    _visible: list[_Message] = field(default_factory=list)  # a heap by send order
    _in_flight: dict[str, _Message] = field(default_factory=dict)  # by receipt handle
    _counter: "itertools.count[int]" = field(default_factory=itertools.count)

    def _check(self, queue_url: str, entries: list[dict[str, Any]] | None = None) -> None:
        if queue_url != self.url:
            raise QueueRequestError(f"no queue at {queue_url!r} (this one is {self.url!r})")
        if entries is None:
            return
        if not 1 <= len(entries) <= SQS_BATCH_LIMIT:
            raise QueueRequestError(
                f"a batch holds 1 to {SQS_BATCH_LIMIT} entries, not {len(entries)}"
            )
        ids = [str(entry.get("Id", "")) for entry in entries]
        if len(set(ids)) != len(ids) or not all(ids):
            raise QueueRequestError(f"batch entry ids must be present and distinct: {ids}")

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._check(QueueUrl, Entries)
        successful = []
        for entry in Entries:
            body = entry["MessageBody"]
            if not isinstance(body, str) or not body:
                raise QueueRequestError(f"entry {entry['Id']}: a message body is a non-empty text")
            seq = next(self._counter)
            message = _Message(seq, f"msg-{seq:08d}", body)
            heapq.heappush(self._visible, message)
            successful.append(
                {
                    "Id": entry["Id"],
                    "MessageId": message.message_id,
                    "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest(),
                }
            )
        return {"Successful": successful, "Failed": []}

    def receive_message(
        self,
        *,
        QueueUrl: str,
        MaxNumberOfMessages: int = 1,
        WaitTimeSeconds: int = 0,  # nothing arrives while one waits here
    ) -> Any:
        self._check(QueueUrl)
        if not 1 <= MaxNumberOfMessages <= SQS_BATCH_LIMIT:
            raise QueueRequestError(
                f"MaxNumberOfMessages is 1 to {SQS_BATCH_LIMIT}, not {MaxNumberOfMessages}"
            )
        messages: list[dict[str, str]] = []
        while self._visible and len(messages) < MaxNumberOfMessages:
            message = heapq.heappop(self._visible)
            if message.receive_count >= self.max_receive_count:
                self.dead_letters.append(message.body)
                continue
            message.receive_count += 1
            message.handle = f"{message.message_id}#{message.receive_count}"
            self._in_flight[message.handle] = message
            messages.append(
                {
                    "MessageId": message.message_id,
                    "ReceiptHandle": message.handle,
                    "Body": message.body,
                    "MD5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
                }
            )
        return {"Messages": messages} if messages else {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        self._check(QueueUrl, Entries)
        return self._in_flight_of(Entries)[1]

    def change_message_visibility_batch(
        self,
        *,
        QueueUrl: str,
        Entries: list[dict[str, Any]],
    ) -> Any:
        self._check(QueueUrl, Entries)
        taken, answer = self._in_flight_of(Entries)
        for entry, message in taken:
            if int(entry["VisibilityTimeout"]) == 0:  # visible again, in its place
                heapq.heappush(self._visible, message)
            else:  # still in flight: the simulator says when the new timeout has passed
                self._in_flight[message.handle] = message
        return answer

    def _in_flight_of(
        self, entries: list[dict[str, Any]]
    ) -> tuple[list[tuple[dict[str, Any], _Message]], dict[str, Any]]:
        """Takes the in-flight message of each entry's receipt handle; SQS's answer lists
        the entries whose handle names no message in flight as failed."""
        taken, successful, failed = [], [], []
        for entry in entries:
            message = self._in_flight.pop(str(entry.get("ReceiptHandle", "")), None)
            if message is None:
                failed.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": True,
                        "Code": "ReceiptHandleIsInvalid",
                        "Message": "no message in flight has this receipt handle",
                    }
                )
                continue
            taken.append((entry, message))
            successful.append({"Id": entry["Id"]})
        return taken, {"Successful": successful, "Failed": failed}

    @property
    def depth(self) -> int:
        """Messages waiting or in flight (SQS's ApproximateNumberOfMessages plus NotVisible)."""
        return len(self._visible) + len(self._in_flight)


@dataclass(frozen=True, slots=True)
class SesRequest:
    source: str
    destinations: tuple[str, ...]
    message_id: str


class SesRequests(Sequence[SesRequest]):
    """The requests SES was sent, oldest first, held small: a year of 10,000 customers sends
    about a quarter of a million emails from one sender to one address per customer, so each
    is kept as the index of its (source, destination) pair, and its message id is its place
    (`memory-<n>`, counted from 1). Reading one gives back the SesRequest it stands for."""

    __slots__ = ("_pair_index", "_pairs", "_taken")

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []
        self._pair_index: dict[tuple[str, str], int] = {}
        self._taken = array("I")  # per request, the index of its pair

    def append(self, source: str, to: str) -> str:
        """Records a request and returns the message id SES gave it."""
        pair = (source, to)
        index = self._pair_index.get(pair)
        if index is None:
            index = self._pair_index[pair] = len(self._pairs)
            self._pairs.append(pair)
        self._taken.append(index)
        return _ses_message_id(len(self._taken))

    def __len__(self) -> int:
        return len(self._taken)

    @overload
    def __getitem__(self, index: int) -> SesRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[SesRequest]: ...

    def __getitem__(self, index: int | slice) -> SesRequest | list[SesRequest]:
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        source, to = self._pairs[self._taken[index]]  # IndexError when out of range
        return SesRequest(source, (to,), _ses_message_id(index + 1))

    def __iter__(self) -> Iterator[SesRequest]:
        return (self[n] for n in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SesRequests | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # it grows, like the list it stands for


def _ses_message_id(n: int) -> str:
    return f"memory-{n:010d}"


@dataclass
class SesRecorder:
    """A mailer that takes each email as SES would (SendRawEmail from the verified sender)
    and keeps what it was asked, without building the message's bytes a second time: the
    outbox copy is the one serialisation, as SES's would be in AWS."""

    verified_sender: str
    requests: SesRequests = field(default_factory=SesRequests)
    # Address headers as text, by their raw value: parsing one costs about a millisecond,
    # and a run sends every email from one sender and a customer many emails.
    _read: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    # Whether each From seen is the verified sender: parsed once (a tenth of a send).
    _verified: dict[str, bool] = field(default_factory=dict, repr=False)

    def send(self, message: EmailMessage, *, customer_id: str, kind: str, sent_at: datetime) -> str:
        source, to = self._header(message, "From"), self._header(message, "To")
        verified = self._verified.get(source)
        if verified is None:
            verified = parseaddr(source)[1].lower() == self.verified_sender.lower()
            self._verified[source] = verified
        if not verified:
            # What SES (and moto) answer for a sender whose identity is not verified.
            raise MailRejected(f"MessageRejected: Email address not verified {source}")
        return self.requests.append(source, to)

    def _header(self, message: EmailMessage, name: str) -> str:
        """What `str(message[name])` gives, parsed once per distinct raw value."""
        wanted = name.lower()
        for key, raw in message.raw_items():
            if key.lower() != wanted:
                continue
            if not isinstance(raw, str):
                return str(raw)  # set as a header object: already parsed
            found = self._read.get((key, raw))
            if found is None:
                found = str(message.policy.header_fetch_parse(key, raw))
                self._read[(key, raw)] = found
            return found
        return str(None)  # no such header: what str(message[name]) gives
