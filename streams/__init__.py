"""The stream processor: faust agents, tables and tooling around the journey engine."""

__version__ = "0.1.0"
