"""A layered (Sugiyama) layout of the map, top to bottom, computed here.

The steps of Sugiyama, Tagawa and Toda (1981), as Graphviz's ``dot`` does them, kept
small because a journey has a handful of stages:

1. **cycles**: a depth-first search from the first node (the initial stage) turns each
   edge back to a node on the search's stack around, so that the rest works on a DAG
   (a win-back path from ``lapsed`` to ``active`` is drawn upwards);
2. **layers**: the longest path from the sources; each stage layer is followed by a
   layer for the edges' **labels**, which become nodes of their own (as ``dot`` does),
   so that a label takes room like a node and no two labels overlap; an edge spanning
   more layers gets a small virtual node in each;
3. **order**: barycentre sweeps down and up, keeping the order with fewest crossings;
4. **coordinates**: each node pulled towards the mean of its neighbours, then pushed
   apart in its layer's order (at least ``GAP`` between boxes), a few rounds.

The input is generic (boxes and edges, sizes in pixels), so the same graph can be given
to another layout engine to compare.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

GAP = 24.0  # horizontal room between two boxes of a layer
LAYER_GAP = 22.0  # vertical room between two layers
VIRTUAL = 12.0  # width of an edge's virtual node
SWEEPS = 12

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Box:
    id: str
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Link:
    """One rule's arrows into ``target``, from each of ``sources``, through one label."""

    sources: tuple[str, ...]
    target: str
    label: Box  # the label's box (its id names the link)


@dataclass
class Placed:
    """Centres of the boxes; per link (label id) the centres of its label (two when some
    sources are above the target and some below); per (label id, source) the route from
    the source through the label to the target."""

    boxes: dict[str, Point] = field(default_factory=dict)
    labels: dict[str, list[Point]] = field(default_factory=dict)
    routes: dict[tuple[str, str], list[Point]] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0
    crossings: int = 0


@dataclass
class _Node:
    id: str
    width: float
    height: float
    layer: int = 0
    x: float = 0.0
    y: float = 0.0


def layout(boxes: Sequence[Box], links: Sequence[Link]) -> Placed:
    nodes = {b.id: _Node(b.id, b.width, b.height) for b in boxes}
    order = [b.id for b in boxes]
    pairs = [(s, link.target) for link in links for s in link.sources]
    rank = _ranks(order, _acyclic(order, pairs))
    for node in nodes.values():
        node.layer = 2 * rank[node.id]
    edges: list[tuple[str, str]] = []
    chains: dict[tuple[str, str], list[str]] = {}  # (label, source) -> nodes, source first
    placed = Placed()
    for link in links:
        t = rank[link.target]
        for below in (False, True):  # sources above the target, then below it
            part = [s for s in link.sources if (rank[s] > t) == below]
            if not part:
                continue
            lid = link.label.id + ("^" if below and len(part) < len(link.sources) else "")
            at = 2 * t + (1 if below else -1)
            nodes[lid] = _Node(lid, link.label.width, link.label.height, at)
            edges.append((lid, link.target) if not below else (link.target, lid))
            for s in part:
                step = -1 if below else 1
                chain = [s]
                for layer in range(2 * rank[s] + step, at, step):
                    vid = f"{lid}~{s}~{layer}"
                    nodes[vid] = _Node(vid, VIRTUAL, 0.0, layer)
                    chain.append(vid)
                chain.append(lid)
                edges += [(a, b) if not below else (b, a) for a, b in itertools.pairwise(chain)]
                chains[(link.label.id, s)] = chain
    layers = _order(nodes, edges)
    _coordinates(nodes, layers, edges)
    placed.crossings = _crossings(layers, edges)
    for link in links:
        seen: list[Point] = []
        for s in link.sources:
            chain = chains[(link.label.id, s)]
            src, lab, tgt = nodes[s], nodes[chain[-1]], nodes[link.target]
            sign = 1 if src.layer < tgt.layer else -1
            points = [(src.x, src.y + sign * src.height / 2)]
            points += [(nodes[v].x, nodes[v].y) for v in chain[1:]]
            points.append((tgt.x, tgt.y - sign * tgt.height / 2))
            placed.routes[(link.label.id, s)] = points
            if (lab.x, lab.y) not in seen:
                seen.append((lab.x, lab.y))
        placed.labels[link.label.id] = seen
    for b in boxes:
        placed.boxes[b.id] = (nodes[b.id].x, nodes[b.id].y)
    placed.width = max((n.x + n.width / 2 for n in nodes.values()), default=0.0)
    placed.height = max((n.y + n.height / 2 for n in nodes.values()), default=0.0)
    return placed


def _acyclic(order: list[str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each edge as (upper, lower): a DFS back edge is turned around."""
    out: dict[str, list[str]] = {n: [] for n in order}
    for s, t in edges:
        out[s].append(t)
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def visit(n: str) -> None:
        state[n] = 1
        for t in out[n]:
            if state.get(t) == 1:
                back.add((n, t))
            elif t not in state:
                visit(t)
        state[n] = 2

    for n in order:
        if n not in state:
            visit(n)
    return [(t, s) if (s, t) in back else (s, t) for s, t in edges]


def _ranks(order: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    rank = dict.fromkeys(order, 0)
    for _ in order:  # longest path: at most one round per node
        for s, t in edges:
            rank[t] = max(rank[t], rank[s] + 1)
    return rank


def _order(nodes: dict[str, _Node], edges: list[tuple[str, str]]) -> list[list[str]]:
    depth = max(n.layer for n in nodes.values()) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for n in nodes.values():  # insertion order: the definition's, then the edges'
        layers[n.layer].append(n.id)
    best, fewest = [list(layer) for layer in layers], _crossings(layers, edges)
    up = {n: [s for s, t in edges if t == n] for n in nodes}
    down = {n: [t for s, t in edges if s == n] for n in nodes}
    for sweep in range(SWEEPS):
        rng = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        near = up if sweep % 2 == 0 else down
        for i in rng:
            fixed = layers[i - 1] if sweep % 2 == 0 else layers[i + 1]
            pos = {n: k for k, n in enumerate(fixed)}

            def centre(
                n: str, k: int, pos: dict[str, int] = pos, near: dict[str, list[str]] = near
            ) -> float:
                ns = [pos[m] for m in near[n] if m in pos]
                return sum(ns) / len(ns) if ns else float(k)

            ranked = sorted(((centre(n, k), k), n) for k, n in enumerate(layers[i]))
            layers[i] = [n for _, n in ranked]
        found = _crossings(layers, edges)
        if found < fewest:
            best, fewest = [list(layer) for layer in layers], found
    return best


def _crossings(layers: list[list[str]], edges: list[tuple[str, str]]) -> int:
    """Pairs of edges between the same two layers that cross (each edge is upper, lower)."""
    pos = {n: k for layer in layers for k, n in enumerate(layer)}
    depth = {n: i for i, layer in enumerate(layers) for n in layer}
    count = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1 :]:
            same = depth[a] == depth[c] and a != c and b != d
            if same and (pos[a] - pos[c]) * (pos[b] - pos[d]) < 0:
                count += 1
    return count


def _coordinates(
    nodes: dict[str, _Node], layers: list[list[str]], edges: list[tuple[str, str]]
) -> None:
    y = 0.0
    for layer in layers:
        tall = max((nodes[n].height for n in layer), default=0.0)
        for n in layer:
            nodes[n].y = y + tall / 2
        y += tall + LAYER_GAP
    for layer in layers:
        _pack(nodes, layer)
    near = {n: [s for s, t in edges if t == n] + [t for s, t in edges if s == n] for n in nodes}
    for _ in range(8):
        for layer in layers:
            for n in layer:
                if near[n]:
                    nodes[n].x = sum(nodes[m].x for m in near[n]) / len(near[n])
            _separate(nodes, layer)
    left = min(node.x - node.width / 2 for node in nodes.values())
    for node in nodes.values():
        node.x -= left


def _pack(nodes: dict[str, _Node], layer: list[str]) -> None:
    x = 0.0
    for n in layer:
        nodes[n].x = x + nodes[n].width / 2
        x += nodes[n].width + GAP


def _separate(nodes: dict[str, _Node], layer: list[str]) -> None:
    """Push boxes apart in order, from the middle out, so the layer stays centred."""
    mid = len(layer) // 2
    for a, b in zip(layer[mid:], layer[mid + 1 :], strict=False):
        room = (nodes[a].width + nodes[b].width) / 2 + GAP
        nodes[b].x = max(nodes[b].x, nodes[a].x + room)
    for a, b in zip(layer[mid::-1], layer[mid - 1 :: -1] if mid else [], strict=False):
        room = (nodes[a].width + nodes[b].width) / 2 + GAP
        nodes[b].x = min(nodes[b].x, nodes[a].x - room)
