"""A Byzantine participant for the explorer: the real machine, with its sends rewritten and
its submissions built by the real submission steps with one step altered (as
`test_sim_malicious.malicious_submit`, for any participant and any command).

What it may do, each chosen by the seed (`Byzantine.misbehaviours`):

* ``mismatch``   — a view whose created Iou/Share differs from what the command gives (ids
                   re-derived, so only re-interpretation can tell);
* ``withhold``   — leave an informee participant out of a view's recipients;
* ``forge_sig``  — sign the root hash with a key that is not its own;
* ``foreign``    — act as a party hosted by another participant;
* ``replay``     — send one of its earlier requests again under a fresh message id;
* ``stale``      — spend a contract it saw archived (its lookup still offers it), twice
                   at once (a double spend of its own);
* ``approve``    — answer every view it is asked about with an approval, whatever its
                   validation says (so its own double spends get its party's blessing);
* ``silent``     — now and then drop its responses (the mediator must time out);
* ``forge_resp`` — add approvals in another participant's name: signed with its own key
                   (a forged signature) or claiming another's parties under its own name;
* ``forge_verdict`` — with its responses, send every other participant an approval of the
                   request in the mediator's name, signed with its own key.

It hosts only trader parties (never the Iou's or Share's signatory): Daml's integrity
guarantee is for contracts whose signatories' participants are honest, so that is where the
invariants can hold it to.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tests.sim.altered_submission import altered_submission, without_views_for
from tests.sim.faulty_network import FaultyNetwork

from minicanton.core.crypto.signing import SigningKeyPair
from minicanton.core.entropy import SeededEntropy
from minicanton.core.errors import MinicantonError
from minicanton.core.ids import ParticipantId, PartyId
from minicanton.core.lf.commands import Command
from minicanton.core.lf.contract_id import derive_contract_id
from minicanton.core.lf.engine import ContractLookup, SubmissionResult
from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.transaction import ContractInstance, CreateNode, NodeId
from minicanton.core.lf.value import Int64Value, NumericValue, RecordValue, Value
from minicanton.core.protocol.message_codec import decode_protocol_message
from minicanton.core.protocol.messages import (
    Approve,
    ConfirmationResponse,
    LocalApprove,
    MediatorResult,
    encode_protocol_message,
)
from minicanton.core.protocol.participant_effects import SendBatch
from minicanton.core.protocol.participant_outcomes import RESPONSE_MESSAGE_ID_PREFIX
from minicanton.core.protocol.submission import CommandSubmission, PreparedSubmission
from minicanton.core.protocol.view_message import is_view_message
from minicanton.core.sequencing.batch import Batch, Envelope, MemberRecipient

MISBEHAVIOURS = ("mismatch", "withhold", "forge_sig", "foreign", "replay", "stale",
                 "approve", "silent", "forge_resp", "forge_verdict")
SUBMITTING = ("mismatch", "withhold", "forge_sig", "foreign", "replay", "stale")
TTL_US = 60_000_000


@dataclass
class Byzantine:
    net: FaultyNetwork
    name: str
    rng: random.Random
    misbehaviours: frozenset[str]
    replays: dict[str, PreparedSubmission] = field(default_factory=dict)  # new id -> original
    done: list[str] = field(default_factory=list)  # what it tried, for the report
    withheld: set[str] = field(default_factory=set)  # message ids of requests missing a view
    forger: SigningKeyPair = field(
        default_factory=lambda: SigningKeyPair.generate(SeededEntropy(b"byzantine forger")))

    def __post_init__(self) -> None:
        self.net.send_filter = self.rewrite
        self.net.byzantine = self.name

    @property
    def participant(self) -> ParticipantId:
        return self.net.domain.participant_of(self.name)

    # --- its sends ------------------------------------------------------------------------

    def rewrite(self, sender: str, send: SendBatch) -> list[SendBatch]:
        if sender != self.name or not send.message_id.startswith(RESPONSE_MESSAGE_ID_PREFIX):
            return [send]
        if "silent" in self.misbehaviours and self.rng.random() < 0.3:
            self.done.append("silent")
            return []
        envelopes = list(send.batch.envelopes)
        if "approve" in self.misbehaviours:
            approved = [self._approved(e) for e in envelopes]
            envelopes = [e for e in approved if e is not None]
        if "forge_resp" in self.misbehaviours and envelopes:
            envelopes += self._forged(envelopes[0])
        sends = [replace(send, batch=Batch(tuple(envelopes)))] if envelopes else []
        if "forge_verdict" in self.misbehaviours and send.batch.envelopes:
            sends += self._forged_verdict(send)
        return sends

    def _forged_verdict(self, send: SendBatch) -> list[SendBatch]:
        """An approval in the mediator's name, signed with its own key, to everyone."""
        response = decode_protocol_message(send.batch.envelopes[0].content)
        assert isinstance(response, ConfirmationResponse)
        self.done.append("forge_verdict")
        net = self.net
        result = MediatorResult.create(
            request_ts_us=response.request_ts_us, root_hash=response.root_hash,
            mediator=net.domain.mediator.id, verdict=Approve(), signing_key=self.key)
        others = sorted(n for n in net.participants if n != self.name)
        envelopes = tuple(
            Envelope((MemberRecipient(net.domain.participants[n].id),),
                     encode_protocol_message(result)) for n in others)
        return [SendBatch(f"byz-verdict-{response.request_ts_us}", Batch(envelopes),
                          send.max_sequencing_time_us)]

    def _approved(self, envelope: Envelope) -> Envelope | None:
        response = decode_protocol_message(envelope.content)
        assert isinstance(response, ConfirmationResponse)
        if isinstance(response.local_verdict, LocalApprove):
            return envelope
        if response.view_hash is None:
            return None  # nothing to approve: a request-wide rejection names no view
        self.done.append("approve")
        return Envelope(envelope.recipients, encode_protocol_message(self._response(
            response, response.sender, response.confirming_parties, self.key)))

    @property
    def key(self) -> SigningKeyPair:
        return self.net.domain.participants[self.name].key

    def _response(self, like: ConfirmationResponse, sender: ParticipantId,
                  parties: frozenset[PartyId], key: SigningKeyPair) -> ConfirmationResponse:
        return ConfirmationResponse.create(
            request_ts_us=like.request_ts_us, view_hash=like.view_hash, sender=sender,
            local_verdict=LocalApprove(), confirming_parties=parties,
            root_hash=like.root_hash, signing_key=key)

    def _forged(self, envelope: Envelope) -> list[Envelope]:
        response = decode_protocol_message(envelope.content)
        assert isinstance(response, ConfirmationResponse)
        if response.view_hash is None:
            return []
        others = [n for n in sorted(self.net.participants) if n != self.name]
        victim = self.rng.choice(others)
        victim_id = self.net.domain.participant_of(victim)
        parties = frozenset(PartyId(p) for p in self.net.store(victim).parties)
        if not parties:
            return []
        self.done.append("forge_resp")
        in_its_name = self._response(response, victim_id, parties, self.key)
        claiming = self._response(response, self.participant, parties, self.key)
        return [Envelope(envelope.recipients, encode_protocol_message(r))
                for r in (in_its_name, claiming)]

    # --- its submissions ------------------------------------------------------------------

    def act(self, command_for: Callable[[str], tuple[str, Command] | None]) -> None:
        """One misbehaving submission; `command_for(how)` gives (acting party hint, command):
        for ``foreign`` one for a party it does not host."""
        wanted = [m for m in SUBMITTING if m in self.misbehaviours]
        if not wanted:
            return
        how = self.rng.choice(wanted)
        if how == "replay":
            self._replay()
            return
        picked = command_for(how)
        if picked is None:
            return
        hint, command = picked
        self.done.append(how)
        try:
            self._submit(how, hint, command)
            if how == "stale":  # and at once again: a double spend of its own making
                self._submit(how, hint, command)
        except MinicantonError:
            return  # the command did not interpret against its (doctored) ledger

    def _submit(self, how: str, hint: str, command: Command) -> PreparedSubmission:
        net = self.net
        node = net.participants[self.name]
        count = len(net.submitted)
        submission = CommandSubmission((command,), frozenset({net.domain.party(hint)}),
                                       "byz", f"byz-{how}-{count}", f"byz-{count}")
        contracts: ContractLookup = node.store.lookup(submission.act_as)
        if how == "stale":
            contracts = WithArchived(contracts, node.store.archived)
        prepared = altered_submission(
            submission, identity=node.machine.config.identity, contracts=contracts,
            registry=net.domain.registry, snapshot=net.domain.snapshot(net.clock_us),
            now_us=net.clock_us, ttl_us=TTL_US, entropy=node.entropy,
            alter_result=inflate_creates if how == "mismatch" else lambda r: r,
            alter_batch=self._withhold if how == "withhold" else lambda b: b,
            forge_with=self.forger if how == "forge_sig" else None)
        if how == "withhold":
            self.withheld.add(prepared.message_id)
        return net.submit_prepared(self.name, prepared)

    def _withhold(self, batch: Batch) -> Batch:
        own = MemberRecipient(self.net.domain.participants[self.name].id)
        victims = sorted({r for e in batch.envelopes if is_view_message(e.content)
                          for r in e.recipients if r != own}, key=str)
        return without_views_for(self.rng.choice(victims))(batch) if victims else batch

    def _replay(self) -> None:
        net = self.net
        own = [p for p in net.submitted if p.message_id in net.sequenced_at
               and _sent_by(net, p.message_id) == self.name]
        if not own:
            return
        original = self.rng.choice(own)
        message_id = f"byz-replay-{len(self.replays)}"
        self.replays[message_id] = original
        self.done.append("replay")
        net.send_raw(self.name, original.batch, message_id,
                     min(original.max_sequencing_time_us, net.clock_us + TTL_US))


def _sent_by(net: FaultyNetwork, message_id: str) -> str | None:
    return next((s.sender for s in net.sequenced if s.message_id == message_id), None)


class WithArchived:
    """Its ledger, pretending the contracts it saw archived are still there."""

    def __init__(self, real: ContractLookup, archived: dict[str, ContractInstance]) -> None:
        self.real, self.archived = real, archived

    def lookup_contract(self, contract_id: str) -> ContractInstance | None:
        return self.real.lookup_contract(contract_id) or self.archived.get(contract_id)

    def lookup_key(self, template_id: Identifier, key: Value) -> str | None:
        return self.real.lookup_key(template_id, key)


def inflate_creates(result: SubmissionResult) -> SubmissionResult:
    """Every Iou created is worth a million, every Share a thousand, under the ids such
    contracts would have."""
    nodes = list(result.transaction.nodes)
    created = dict(result.created_contracts)
    for index, node in enumerate(nodes):
        if not isinstance(node, CreateNode):
            continue
        entity = node.template_id.entity_name
        if entity not in ("Iou", "Share"):
            continue
        bigger: Value = (NumericValue(Decimal("1000000")) if entity == "Iou"
                         else Int64Value(1000))
        field_name = "amount" if entity == "Iou" else "quantity"
        argument = RecordValue(node.argument.type_id, tuple(
            (k, bigger if k == field_name else v) for k, v in node.argument.fields))
        contract_id = derive_contract_id(result.node_seeds[NodeId(index)],
                                         result.ledger_time_us, node.template_id, argument)
        nodes[index] = replace(node, contract_id=contract_id, argument=argument)
        old = created.pop(node.contract_id, None)
        if old is not None:
            created[contract_id] = replace(old, contract_id=contract_id, argument=argument)
    return replace(result, transaction=replace(result.transaction, nodes=tuple(nodes)),
                   created_contracts=created)
