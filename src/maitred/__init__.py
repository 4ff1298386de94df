"""maitred: a self-hostable integration hub between reservation systems, POS and channels."""

__version__ = "0.1.0"
