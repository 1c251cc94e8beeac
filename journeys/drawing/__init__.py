"""The journey drawn: a definition as a map of stages and the rules between them.

:mod:`.model` reads what to draw from a definition (pure), :mod:`.layout` places it
(a layered layout computed here), :mod:`.svg` draws it as inline SVG, with measured
counts when a report gives them. ``journeys lint --map`` and ``journeys report --html``
both draw with it, so the picture is the definition that runs, never a copy of it.
"""

from journeys.drawing.model import Card, Edge, JourneyMap, Node, Send, journey_map

__all__ = ["Card", "Edge", "JourneyMap", "Node", "Send", "journey_map"]
