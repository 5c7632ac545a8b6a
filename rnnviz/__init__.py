"""rnnviz: watch recurrent neural networks think."""

__version__ = "0.1.0"
