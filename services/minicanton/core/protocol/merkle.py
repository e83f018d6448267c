"""The Merkle tree of a transaction's views (Canton's `GenTransactionTree`).

Theory of operation
-------------------
A transaction tree has four children: the submitter metadata, the common metadata, the
participant metadata (leaves) and the root views. A view (`TransactionView`) has its view
common data and view participant data (leaves) and its subviews. Every node has a *position*
(`MerklePath`): the child indices from the root — metadata at (0,), (1,), (2,), root view i
at (3 + i,); inside a view, the common data at 0, the participant data at 1, subview j at
2 + j.

Hashes are purpose-tagged SHA-256 (`core.hashing`): a leaf hashes `MERKLE_LEAF` over its
salt and the canonical bytes of its content (`view_serialization`); a view or the tree hashes
`MERKLE_NODE` over a kind label and its children's hashes, in order. Every leaf carries a
32-byte salt derived from a per-transaction secret seed and the leaf's position
(`VIEW_SALT`), so the same content in two places hashes differently, and a blinded leaf
(one whose salt the holder does not know) cannot be guessed by hashing candidate contents.

*Blinding* replaces any subtree by `BlindedNode(its hash)`. Since a parent's hash only uses
its children's hashes, blinding never changes the root hash: that is what lets a recipient
of a few views, or the mediator holding only the informees, check that what it holds is part
of the transaction whose root hash the submitter signed (`verify_membership`). The
mediator's `full_informee_tree` keeps the common metadata and every view's common data
(informees, confirming parties, thresholds) and blinds everything else; a view's recipient
gets `view_tree` — that view in full, the path of bare ancestor nodes down to it, the common
and participant metadata, and the submitter metadata only for a root view (as Canton's
`TransactionViewTree`).

Trees (partially blinded or not) travel as `encode_tree` bytes; `decode_tree` accepts only
canonical encodings and raises `ViewDecodeError` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

from mypy_extensions import mypyc_attr

from minicanton.core.errors import CryptoError, InvalidArgument
from minicanton.core.hashing import Hash, HashPurpose, hash_of
from minicanton.core.lf.transaction import Party
from minicanton.core.protocol.view_serialization import (
    FORMAT_VERSION,
    LeafKind,
    Reader,
    ViewDecodeError,
    Writer,
    decode_leaf_content,
    encode_leaf_content,
    leaf_kind,
)
from minicanton.core.protocol.views import (
    CommonMetadata,
    NewView,
    ParticipantMetadata,
    SubmitterMetadata,
    ViewCommonData,
    ViewParticipantData,
)

MerklePath = tuple[int, ...]
SUBMITTER_METADATA = 0
COMMON_METADATA = 1
PARTICIPANT_METADATA = 2
FIRST_ROOT_VIEW = 3
VIEW_COMMON_DATA = 0
VIEW_PARTICIPANT_DATA = 1
FIRST_SUBVIEW = 2
SALT_BYTES = 32
MIN_SEED_BYTES = 16
MAX_VIEW_DEPTH = 200  # bounds decoding recursion on untrusted input

C = TypeVar(
    "C", SubmitterMetadata, CommonMetadata, ParticipantMetadata, ViewCommonData,
    ViewParticipantData,
)


@dataclass(frozen=True, slots=True)
class BlindedNode:
    hash: Hash

    def __init__(self, hash: Hash) -> None:
        object.__setattr__(self, "hash", hash)


# A regular Python class even when compiled: mypyc cannot build a generic dataclass (the class
# fails at import with "attribute '__dict__' of 'type' objects is not writable"). Its methods
# are still compiled; only its attribute reads go through Python (ADR 16).
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class Leaf(Generic[C]):
    salt: bytes
    content: C
    # Memo of the canonical content bytes: leaves are immutable and shared between all the
    # blinded copies of a tree, so each is serialized once however often it is hashed/sent.
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(self, salt: bytes, content: C) -> None:
        object.__setattr__(self, "salt", salt)
        object.__setattr__(self, "content", content)
        object.__setattr__(self, "_encoded", None)

    @property
    def encoded_content(self) -> bytes:
        if self._encoded is None:
            object.__setattr__(self, "_encoded", encode_leaf_content(self.content))
        assert self._encoded is not None
        return self._encoded


@dataclass(frozen=True, slots=True)
class TransactionView:
    view_common_data: Leaf[ViewCommonData] | BlindedNode
    view_participant_data: Leaf[ViewParticipantData] | BlindedNode
    subviews: tuple[TransactionView | BlindedNode, ...]
    _hash: Hash | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(
        self,
        view_common_data: Leaf[ViewCommonData] | BlindedNode,
        view_participant_data: Leaf[ViewParticipantData] | BlindedNode,
        subviews: tuple[TransactionView | BlindedNode, ...],
    ) -> None:
        object.__setattr__(self, "view_common_data", view_common_data)
        object.__setattr__(self, "view_participant_data", view_participant_data)
        object.__setattr__(self, "subviews", subviews)
        object.__setattr__(self, "_hash", None)


@dataclass(frozen=True, slots=True)
class GenTransactionTree:
    submitter_metadata: Leaf[SubmitterMetadata] | BlindedNode
    common_metadata: Leaf[CommonMetadata] | BlindedNode
    participant_metadata: Leaf[ParticipantMetadata] | BlindedNode
    root_views: tuple[TransactionView | BlindedNode, ...]

    def __init__(
        self,
        submitter_metadata: Leaf[SubmitterMetadata] | BlindedNode,
        common_metadata: Leaf[CommonMetadata] | BlindedNode,
        participant_metadata: Leaf[ParticipantMetadata] | BlindedNode,
        root_views: tuple[TransactionView | BlindedNode, ...],
    ) -> None:
        object.__setattr__(self, "submitter_metadata", submitter_metadata)
        object.__setattr__(self, "common_metadata", common_metadata)
        object.__setattr__(self, "participant_metadata", participant_metadata)
        object.__setattr__(self, "root_views", root_views)


# Quoted: compiled, `Leaf` is not subscriptable at run time (see its comment).
MerkleNode: TypeAlias = "Leaf[Any] | TransactionView | BlindedNode"
KeepPredicate: TypeAlias = Callable[[MerklePath, MerkleNode], bool]


# ----------------------------------------------------------------------------------- building


def salt_for(seed: bytes, path: MerklePath) -> bytes:
    """The salt of the leaf at `path`: secret without the seed, unique per position."""
    position = b"".join([index.to_bytes(4, "big") for index in path])
    return hash_of(HashPurpose.VIEW_SALT, seed, position).digest


def build_tree(
    submitter: SubmitterMetadata,
    common: CommonMetadata,
    participant: ParticipantMetadata,
    views: Sequence[NewView],
    seed: bytes,
) -> GenTransactionTree:
    """The unblinded tree of a decomposed transaction, salted from `seed`."""
    if len(seed) < MIN_SEED_BYTES:
        raise InvalidArgument(f"a transaction seed has at least {MIN_SEED_BYTES} bytes")
    return GenTransactionTree(
        Leaf(salt_for(seed, (SUBMITTER_METADATA,)), submitter),
        Leaf(salt_for(seed, (COMMON_METADATA,)), common),
        Leaf(salt_for(seed, (PARTICIPANT_METADATA,)), participant),
        tuple(
            _build_view(view, (FIRST_ROOT_VIEW + i,), seed) for i, view in enumerate(views)
        ),
    )


def _build_view(view: NewView, path: MerklePath, seed: bytes) -> TransactionView:
    return TransactionView(
        Leaf(salt_for(seed, (*path, VIEW_COMMON_DATA)), view.common_data),
        Leaf(salt_for(seed, (*path, VIEW_PARTICIPANT_DATA)), view.participant_data),
        tuple(
            _build_view(sub, (*path, FIRST_SUBVIEW + j), seed)
            for j, sub in enumerate(view.subviews)
        ),
    )


# ------------------------------------------------------------------------------------ hashing


def leaf_hash(leaf: Leaf[Any] | BlindedNode) -> Hash:
    if isinstance(leaf, BlindedNode):
        return leaf.hash
    return hash_of(HashPurpose.MERKLE_LEAF, leaf.salt, leaf.encoded_content)


def view_hash(view: TransactionView | BlindedNode) -> Hash:
    if isinstance(view, BlindedNode):
        return view.hash
    if view._hash is None:
        children = [leaf_hash(view.view_common_data), leaf_hash(view.view_participant_data)]
        children += [view_hash(sub) for sub in view.subviews]
        hashed = hash_of(HashPurpose.MERKLE_NODE, b"view", *[h.digest for h in children])
        object.__setattr__(view, "_hash", hashed)
    assert view._hash is not None
    return view._hash


def root_hash(tree: GenTransactionTree) -> Hash:
    children = [
        leaf_hash(tree.submitter_metadata),
        leaf_hash(tree.common_metadata),
        leaf_hash(tree.participant_metadata),
    ]
    children += [view_hash(view) for view in tree.root_views]
    return hash_of(HashPurpose.MERKLE_NODE, b"transaction-tree", *[h.digest for h in children])


def node_hash(node: MerkleNode) -> Hash:
    if isinstance(node, TransactionView):
        return view_hash(node)
    return leaf_hash(node)


def verify_membership(expected_root: Hash, tree: GenTransactionTree) -> None:
    """Raise `CryptoError` unless `tree` (blinded as it may be) has root hash
    `expected_root`, i.e. everything it holds belongs to that transaction."""
    actual = root_hash(tree)
    if actual != expected_root:
        raise CryptoError(
            f"the views held do not belong to transaction root {expected_root} "
            f"(they hash to {actual})"
        )


# ----------------------------------------------------------------------------------- blinding


def blind(tree: GenTransactionTree, keep: KeepPredicate) -> GenTransactionTree:
    """`tree` with every node for which `keep(path, node)` is false replaced by its hash
    (and so everything below it); kept views are blinded recursively the same way."""
    return GenTransactionTree(
        _blind_leaf(tree.submitter_metadata, (SUBMITTER_METADATA,), keep),
        _blind_leaf(tree.common_metadata, (COMMON_METADATA,), keep),
        _blind_leaf(tree.participant_metadata, (PARTICIPANT_METADATA,), keep),
        tuple(
            _blind_view(view, (FIRST_ROOT_VIEW + i,), keep)
            for i, view in enumerate(tree.root_views)
        ),
    )


def _blind_leaf(
    leaf: Leaf[C] | BlindedNode, path: MerklePath, keep: KeepPredicate
) -> Leaf[C] | BlindedNode:
    if isinstance(leaf, BlindedNode) or keep(path, leaf):
        return leaf
    return BlindedNode(leaf_hash(leaf))


def _blind_view(
    view: TransactionView | BlindedNode, path: MerklePath, keep: KeepPredicate
) -> TransactionView | BlindedNode:
    if isinstance(view, BlindedNode):
        return view
    if not keep(path, view):
        return BlindedNode(view_hash(view))
    return TransactionView(
        _blind_leaf(view.view_common_data, (*path, VIEW_COMMON_DATA), keep),
        _blind_leaf(view.view_participant_data, (*path, VIEW_PARTICIPANT_DATA), keep),
        tuple(
            _blind_view(sub, (*path, FIRST_SUBVIEW + j), keep)
            for j, sub in enumerate(view.subviews)
        ),
    )


def full_informee_tree(tree: GenTransactionTree) -> GenTransactionTree:
    """What the mediator gets: the common metadata and each view's informees, confirming
    parties and threshold; all other contents blinded."""

    def keep(_path: MerklePath, node: MerkleNode) -> bool:
        if isinstance(node, Leaf):
            return isinstance(node.content, (CommonMetadata, ViewCommonData))
        return True

    return blind(tree, keep)


def view_tree(tree: GenTransactionTree, path: MerklePath) -> GenTransactionTree:
    """What a recipient of the view at `path` gets: that view in full (with its subviews),
    bare ancestor views leading to it, the common and participant metadata, and the
    submitter metadata if the view is a root view."""
    view_at(tree, path)  # fails clearly on a bad path

    def keep(p: MerklePath, node: MerkleNode) -> bool:
        if len(p) == 1 and p[0] < FIRST_ROOT_VIEW:
            return p[0] != SUBMITTER_METADATA or len(path) == 1
        if p[: len(path)] == path:
            return True
        return isinstance(node, TransactionView) and path[: len(p)] == p

    return blind(tree, keep)


# ---------------------------------------------------------------------------------- traversal


def view_at(tree: GenTransactionTree, path: MerklePath) -> TransactionView:
    """The unblinded view at `path`; `InvalidArgument` if there is none."""
    if not path or path[0] < FIRST_ROOT_VIEW:
        raise InvalidArgument(f"{path} is not the position of a view")
    views = tree.root_views
    index = path[0] - FIRST_ROOT_VIEW
    for depth in range(len(path)):
        if depth > 0:
            index = path[depth] - FIRST_SUBVIEW
        node = views[index] if 0 <= index < len(views) else None
        if not isinstance(node, TransactionView):
            raise InvalidArgument(f"no unblinded view at {path[: depth + 1]}")
        if depth == len(path) - 1:
            return node
        views = node.subviews
    raise AssertionError("unreachable")


def views_with_paths(tree: GenTransactionTree) -> Iterator[tuple[MerklePath, TransactionView]]:
    """Every view node that is not blinded, in pre-order (the decomposition's order)."""
    for i, view in enumerate(tree.root_views):
        yield from _walk(view, (FIRST_ROOT_VIEW + i,))


def _walk(
    view: TransactionView | BlindedNode, path: MerklePath
) -> Iterator[tuple[MerklePath, TransactionView]]:
    if isinstance(view, BlindedNode):
        return
    yield path, view
    for j, sub in enumerate(view.subviews):
        yield from _walk(sub, (*path, FIRST_SUBVIEW + j))


def entitled_parties(tree: GenTransactionTree) -> dict[MerklePath, frozenset[Party]]:
    """Each unblinded view's position -> the parties entitled to it: its informees and those
    of its ancestor views (who see it as a consequence). The submitter sends `view_tree` of
    each position to the participants hosting these parties, and to no one else."""
    out: dict[MerklePath, frozenset[Party]] = {}

    def visit(view: TransactionView | BlindedNode, path: MerklePath,
              above: frozenset[Party]) -> None:
        if isinstance(view, BlindedNode):
            return
        common = view.view_common_data
        if isinstance(common, BlindedNode):
            raise InvalidArgument(f"the informees of the view at {path} are blinded")
        out[path] = above | common.content.informees
        for j, sub in enumerate(view.subviews):
            visit(sub, (*path, FIRST_SUBVIEW + j), out[path])

    for i, view in enumerate(tree.root_views):
        visit(view, (FIRST_ROOT_VIEW + i,), frozenset())
    return out


# ------------------------------------------------------------------------------ serialization

_BLINDED, _LEAF, _VIEW = 0, 1, 2


def encode_tree(tree: GenTransactionTree) -> bytes:
    """Canonical bytes of a (partially blinded) tree, for transport."""
    w = Writer()
    w.u8(FORMAT_VERSION)
    _put_leaf(w, tree.submitter_metadata)
    _put_leaf(w, tree.common_metadata)
    _put_leaf(w, tree.participant_metadata)
    w.sequence(tree.root_views, lambda view: _put_view(w, view))
    return bytes(w.out)


def _put_leaf(w: Writer, leaf: Leaf[Any] | BlindedNode) -> None:
    if isinstance(leaf, BlindedNode):
        w.u8(_BLINDED)
        w.out += leaf.hash.digest
        return
    w.u8(_LEAF)
    w.blob(leaf.salt)
    w.blob(leaf.encoded_content)


def _put_view(w: Writer, view: TransactionView | BlindedNode) -> None:
    if isinstance(view, BlindedNode):
        w.u8(_BLINDED)
        w.out += view.hash.digest
        return
    w.u8(_VIEW)
    _put_leaf(w, view.view_common_data)
    _put_leaf(w, view.view_participant_data)
    w.sequence(view.subviews, lambda sub: _put_view(w, sub))


def decode_tree(data: bytes) -> GenTransactionTree:
    """The tree whose canonical encoding is exactly `data`; `ViewDecodeError` otherwise."""
    r = Reader(data)
    version = r.u8("format version")
    if version != FORMAT_VERSION:
        raise ViewDecodeError(f"unknown tree format version {version}")
    tree = GenTransactionTree(
        _get_leaf(r, SubmitterMetadata, LeafKind.SUBMITTER_METADATA),
        _get_leaf(r, CommonMetadata, LeafKind.COMMON_METADATA),
        _get_leaf(r, ParticipantMetadata, LeafKind.PARTICIPANT_METADATA),
        tuple(r.sequence(lambda: _get_view(r, 1), "root views")),
    )
    r.expect_end()
    return tree


def _get_leaf(r: Reader, expected: type[C], kind: LeafKind) -> Leaf[C] | BlindedNode:
    tag = r.u8("leaf tag")
    if tag == _BLINDED:
        return BlindedNode(Hash(r.take(32, "blinded hash")))
    if tag != _LEAF:
        raise ViewDecodeError(f"expected a leaf or a blinded node, got tag {tag}")
    salt = r.blob("salt")
    if len(salt) != SALT_BYTES:
        raise ViewDecodeError(f"a salt is {SALT_BYTES} bytes, got {len(salt)}")
    encoded = r.blob("leaf content")
    content = decode_leaf_content(encoded)
    if not isinstance(content, expected):
        raise ViewDecodeError(f"expected {kind.name.lower()} here, got {leaf_kind(content).name}")
    leaf = Leaf(salt, content)
    object.__setattr__(leaf, "_encoded", encoded)  # canonical, so equal to a re-encoding
    return leaf


def _get_view(r: Reader, depth: int) -> TransactionView | BlindedNode:
    if depth > MAX_VIEW_DEPTH:
        raise ViewDecodeError(f"views nest deeper than {MAX_VIEW_DEPTH}")
    tag = r.u8("view tag")
    if tag == _BLINDED:
        return BlindedNode(Hash(r.take(32, "blinded hash")))
    if tag != _VIEW:
        raise ViewDecodeError(f"expected a view or a blinded node, got tag {tag}")
    return TransactionView(
        _get_leaf(r, ViewCommonData, LeafKind.VIEW_COMMON_DATA),
        _get_leaf(r, ViewParticipantData, LeafKind.VIEW_PARTICIPANT_DATA),
        tuple(r.sequence(lambda: _get_view(r, depth + 1), "subviews")),
    )
